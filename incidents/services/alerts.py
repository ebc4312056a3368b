"""Alerts of misuse signals: raising them from the audit trail, dismissing them, and opening
an incident from one.

The evaluation reads the audit events written since its last run (``MisuseSignalCursor``),
so a job that did not run for a while reads everything since, in batches; each occurrence
has a unique key, so a rerun or two runs at once never raise an alert twice."""

from datetime import datetime

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from incidents.misuse_signals import SIGNAL_LABELS, SIGNALS, EventRange, Occurrence
from incidents.models import Alert, AlertStatus, Incident, MisuseSignalCursor
from incidents.policies import require_may_handle_alerts
from incidents.services.reports import incident_report
from portal.audit import audit_record
from portal.audit_actions import AuditAction
from portal.audit_seal import seal_pending
from portal.display import datetime_text
from portal.errors import ApplicationError
from portal.history import save_with_history
from portal.models import AuditEvent, User
from portal.reasons import clean_reason

# Events read per transaction: a catch-up over months commits as it goes.
BATCH_EVENTS = 250_000


def _cursor() -> MisuseSignalCursor:
    """The cursor row, locked (created at 0 the first time)."""
    MisuseSignalCursor.objects.get_or_create(pk=1)
    return MisuseSignalCursor.objects.select_for_update().get(pk=1)


def _fresh(occurrences: list[Occurrence]) -> list[Occurrence]:
    """The occurrences that are new patterns: not already an alert, and not within the
    signal's quiet period after an earlier alert about the same people (that is the same
    pattern continuing). Earliest first, so the first of a run is the one kept."""
    occurrences = sorted(occurrences, key=lambda found: (found.occurred_at, found.key))
    if not occurrences:
        return []
    quiet = {signal.name: signal.quiet() for signal in SIGNALS}
    since = min(found.occurred_at for found in occurrences) - max(quiet.values())
    known = set(
        Alert.objects.filter(key__in=[o.key for o in occurrences]).values_list("key", flat=True)
    )
    raised: dict[tuple[str, str], list[datetime]] = {}
    for signal, group, at in Alert.objects.filter(
        group__in={found.group for found in occurrences}, occurred_at__gte=since
    ).values_list("signal", "group", "occurred_at"):
        raised.setdefault((signal, group), []).append(at)
    fresh = []
    for found in occurrences:
        earlier = raised.setdefault((found.signal, found.group), [])
        window = quiet[found.signal]
        if found.key in known or any(
            found.occurred_at - window <= at <= found.occurred_at for at in earlier if window
        ):
            continue
        earlier.append(found.occurred_at)
        fresh.append(found)
    return fresh


def _alerts_write(occurrences: list[Occurrence], now: datetime) -> list[Alert]:
    """One alert per occurrence (a key already taken is skipped), with its subjects."""
    names = dict(
        User.objects.filter(
            pk__in={pk for found in occurrences for pk in found.subjects}
        ).values_list("pk", "username")
    )
    Alert.objects.bulk_create(
        [
            Alert(
                signal=found.signal,
                key=found.key,
                group=found.group,
                subject_label=", ".join(
                    names.get(pk) or _("user %(id)s") % {"id": pk} for pk in found.subjects
                )[:300],
                summary=found.summary[:300],
                occurred_at=found.occurred_at,
                raised_at=now,
                evidence=found.evidence,
            )
            for found in occurrences
        ],
        ignore_conflicts=True,
    )
    created = {
        alert.key: alert
        for alert in Alert.objects.filter(key__in=[o.key for o in occurrences], raised_at=now)
    }
    Through = Alert.subjects.through
    Through.objects.bulk_create(
        [
            Through(alert_id=created[found.key].pk, user_id=pk)
            for found in occurrences
            if found.key in created
            for pk in found.subjects
        ],
        ignore_conflicts=True,
    )
    return list(created.values())


