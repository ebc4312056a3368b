"""Triage: status, severity, assignment and the breach decision, and notes on the timeline."""

import enum
from dataclasses import dataclass, field
from typing import Final

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from incidents import policies
from incidents.models import (
    STATUS_ORDER,
    DutyState,
    EntryKind,
    Incident,
    IncidentRegime,
    Regime,
    Severity,
    Status,
    TimelineEntry,
)
from incidents.selectors import open_duties
from incidents.services.deadlines import regime_apply
from incidents.services.timeline import lock_incident, tell, timeline_record
from portal import roles
from portal.audit_actions import AuditAction
from portal.errors import ApplicationError
from portal.history import history_user_set, update_with_history
from portal.models import User
from portal.reasons import clean_reason


def _status_word(status: str) -> str:
    """A status as a word inside a sentence: its label in lower case ("investigating")."""
    return str(Status(status).label).lower()


def _check_status_move(incident: Incident, new: str, note: str) -> None:
    current = incident.status
    if new not in STATUS_ORDER:
        raise ApplicationError(
            _("Unknown status %(status)s.") % {"status": repr(new)}, field="status"
        )
    if STATUS_ORDER[new] < STATUS_ORDER[current]:
        if new == Status.REPORTED:
            raise ApplicationError(
                _("An acknowledged report cannot become new again."), field="status"
            )
        clean_reason(
            note,
            field="note",
            message=_("Moving back from %(before)s to %(after)s needs a note saying why.")
            % {"before": _status_word(current), "after": _status_word(new)},
        )
    if current == Status.REPORTED and new != Status.ACKNOWLEDGED:
        raise ApplicationError(
            _("Acknowledge the report first; it cannot jump from reported to %(status)s.")
            % {"status": _status_word(new)},
            field="status",
        )
    if new == Status.CLOSED and incident.duties.filter(state=DutyState.OPEN).exists():
        raise ApplicationError(
            _("Record or rule out the open notification duties before closing."), field="status"
        )


class _Unset(enum.Enum):
    """An argument not passed: ``None`` is a value of its own (no assignee)."""

    UNSET = enum.auto()


_UNSET: Final = _Unset.UNSET


@dataclass
class _Changes:
    """What a triage changes: ``detail`` (field → ``[before, after]``) for the audit event and
    one sentence per change for the timeline, both in the order the changes are made."""

    detail: dict[str, list] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)

    def add(self, name: str, before: object, after: object, line: str) -> None:
        self.detail[name] = [before, after]
        self.lines.append(line)


@transaction.atomic
def incident_triage(
    *,
    actor: User,
    incident: Incident,
    severity: str | _Unset = _UNSET,
    status: str | _Unset = _UNSET,
    personal_data_breach: bool | None | _Unset = _UNSET,
    breach_reason: str = "",
    assignee: User | None | _Unset = _UNSET,
    note: str = "",
) -> Incident:
    """Change severity, status, breach decision or assignee (only what is passed).

    Guarantees: statuses move forward (``reported`` only to ``acknowledged``); moving back
    needs a note; closing needs every notification duty done or ruled out; a closed incident
    only reopens; the assignee is a member of Compliance or Legal; a breach decision carries
    a reason, and a "yes" applies the breach regimes (GDPR Art. 33 clock from awareness).
    Every change is on the timeline and audited, or nothing changes.
    """
    policies.require_may_triage(actor)
    incident = lock_incident(incident)
    note = (note or "").strip()
    changes = _Changes()

    if status is not _UNSET and status != incident.status:
        _check_status_move(incident, status, note)
    elif incident.status == Status.CLOSED:
        raise ApplicationError(_("This incident is closed; reopen it (with a note) first."))

    if severity is not _UNSET and severity != incident.severity:
        _change_severity(incident, severity, changes)
    if assignee is not _UNSET and getattr(assignee, "pk", None) != incident.assignee_id:
        _change_assignee(incident, assignee, changes)
    breach_changed = False
    if personal_data_breach is not _UNSET and personal_data_breach != incident.personal_data_breach:
        _change_breach_decision(incident, personal_data_breach, breach_reason, changes)
        breach_changed = True
    if status is not _UNSET and status != incident.status:
        _change_status(incident, status, actor, changes)

    if not changes.detail:
        if note:
            raise ApplicationError(_("Nothing changed; add the note with the note form."))
        return incident

    history_user_set(incident, actor)
    incident.save()
    timeline_record(
        incident,
        actor,
        EntryKind.STATUS if "status" in changes.detail else EntryKind.TRIAGE,
        " ".join([*changes.lines, *([_("Note: %(note)s") % {"note": note}] if note else [])]),
        action=AuditAction.INCIDENT_TRIAGE,
        detail=changes.detail,
    )
    if breach_changed:
        _apply_breach_decision(incident, actor)
    _tell_triaged(incident, actor, changes.detail)
    return incident


