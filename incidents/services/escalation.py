"""The scheduled jobs: escalate reports nobody acknowledged, remind before a duty's deadline and
flag duties that are overdue."""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from incidents import clocks
from incidents.models import EntryKind, Incident, IncidentDuty, Notice, RegimeDuty, Status
from incidents.selectors import (
    acknowledgement_late,
    acknowledgement_window,
    open_duties,
    responders,
)
from incidents.services.timeline import (
    hours_text,
    lock_incident,
    notified_text,
    tell,
    timeline_record,
)
from portal.audit_actions import AuditAction
from portal.display import number_text


def _claim_notice(incident: Incident, key: str, now: datetime) -> bool:
    """True for the one caller that records ``key`` first (the incident row is locked)."""
    _, created = Notice.objects.get_or_create(incident=incident, key=key, defaults={"sent_at": now})
    return created


@transaction.atomic
def _escalate_one(incident_pk: int, now: datetime) -> bool:
    incident = Incident.objects.select_for_update().get(pk=incident_pk)
    if incident.status != Status.REPORTED:
        return False
    level = int((now - incident.reported_at) / acknowledgement_window())
    if level < 1 or not _claim_notice(incident, f"escalation:{level}", now):
        return False
    waited = int((now - incident.reported_at).total_seconds() // 60)
    told = tell(
        incident,
        responders(),
        kind="incident_escalated",
        context={"level": level, "waited": waited},
    )
    timeline_record(
        incident,
        None,
        EntryKind.NOTIFICATION,
        ngettext(
            "Escalation %(level)s: not acknowledged after %(minutes)s minutes; "
            "Compliance and Legal notified again (%(count)s person).",
            "Escalation %(level)s: not acknowledged after %(minutes)s minutes; "
            "Compliance and Legal notified again (%(count)s people).",
            told,
        )
        % {"level": level, "minutes": number_text(waited), "count": number_text(told)},
        action=AuditAction.INCIDENT_ESCALATE,
        detail={"level": level},
    )
    return True


def incidents_escalate_unacknowledged(*, now: datetime | None = None) -> int:
    """Escalate every report unacknowledged for ``INCIDENT_ACK_SLA`` minutes, and again each
    further ``INCIDENT_ACK_SLA``. Idempotent: each level is sent once (a job that missed
    several levels sends only the current one)."""
    now = now or timezone.now()
    due = Incident.objects.filter(acknowledgement_late(now))
    return sum(_escalate_one(pk, now) for pk in due.values_list("pk", flat=True))


def _due_context(duty: IncidentDuty, now: datetime) -> dict:
    """The duty as its reminder and overdue texts name it (``parts/incident_duty_due.txt``)."""
    hours = clocks.hours_between(now, duty.due_at)
    return {
        "duty": {
            # Lazy: each recipient's text is rendered in their language (REGIME_NAMES).
            "regime": gettext_lazy(duty.duty.regime.name),
            "name": gettext_lazy(duty.duty.name),
            "due_at": duty.due_at,
        },
        "hours_left": hours,
        "hours_ago": -hours,
    }


def _lock_open_duty(duty_pk: int) -> tuple[IncidentDuty | None, Incident]:
    """The duty, read again after locking its incident (it may have been recorded or
    re-timed meanwhile); ``None`` if it is no longer open."""
    duty = IncidentDuty.objects.select_related("duty__regime", "incident").get(pk=duty_pk)
    incident = lock_incident(duty.incident)
    duty.refresh_from_db(fields=["state", "due_at"])
    return (duty if duty.is_open else None), incident


@transaction.atomic
def _remind_one(duty_pk: int, now: datetime) -> bool:
    duty, incident = _lock_open_duty(duty_pk)
    if duty is None or duty.due_at <= now:
        return False
    passed = [
        h for h in duty.duty.reminder_hours_before_due if duty.due_at - timedelta(hours=h) <= now
    ]
    if not passed:
        return False
    # The latest reminder only: a job that was down does not send the missed ones in a burst.
    hours = min(passed)
    if not _claim_notice(incident, f"reminder:{duty.pk}:{hours}", now):
        return False
    told = tell(
        incident,
        responders(),
        kind="incident_deadline_reminder",
        context={**_due_context(duty, now), "hours": hours},
    )
    timeline_record(
        incident,
        None,
        EntryKind.NOTIFICATION,
        ngettext(
            "Reminder: %(duty)s due in %(hours)s hour; %(notified)s",
            "Reminder: %(duty)s due in %(hours)s hours; %(notified)s",
            hours,
        )
        % {"duty": duty.duty.label, "hours": number_text(hours), "notified": notified_text(told)},
        action=AuditAction.INCIDENT_REMINDER,
        detail={"duty": f"{duty.duty.regime.key}.{duty.duty.key}", "hours_before_due": hours},
    )
    return True


def incident_duties_remind(*, now: datetime | None = None) -> int:
    """Send each duty's reminders when their time comes, each once."""
    now = now or timezone.now()
    longest = max(
        (
            max(hours or [0])
            for hours in RegimeDuty.objects.values_list("reminder_hours_before_due", flat=True)
        ),
        default=0,
    )
    candidates = open_duties().filter(due_at__gt=now, due_at__lte=now + timedelta(hours=longest))
    return sum(_remind_one(pk, now) for pk in candidates.values_list("pk", flat=True))


@transaction.atomic
def _overdue_one(duty_pk: int, now: datetime) -> bool:
    duty, incident = _lock_open_duty(duty_pk)
    if duty is None or duty.due_at > now:
        return False
    day = int((now - duty.due_at) / timedelta(hours=24))
    if not _claim_notice(incident, f"overdue:{duty.pk}:{day}", now):
        return False
    late = clocks.hours_between(duty.due_at, now)
    told = tell(
        incident,
        responders(),
        kind="incident_deadline_overdue",
        context={**_due_context(duty, now), "hours_late": late},
    )
    timeline_record(
        incident,
        None,
        EntryKind.NOTIFICATION,
        _("Overdue: %(duty)s, %(hours)s hours late; %(notified)s")
        % {"duty": duty.duty.label, "hours": hours_text(late, 0), "notified": notified_text(told)},
        action=AuditAction.INCIDENT_OVERDUE,
        detail={"duty": f"{duty.duty.regime.key}.{duty.duty.key}", "hours_late": round(late, 2)},
    )
    return True


def incident_duties_flag_overdue(*, now: datetime | None = None) -> int:
    """Tell Compliance and Legal when a duty passes its due time, and each day it stays
    open after that; each message once."""
    now = now or timezone.now()
    candidates = open_duties().filter(due_at__lte=now)
    return sum(_overdue_one(pk, now) for pk in candidates.values_list("pk", flat=True))