def alerts_evaluate(*, now: datetime | None = None) -> int:
    """Read the audit events written since the last run through every misuse signal and
    raise one alert per new occurrence; returns how many alerts were raised.

    Batches of ``BATCH_EVENTS`` events, each in one transaction holding the cursor's lock:
    two runs never read the same events at once, and a run that fails leaves the cursor
    before the batch it failed on. It reads the sealed log only (``portal.audit_seal``):
    writers append without a shared lock, so ids can become visible out of order, but
    positions are given to committed events in order with no gap. Pending events are
    sealed first (the sealer's own lock keeps it single), so a refusal's evaluation sees
    its event. ``now`` (UTC) is the time the alerts are stamped with.
    """
    seal_pending()
    raised = 0
    while True:
        with transaction.atomic():
            cursor = _cursor()
            head = AuditEvent.objects.aggregate(last=Max("position"))["last"] or 0
            upto = min(head, cursor.last_position + BATCH_EVENTS)
            if upto <= cursor.last_position:
                cursor.last_run_at = now or timezone.now()
                cursor.save(update_fields=["last_run_at"])
                return raised
            events = EventRange(after_position=cursor.last_position, upto_position=upto)
            found = [occurrence for signal in SIGNALS for occurrence in signal.detect(events)]
            raised += len(_alerts_write(_fresh(found), now or timezone.now()))
            cursor.last_position, cursor.last_run_at = upto, now or timezone.now()
            cursor.save(update_fields=["last_position", "last_run_at"])


def _locked_open(alert: Alert) -> Alert:
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.status == AlertStatus.DISMISSED:
        raise ApplicationError(_("This alert is already dismissed."))
    if alert.status != AlertStatus.OPEN:
        raise ApplicationError(_("An incident was already opened from this alert."))
    return alert


def _alert_close(
    alert: Alert, *, actor: User, status: str, why: str, detail: dict[str, str], **fields: object
) -> None:
    """Mark the locked ``alert`` handled by ``actor`` (``status``, ``fields``), with its
    history row saying ``why`` and its audit event (dismissed or made an incident)."""
    alert.status, alert.handled_by, alert.handled_at = status, actor, timezone.now()
    for name, value in fields.items():
        setattr(alert, name, value)
    save_with_history(
        alert,
        actor=actor,
        reason=why,
        update_fields=["status", "handled_by", "handled_at", *fields],
    )
    action = (
        AuditAction.ALERT_DISMISS if status == AlertStatus.DISMISSED else AuditAction.ALERT_INCIDENT
    )
    audit_record(
        actor=actor, action=action, target=alert, detail={"signal": alert.signal, **detail}
    )


@transaction.atomic
def alert_dismiss(*, alert: Alert, actor: User, reason: str) -> Alert:
    """Compliance closes an alert as no misuse, with a written reason (10 characters,
    ``portal.reasons``). ``NotAllowed`` for anyone else or for the person it concerns,
    ``ApplicationError`` for an alert no longer open or a short reason."""
    require_may_handle_alerts(actor, alert)
    reason = clean_reason(reason, what=_("the reason for dismissing this alert"))
    alert = _locked_open(alert)
    _alert_close(
        alert,
        actor=actor,
        status=AlertStatus.DISMISSED,
        why=_("Dismissed: %(reason)s") % {"reason": reason},
        detail={"reason": reason},
        dismiss_reason=reason,
    )
    return alert


def _incident_description(alert: Alert) -> str:
    events = ", ".join(f"#{pk}" for pk in alert.evidence.get("events", []))
    return _(
        "Opened from alert %(alert)s (%(signal)s): %(summary)s. "
        "People concerned: %(people)s. Occurred at %(moment)s. "
        "Evidence, audit events: %(events)s."
    ) % {
        "alert": alert.pk,
        "signal": SIGNAL_LABELS.get(alert.signal, alert.signal),
        "summary": alert.summary,
        "people": alert.subject_label,
        "moment": datetime_text(alert.occurred_at),
        "events": events or pgettext("audit events", "none"),
    }


@transaction.atomic
def alert_open_incident(*, alert: Alert, actor: User) -> Incident:
    """Compliance turns an open alert into an incident in one step: an incident reported
    by ``actor`` whose description names the alert, the people and the audit events, on
    the assets of the evidence; the alert links it. Errors as ``alert_dismiss``."""
    require_may_handle_alerts(actor, alert)
    alert = _locked_open(alert)
    asset = alert.evidence.get("asset")
    incident = incident_report(
        actor=actor,
        title=(
            _("Misuse signal: %(signal)s")
            % {"signal": SIGNAL_LABELS.get(alert.signal, alert.signal)}
        )[:200],
        description=_incident_description(alert),
        discovered_at=alert.raised_at,
        assets=[asset] if isinstance(asset, int) else [],
    )
    _alert_close(
        alert,
        actor=actor,
        status=AlertStatus.INCIDENT,
        why=_("Incident %(reference)s opened") % {"reference": incident.reference},
        detail={"incident": incident.reference},
        incident=incident,
    )
    return incident