def _change_severity(incident: Incident, severity: str, changes: _Changes) -> None:
    """Set a new severity, one of ``Severity``."""
    if severity not in Severity.values:
        raise ApplicationError(
            _("Unknown severity %(severity)s.") % {"severity": repr(severity)}, field="severity"
        )
    before = str(Severity(incident.severity).label).lower() if incident.severity else _("not set")
    changes.add(
        "severity",
        incident.severity,
        severity,
        _("Severity %(before)s → %(after)s.")
        % {"before": before, "after": str(Severity(severity).label).lower()},
    )
    incident.severity = severity


def _change_assignee(incident: Incident, assignee: User | None, changes: _Changes) -> None:
    """Assign an active member of Compliance or Legal, or nobody (``None``)."""
    if assignee is not None and not (assignee.is_active and roles.is_compliance_or_legal(assignee)):
        raise ApplicationError(
            _("Assign the incident to a member of Compliance or Legal."), field="assignee"
        )
    changes.add(
        "assignee",
        incident.assignee.get_username() if incident.assignee else None,
        assignee.get_username() if assignee else None,
        _("Assigned to %(person)s.") % {"person": assignee or _("nobody")},
    )
    incident.assignee = assignee


def _change_breach_decision(
    incident: Incident, personal_data_breach: bool | None, breach_reason: str, changes: _Changes
) -> None:
    """Decide yes or no on the personal-data breach; either way with a reason."""
    if personal_data_breach is None:
        raise ApplicationError(
            _("Say whether it is a personal-data breach."), field="personal_data_breach"
        )
    reason = clean_reason(
        breach_reason, field="breach_reason", what=_("the reason for the breach decision")
    )
    changes.add(
        "personal_data_breach",
        incident.personal_data_breach,
        personal_data_breach,
        (
            _("Personal-data breach: yes. %(reason)s")
            if personal_data_breach
            else _("Not a personal-data breach. %(reason)s")
        )
        % {"reason": reason},
    )
    incident.personal_data_breach = personal_data_breach
    incident.breach_reason = reason


def _change_status(incident: Incident, status: str, actor: User, changes: _Changes) -> None:
    """Move to ``status`` (already checked by ``_check_status_move``), stamping the first
    acknowledgement and the closing time."""
    changes.add(
        "status",
        incident.status,
        status,
        _("Status %(before)s → %(after)s.")
        % {"before": _status_word(incident.status), "after": _status_word(status)},
    )
    if status == Status.ACKNOWLEDGED and incident.acknowledged_at is None:
        incident.acknowledged_at = timezone.now()
        incident.acknowledged_by = actor
    incident.closed_at = timezone.now() if status == Status.CLOSED else None
    incident.status = status


def _tell_triaged(incident: Incident, actor: User, detail: dict[str, list]) -> None:
    """Tell a new assignee (unless they assigned themselves) and, on closing, the reporter."""
    if "assignee" in detail and incident.assignee and incident.assignee != actor:
        tell(
            incident,
            [incident.assignee],
            kind="incident_assigned",
            context={"actor": actor},
        )
    if detail.get("status", [None, None])[1] == Status.CLOSED:
        tell(
            incident,
            [incident.reporter],
            kind="incident_closed",
        )


def _apply_breach_decision(incident: Incident, actor: User) -> None:
    """A breach starts the clocks of the breach regimes; "not a breach" rules them out."""
    breach_regimes = Regime.objects.filter(applies_to_breaches=True, active=True)
    if incident.personal_data_breach:
        for regime in breach_regimes:
            applied = IncidentRegime.objects.filter(incident=incident, regime=regime).first()
            if applied is None:
                regime_apply(incident, regime, actor=actor, applied_at=timezone.now())
            elif incident.no_risk_confirmed_at is None:
                update_with_history(
                    applied.duties.filter(state=DutyState.WAIVED),
                    actor=actor,
                    # Kept in the duties' history; translated where it is shown.
                    reason=gettext_noop("Reopened: a personal-data breach after all."),
                    state=DutyState.OPEN,
                    waived_reason="",
                )
        return
    # Stored with the duty and shown later: written in the language of the person deciding.
    waived_reason = _("Not a personal-data breach: %(reason)s") % {"reason": incident.breach_reason}
    update_with_history(
        open_duties().filter(incident=incident, applied__regime__in=breach_regimes),
        actor=actor,
        reason=waived_reason,
        state=DutyState.WAIVED,
        waived_reason=waived_reason,
    )


@transaction.atomic
def incident_note_add(*, actor: User, incident: Incident, text: str) -> TimelineEntry:
    """Add a note to the timeline of an open incident."""
    policies.require_may_triage(actor)
    incident = lock_incident(incident)
    text = (text or "").strip()
    if not text:
        raise ApplicationError(_("Write the note."), field="text")
    if incident.status == Status.CLOSED:
        raise ApplicationError(_("This incident is closed; notes can no longer be added."))
    return timeline_record(incident, actor, EntryKind.NOTE, text, action=AuditAction.INCIDENT_NOTE)
