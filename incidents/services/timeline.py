"""What every incident write does: lock the incident, add a timeline entry, write the audit
event and tell the people concerned, never naming a confidential reporter."""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.utils import formats, timezone
from django.utils.translation import ngettext

from incidents.models import Incident, TimelineEntry
from portal.audit import audit_record
from portal.audit_actions import AuditAction
from portal.display import number_text
from portal.input_limits import require_plausible_moment
from portal.models import User
from portal.notifications import notify

# A clock a few seconds ahead of the server's must not make "now" a future time.
CLOCK_SKEW = timedelta(minutes=2)


def hours_text(hours: float, decimals: int = 1) -> str:
    """A number of hours as the active language writes it, with ``decimals`` decimals:
    ``8.0`` (``8,0`` in Norwegian)."""
    return formats.number_format(hours, decimal_pos=decimals, force_grouping=True)


def notified_text(told: int) -> str:
    """The timeline's "Compliance and Legal notified (3 people).", in the active language."""
    return ngettext(
        "Compliance and Legal notified (%(count)s person).",
        "Compliance and Legal notified (%(count)s people).",
        told,
    ) % {"count": number_text(told)}


def require_past(moment: datetime, *, field: str, what: str) -> None:
    # Every moment of an incident's handling: not before 2000 (EARLIEST_EVENT), not in the
    # future. Earlier ones are typing errors, and year 1 overflows every zone conversion of
    # the incident's page and deadlines.
    require_plausible_moment(moment, field=field, what=what, latest=timezone.now() + CLOCK_SKEW)


def lock_incident(incident: Incident) -> Incident:
    return Incident.objects.select_for_update().get(pk=incident.pk)


def timeline_add(incident: Incident, actor: User | None, kind: str, text: str) -> TimelineEntry:
    return TimelineEntry.objects.create(
        incident=incident,
        created_at=timezone.now(),
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        kind=kind,
        text=text,
    )


def timeline_record(
    incident: Incident,
    actor: User | None,
    kind: str,
    text: str,
    *,
    action: AuditAction,
    detail: dict | None = None,
) -> TimelineEntry:
    """A change on the incident's timeline and in the audit trail, in the same transaction."""
    entry = timeline_add(incident, actor, kind, text)
    audit_record(actor=actor, action=action, target=incident, detail=detail)
    return entry


def tell(
    incident: Incident, users: Iterable[User], *, kind: str, context: dict | None = None
) -> int:
    """Notify ``users`` of ``kind``; returns the number of people told. Each reads the
    times in their own zone (``notify`` renders the texts per zone).

    The texts see the incident as ``_incident_facts``, never the row: it names a
    confidential reporter.
    """
    facts = {**(context or {}), "incident": _incident_facts(incident)}
    return len(notify(users=users, kind=kind, context=facts, target=incident))


def _incident_facts(incident: Incident) -> dict:
    """What notification texts may say about ``incident``: never the name of a confidential
    reporter, in any message, to anyone (``reporter`` is then ``None``)."""
    return {
        "reference": incident.reference,
        "title": incident.title,
        "description": incident.description,
        "reported_at": incident.reported_at,
        "discovered_at": incident.discovered_at,
        "confidential_reporter": incident.confidential_reporter,
        "reporter": None if incident.confidential_reporter else incident.reporter,
    }
