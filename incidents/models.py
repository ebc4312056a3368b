"""Reports of suspected mishandling, their triage, and the legal clocks they start.

Notification regimes (GDPR Art. 33, NIS2 Art. 23, DORA Art. 19) are data: a ``Regime`` is a
list of ``RegimeDuty`` rows, each due at an offset from awareness, from the moment the
regime was applied (DORA: classification as major) or from an earlier duty. Applying a
regime to an incident creates one ``IncidentDuty`` per duty, with its due time in UTC.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext, gettext_noop, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from portal.paths import object_path

CONFIDENTIAL = "confidential"


class Status(models.TextChoices):
    REPORTED = "reported", _("Reported")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    INVESTIGATING = "investigating", _("Investigating")
    CONTAINED = "contained", _("Contained")
    CLOSED = "closed", _("Closed")


STATUS_ORDER = {status: rank for rank, status in enumerate(Status.values)}


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


class CustomerNotice(models.TextChoices):
    """The Art. 34 GDPR decision: must the affected customers be told?"""

    UNDECIDED = "", _("Not decided")
    REQUIRED = "required", _("Required")
    NOT_REQUIRED = "not_required", _("Not required")


class Incident(models.Model):
    """One report of suspected mishandling of customer information.

    ``reporter`` is always stored; when ``confidential_reporter`` is set only members of
    Compliance and Legal may ever see it (``incidents.selectors.reporter_label``).
    """

    reference = models.CharField(max_length=32, unique=True, editable=False)
    title = models.CharField(max_length=200)
    description = models.TextField()
    discovered_at = models.DateTimeField()
    reported_at = models.DateTimeField(db_index=True)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reported_incidents"
    )
    confidential_reporter = models.BooleanField(default=False)
    assets = models.ManyToManyField("customers.DataAsset", related_name="incidents", blank=True)
    estimated_customers = models.PositiveIntegerField(null=True, blank=True)

    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.REPORTED, db_index=True
    )
    severity = models.CharField(max_length=16, choices=Severity.choices, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_incidents",
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    # Personal-data breach (GDPR Art. 4(12)): None until compliance or legal decides.
    personal_data_breach = models.BooleanField(null=True, blank=True)
    breach_reason = models.TextField(blank=True)
    # Art. 33(1): the clock runs from awareness; the discovery time unless a later awareness
    # time is recorded with a reason.
    aware_at = models.DateTimeField()
    awareness_reason = models.TextField(blank=True)

    # "Unlikely to result in a risk" (Art. 33(1)): proposed by one member, confirmed by another.
    no_risk_reason = models.TextField(blank=True)
    no_risk_proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    no_risk_proposed_at = models.DateTimeField(null=True, blank=True)
    no_risk_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    no_risk_confirmed_at = models.DateTimeField(null=True, blank=True)

    customer_notice = models.CharField(
        max_length=16, choices=CustomerNotice.choices, blank=True, default=CustomerNotice.UNDECIDED
    )
    customer_notice_reason = models.TextField(blank=True)
    customer_notice_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    customer_notice_decided_at = models.DateTimeField(null=True, blank=True)

    # The reporter is left out of the row history: history pages must not become a side
    # door to a confidential reporter's name.
    history = HistoricalRecords(excluded_fields=["reporter"])

    class Meta:
        ordering = ["-reported_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=Status.values), name="incident_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(severity__in=["", *Severity.values]),
                name="incident_severity_valid",
            ),
        ]

    def __str__(self) -> str:
        # Used as the audit target label and in admin: never the reporter.
        return f"{self.reference}: {self.title}"

    def get_absolute_url(self) -> str:
        """The path of this incident's page in the portal (also the link of its notifications)."""
        return object_path("incidents:detail", self.pk)


class Anchor(models.TextChoices):
    AWARENESS = "awareness", _("Awareness of the incident")
    APPLIED = "applied", _("Regime applied (e.g. classified as major)")
    DUTY = "duty", _("An earlier duty of the same regime")


