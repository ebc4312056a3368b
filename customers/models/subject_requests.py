"""Data subject requests (GDPR Art. 15-21), the erasure tasks they give asset owners, and the
reminders sent before and after their deadline."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext, gettext_noop, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from customers.models.catalogue import Customer, DataAsset
from portal.paths import object_path

# The answer recorded when the last owner confirms an erasure: stored in English, shown in
# the reader's language (``DataSubjectRequest.response_text``).
ERASED_RESPONSE = gettext_noop("Erased: every owner confirmed the deletion from their systems.")


class SubjectRequestType(models.TextChoices):
    ACCESS = "access", _("Access (Art. 15)")
    RECTIFICATION = "rectification", _("Rectification (Art. 16)")
    ERASURE = "erasure", _("Erasure (Art. 17)")
    OBJECTION = "objection", _("Objection (Art. 21)")


class SubjectRequestStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("subject request status", "Open")
    CLOSED = "closed", pgettext_lazy("subject request status", "Closed")


class ReceivedVia(models.TextChoices):
    WEB_FORM = "web_form", _("Web form")
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")
    LETTER = "letter", _("Letter")
    IN_PERSON = "in_person", _("In person")


class DataSubjectRequest(models.Model):
    """A customer's request under GDPR Art. 15-17 or 21, answered within a month.

    ``due_on`` is one calendar month after ``received_on`` (31 January -> the last day of
    February), plus ``extension_months`` (at most two more, Art. 12(3)). Work starts only
    once the customer's identity is verified, so the verification is part of the request.
    """

    type = models.CharField(max_length=16, choices=SubjectRequestType.choices)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="subject_requests"
    )
    received_on = models.DateField()
    received_via = models.CharField(
        max_length=16, choices=ReceivedVia.choices, default=ReceivedVia.EMAIL
    )
    identity_verification = models.TextField(
        help_text=_("How the requester's identity was verified (document, signed-in account...).")
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    verified_at = models.DateTimeField()
    due_on = models.DateField()
    extension_months = models.PositiveSmallIntegerField(default=0)
    extension_reason = models.TextField(blank=True)
    purposes = models.ManyToManyField(
        "consent.Purpose",
        blank=True,
        related_name="+",
        help_text=_("The purposes objected to (objections only)."),
    )
    notes = models.TextField(blank=True)
    status = models.CharField(
        max_length=8, choices=SubjectRequestStatus.choices, default=SubjectRequestStatus.OPEN
    )
    response = models.TextField(blank=True, help_text=_("What the customer was told."))
    report_generated_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(m2m_fields=[purposes])

    class Meta:
        ordering = ["due_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(type__in=SubjectRequestType.values), name="dsr_type_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(extension_months__lte=2), name="dsr_extension_at_most_2"
            ),
        ]
        indexes = [models.Index(fields=["status", "due_on"], name="dsr_open_by_due")]

    def __str__(self) -> str:
        # No name: this label is copied into the audit trail.
        return f"DSR-{self.pk} {self.type} for customer {self.customer_id}"

    def get_absolute_url(self) -> str:
        """The path of this request's page in the portal (also the link of its notifications)."""
        return object_path("customers:subject_request_detail", self.pk)

    @property
    def reference(self) -> str:
        return f"DSR-{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status == SubjectRequestStatus.OPEN

    @property
    def response_text(self) -> str:
        """``response`` as the reader reads it: the portal's own fixed answer translated,
        an answer a person wrote as written."""
        return gettext(self.response) if self.response == ERASED_RESPONSE else self.response


class ErasureTask(models.Model):
    """One asset owner's part of an erasure: delete the customer from the source systems of
    ``assets`` (the owner's assets holding the customer), then confirm. Only that owner
    confirms; the request closes when every task is confirmed."""

    request = models.ForeignKey(
        DataSubjectRequest, on_delete=models.CASCADE, related_name="erasure_tasks"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="erasure_tasks"
    )
    assets = models.ManyToManyField(DataAsset, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True, help_text=_("What was deleted where."))

    history = HistoricalRecords(m2m_fields=[assets])

    class Meta:
        ordering = ["request_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["request", "owner"], name="erasuretask_one_per_owner")
        ]

    def __str__(self) -> str:
        return f"erasure task {self.pk} of DSR-{self.request_id} for {self.owner_id}"

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None


class ReminderKind(models.TextChoices):
    DUE_IN_7 = "due_in_7", _("Due in 7 days")
    DUE_IN_2 = "due_in_2", _("Due in 2 days")
    OVERDUE = "overdue", _("Overdue")


class SubjectRequestReminder(models.Model):
    """What the deadline job has sent: one row per (request, kind, due date), so a reminder
    is never sent twice, and an extension (a new due date) starts a new series."""

    request = models.ForeignKey(
        DataSubjectRequest, on_delete=models.CASCADE, related_name="reminders"
    )
    kind = models.CharField(max_length=16, choices=ReminderKind.choices)
    due_on = models.DateField()
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request", "kind", "due_on"], name="dsr_reminder_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} for DSR-{self.request_id} due {self.due_on}"