# The names of the regimes and duties the data migration ``0002_notification_regimes`` loads:
# data, shown through ``label`` in the reader's language. A name changed in the admin is
# shown as typed. (The legal sources stay as cited.)
REGIME_NAMES = (
    gettext_noop("GDPR Art. 33: personal-data breach"),
    gettext_noop("Notification of the supervisory authority"),
    gettext_noop("NIS2 Art. 23: significant incident"),
    gettext_noop("Early warning to the CSIRT or competent authority"),
    gettext_noop("Incident notification"),
    gettext_noop("Final report"),
    gettext_noop("DORA Art. 19: major ICT-related incident"),
    gettext_noop("Initial notification"),
    gettext_noop("Intermediate report"),
)


class Regime(models.Model):
    """A notification regime: a law's list of reports and their deadlines."""

    key = models.SlugField(_("key"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    source = models.TextField(
        _("legal source"), help_text=_("The legal text the offsets come from.")
    )
    applies_to_breaches = models.BooleanField(
        _("applies to breaches"),
        default=False,
        help_text=_("Applied automatically when an incident is marked a personal-data breach."),
    )
    active = models.BooleanField(_("in use"), default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name = _("notification regime")
        verbose_name_plural = _("notification regimes")

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        """The name in the active language (``REGIME_NAMES``)."""
        return gettext(self.name)


class RegimeDuty(models.Model):
    """One report a regime requires, due ``offset`` after its anchor.

    ``offset_months`` is calendar months in the site's zone, ``offset_hours`` real hours
    (72 hours are 72 hours across a daylight-saving change). ``latest_hours_after_awareness``
    caps the due time (DORA: 4 h after classification, but at the latest 24 h after
    awareness). Reminders go out ``reminder_hours_before_due`` hours before the due time.
    """

    regime = models.ForeignKey(Regime, on_delete=models.CASCADE, related_name="duties")
    key = models.SlugField(_("key"), max_length=50)
    name = models.CharField(_("name"), max_length=200)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    anchor = models.CharField(
        _("counted from"), max_length=16, choices=Anchor.choices, default=Anchor.AWARENESS
    )
    anchor_duty = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dependents",
        verbose_name=_("earlier duty"),
    )
    offset_hours = models.PositiveIntegerField(_("hours after"), default=0)
    offset_months = models.PositiveSmallIntegerField(_("months after"), default=0)
    latest_hours_after_awareness = models.PositiveIntegerField(
        _("at the latest, hours after awareness"), null=True, blank=True
    )
    reminder_hours_before_due = models.JSONField(
        _("reminders, hours before due"), default=list, blank=True
    )
    source = models.CharField(_("legal source"), max_length=300, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["regime", "position", "id"]
        verbose_name = _("regime duty")
        verbose_name_plural = _("regime duties")
        constraints = [
            models.UniqueConstraint(fields=["regime", "key"], name="regimeduty_unique_key"),
            models.CheckConstraint(
                condition=~models.Q(anchor="duty") | models.Q(anchor_duty__isnull=False),
                name="regimeduty_duty_anchor_named",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.regime.key}: {self.name}"

    @property
    def label(self) -> str:
        """The name in the active language (``REGIME_NAMES``)."""
        return gettext(self.name)


class IncidentRegime(models.Model):
    """A regime compliance or legal decided applies to an incident."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="regimes")
    regime = models.ForeignKey(Regime, on_delete=models.PROTECT, related_name="+")
    applied_at = models.DateTimeField()
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["applied_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "regime"], name="incidentregime_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.regime.key} on {self.incident_id}"


class DutyState(models.TextChoices):
    OPEN = "open", pgettext_lazy("duty state", "Open")
    DONE = "done", _("Done")
    WAIVED = "waived", _("Not required")


class IncidentDuty(models.Model):
    """One report owed for one incident, with its clock (``due_at``, UTC)."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="duties")
    applied = models.ForeignKey(IncidentRegime, on_delete=models.CASCADE, related_name="duties")
    duty = models.ForeignKey(RegimeDuty, on_delete=models.PROTECT, related_name="+")
    due_at = models.DateTimeField(db_index=True)
    state = models.CharField(max_length=8, choices=DutyState.choices, default=DutyState.OPEN)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reference = models.CharField(max_length=200, blank=True)
    delay_reason = models.TextField(blank=True)
    waived_reason = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name_plural = _("incident duties")
        constraints = [
            models.UniqueConstraint(fields=["incident", "duty"], name="incidentduty_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.duty} for {self.incident_id}"

    @property
    def is_open(self) -> bool:
        return self.state == DutyState.OPEN


class Notice(models.Model):
    """What the deadline jobs already sent: ``key`` is unique per incident, so a job that
    runs twice, or two beat processes at once, send each escalation or reminder once."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="notices")
    key = models.CharField(max_length=100)
    sent_at = models.DateTimeField()

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["incident", "key"], name="incidentnotice_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.key} for {self.incident_id}"


class EntryKind(models.TextChoices):
    REPORTED = "reported", _("Reported")
    NOTE = "note", _("Note")
    STATUS = "status", _("Status change")
    TRIAGE = "triage", _("Triage")
    NOTIFICATION = "notification", _("Notification")
    DEADLINE = "deadline", _("Deadline")
    DECISION = "decision", _("Decision")


class TimelineEntry(models.Model):
    """One line of an incident's timeline: notes, status changes, notifications sent.

    Shown to Compliance and Legal only. Append-only.
    """

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    created_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    text = models.TextField()

    history = HistoricalRecords()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = _("timeline entries")

    def __str__(self) -> str:
        return f"{self.kind} on {self.incident_id}"


class AlertStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("alert status", "Open")
    DISMISSED = "dismissed", _("Dismissed")
    INCIDENT = "incident", _("Incident opened")


class Alert(models.Model):
    """One occurrence of a misuse signal (``incidents/misuse_signals.py``), for compliance.

    ``key`` names the occurrence (the signal and the audit events or the person and day it
    stands for): it is unique, so the same occurrence never raises two alerts, however often
    or late the evaluation runs. ``subjects`` are the people concerned (two for a proxy
    request); they never see the alert. ``evidence`` lists the audit events behind it.
    """

    signal = models.CharField(max_length=32, db_index=True)
    key = models.CharField(max_length=200, unique=True)
    # The people an occurrence is about, for the "continuing pattern" check of each signal.
    group = models.CharField(max_length=200, db_index=True)
    subjects = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+")
    subject_label = models.CharField(max_length=300)
    summary = models.CharField(max_length=300)
    occurred_at = models.DateTimeField(db_index=True)
    raised_at = models.DateTimeField()
    evidence = models.JSONField(default=dict)
    status = models.CharField(
        max_length=16, choices=AlertStatus.choices, default=AlertStatus.OPEN, db_index=True
    )
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)
    dismiss_reason = models.TextField(blank=True)
    incident = models.OneToOneField(
        Incident, null=True, blank=True, on_delete=models.PROTECT, related_name="alert"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=AlertStatus.values), name="alert_status_valid"
            ),
        ]

    def __str__(self) -> str:
        # The audit target label: the signal and the occurrence, never more.
        return f"Alert {self.pk}: {self.signal}"  # i18n: not shown (audit target label, stored)

    def get_absolute_url(self) -> str:
        """The path of this alert on the alerts page."""
        return object_path("incidents:alert_detail", self.pk)


class MisuseSignalCursor(models.Model):
    """The single row saying how far the misuse signals have read the audit trail.

    The evaluation locks it, so two runs never read the same events at once, and moves it
    in the transaction that writes the alerts: a run that fails leaves it where it was.
    """

    last_position = models.BigIntegerField(default=0)
    last_run_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"misuse signals read up to #{self.last_position}"
