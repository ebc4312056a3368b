"""Every write to incidents: reporting, triage, deadlines and the jobs that keep them.

Each service is one transaction that locks the incident it changes, re-checks the state
after locking, writes its timeline entry and audit event in the same transaction and tells
people through ``notify`` (rows now, e-mail on commit).

Confidentiality: notification subjects and bodies never name a confidential reporter, not
even to Compliance and Legal (e-mail is less protected than the portal), and the audit
event of a confidential report carries no actor.
"""

import enum
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Final

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from customers.visibility import asset_list_for
from incidents import clocks, policies
from incidents.models import (
    CONFIDENTIAL,
    STATUS_ORDER,
    Anchor,
    CustomerNotice,
    DutyState,
    EntryKind,
    Incident,
    IncidentDuty,
    IncidentRegime,
    Notice,
    Regime,
    RegimeDuty,
    Severity,
    Status,
    TimelineEntry,
)
from incidents.selectors import (
    acknowledgement_late,
    acknowledgement_window,
    open_duties,
    responders,
)
from portal import roles
from portal.audit import audit_record, withheld_identity_when
from portal.audit_actions import AuditAction
from portal.errors import ApplicationError
from portal.history import history_user_set, update_with_history
from portal.input_limits import (
    require_in_column,
    require_plausible_moment,
    require_visible_text,
)
from portal.models import User
from portal.notifications import notify
from portal.reasons import clean_reason

# A clock a few seconds ahead of the server's must not make "now" a future time.
CLOCK_SKEW = timedelta(minutes=2)


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
    """Notify ``users`` of ``kind``, each reading times in their own zone (``zone`` in the
    texts' context). Returns the number of people told.

    The texts see the incident as ``_incident_facts``, never the row: it names a
    confidential reporter.
    """
    by_zone = defaultdict(list)
    for user in users:
        by_zone[clocks.zone_for(user).key].append(user)
    told = 0
    for members in by_zone.values():
        facts = {**(context or {}), "incident": _incident_facts(incident)}
        told += len(
            notify(
                users=members,
                kind=kind,
                context={**facts, "zone": clocks.zone_for(members[0])},
                target=incident,
            )
        )
    return told


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


# --- Reporting ---------------------------------------------------------------------------


# A confidential reporter's identity is withheld from every trace the report leaves: its
# audit event, the history rows of the incident, its timeline and its notifications, the
# security log. Only the incident's ``reporter`` names them, for Compliance and Legal.
@withheld_identity_when("confidential_reporter")
@transaction.atomic
def incident_report(
    *,
    actor: User,
    title: str,
    description: str,
    discovered_at: datetime | None = None,
    assets: Iterable = (),
    estimated_customers: int | None = None,
    confidential_reporter: bool = False,
) -> Incident:
    """File a report of suspected mishandling; every member of Compliance and Legal is told.

    Guarantees: the discovery time is not in the future; every asset named is one the
    reporter can see (an unknown or hidden asset is refused, not silently dropped); the
    incident, its timeline, its audit event and the notifications commit together.
    """
    now = timezone.now()
    discovered_at = discovered_at or now
    title, description = (title or "").strip(), (description or "").strip()
    if not title:
        raise ApplicationError("Say in a few words what happened.", field="title")
    if not description:
        raise ApplicationError("Describe what happened.", field="description")
    require_visible_text(title, field="title", what="The title")
    require_past(discovered_at, field="discovered_at", what="The discovery time")
    if estimated_customers is not None:
        require_in_column(
            estimated_customers,
            model=Incident,
            field="estimated_customers",
            what="The estimate of customers affected",
        )
    asset_ids = {getattr(asset, "pk", asset) for asset in assets}
    visible = list(asset_list_for(actor).filter(pk__in=asset_ids))
    if len(visible) != len(asset_ids):
        raise ApplicationError("One of the assets does not exist.", field="assets")

    incident = Incident(
        reference="",
        title=title,
        description=description,
        discovered_at=discovered_at,
        reported_at=now,
        aware_at=discovered_at,
        reporter=actor,
        confidential_reporter=confidential_reporter,
        estimated_customers=estimated_customers,
    )
    # The row history must not name a confidential reporter either.
    history_user_set(incident, None if confidential_reporter else actor)
    incident.save()
    incident.reference = f"INC-{now:%Y}-{incident.pk:05d}"
    incident.save(update_fields=["reference"])
    incident.assets.set(visible)

    timeline_record(
        incident,
        None if confidential_reporter else actor,
        EntryKind.REPORTED,
        "Reported by " + (CONFIDENTIAL + " reporter" if confidential_reporter else str(actor)),
        action=AuditAction.INCIDENT_REPORT,
        detail={
            "reporter": CONFIDENTIAL if confidential_reporter else actor.get_username(),
            "assets": sorted(asset.pk for asset in visible),
        },
    )
    told = tell(
        incident,
        responders(),
        kind="incident_reported",
        context={"ack_minutes": settings.INCIDENT_ACK_SLA},
    )
    timeline_add(
        incident, None, EntryKind.NOTIFICATION, f"Compliance and Legal notified ({told} people)."
    )
    return incident


# --- Triage -------------------------------------------------------------------------------


@transaction.atomic
def incident_acknowledge(*, actor: User, incident: Incident) -> Incident:
    """Acknowledge a new report: stops the escalation; the acknowledger is assigned unless
    someone already is; the reporter is told their report is being handled."""
    policies.require_may_triage(actor)
    incident = lock_incident(incident)
    if incident.status != Status.REPORTED:
        raise ApplicationError(f"{incident.reference} is already acknowledged.")
    incident.status = Status.ACKNOWLEDGED
    incident.acknowledged_at = timezone.now()
    incident.acknowledged_by = actor
    if incident.assignee_id is None:
        incident.assignee = actor
    history_user_set(incident, actor)
    incident.save()
    timeline_record(
        incident,
        actor,
        EntryKind.STATUS,
        f"Acknowledged by {actor}; assigned to {incident.assignee}.",
        action=AuditAction.INCIDENT_ACKNOWLEDGE,
        detail={"status": [Status.REPORTED, Status.ACKNOWLEDGED]},
    )
    tell(
        incident,
        [incident.reporter],
        kind="incident_acknowledged",
    )
    return incident


def _check_status_move(incident: Incident, new: str, note: str) -> None:
    current = incident.status
    if new not in STATUS_ORDER:
        raise ApplicationError(f"Unknown status {new!r}.", field="status")
    if STATUS_ORDER[new] < STATUS_ORDER[current]:
        if new == Status.REPORTED:
            raise ApplicationError(
                "An acknowledged report cannot become new again.", field="status"
            )
        clean_reason(
            note,
            field="note",
            message=f"Moving back from {current} to {new} needs a note saying why.",
        )
    if current == Status.REPORTED and new != Status.ACKNOWLEDGED:
        raise ApplicationError(
            "Acknowledge the report first; it cannot jump from reported to " + new + ".",
            field="status",
        )
    if new == Status.CLOSED and incident.duties.filter(state=DutyState.OPEN).exists():
        raise ApplicationError(
            "Record or rule out the open notification duties before closing.", field="status"
        )


class _Unset(enum.Enum):
    """An argument not passed: ``None`` is a value of its own (no assignee)."""

    UNSET = enum.auto()


_UNSET: Final = _Unset.UNSET


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
    changes: dict[str, list] = {}
    lines: list[str] = []

    if status is not _UNSET and status != incident.status:
        _check_status_move(incident, status, note)
    elif incident.status == Status.CLOSED:
        raise ApplicationError("This incident is closed; reopen it (with a note) first.")

    if severity is not _UNSET and severity != incident.severity:
        if severity not in Severity.values:
            raise ApplicationError(f"Unknown severity {severity!r}.", field="severity")
        changes["severity"] = [incident.severity, severity]
        lines.append(f"Severity {incident.severity or 'not set'} → {severity}.")
        incident.severity = severity

    if assignee is not _UNSET and getattr(assignee, "pk", None) != incident.assignee_id:
        if assignee is not None and not (
            assignee.is_active and roles.is_compliance_or_legal(assignee)
        ):
            raise ApplicationError(
                "Assign the incident to a member of Compliance or Legal.", field="assignee"
            )
        changes["assignee"] = [
            incident.assignee.get_username() if incident.assignee else None,
            assignee.get_username() if assignee else None,
        ]
        lines.append(f"Assigned to {assignee or 'nobody'}.")
        incident.assignee = assignee

    breach_changed = False
    if personal_data_breach is not _UNSET and personal_data_breach != incident.personal_data_breach:
        if personal_data_breach is None:
            raise ApplicationError(
                "Say whether it is a personal-data breach.", field="personal_data_breach"
            )
        reason = clean_reason(
            breach_reason, field="breach_reason", what="the reason for the breach decision"
        )
        changes["personal_data_breach"] = [incident.personal_data_breach, personal_data_breach]
        lines.append(
            (
                "Personal-data breach: yes. "
                if personal_data_breach
                else "Not a personal-data breach. "
            )
            + reason
        )
        incident.personal_data_breach = personal_data_breach
        incident.breach_reason = reason
        breach_changed = True

    if status is not _UNSET and status != incident.status:
        changes["status"] = [incident.status, status]
        lines.append(f"Status {incident.status} → {status}.")
        if status == Status.ACKNOWLEDGED and incident.acknowledged_at is None:
            incident.acknowledged_at = timezone.now()
            incident.acknowledged_by = actor
        incident.closed_at = timezone.now() if status == Status.CLOSED else None
        incident.status = status

    if not changes:
        if note:
            raise ApplicationError("Nothing changed; add the note with the note form.")
        return incident

    history_user_set(incident, actor)
    incident.save()
    timeline_record(
        incident,
        actor,
        EntryKind.STATUS if "status" in changes else EntryKind.TRIAGE,
        " ".join(lines) + (f" Note: {note}" if note else ""),
        action=AuditAction.INCIDENT_TRIAGE,
        detail=changes,
    )
    if breach_changed:
        _apply_breach_decision(incident, actor)
    if "assignee" in changes and incident.assignee and incident.assignee != actor:
        tell(
            incident,
            [incident.assignee],
            kind="incident_assigned",
            context={"actor": actor},
        )
    if changes.get("status", [None, None])[1] == Status.CLOSED:
        tell(
            incident,
            [incident.reporter],
            kind="incident_closed",
        )
    return incident


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
                    reason="Reopened: a personal-data breach after all.",
                    state=DutyState.OPEN,
                    waived_reason="",
                )
        return
    waived_reason = "Not a personal-data breach: " + incident.breach_reason
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
        raise ApplicationError("Write the note.", field="text")
    if incident.status == Status.CLOSED:
        raise ApplicationError("This incident is closed; notes can no longer be added.")
    return timeline_record(incident, actor, EntryKind.NOTE, text, action=AuditAction.INCIDENT_NOTE)


# --- Regimes and duties ------------------------------------------------------------------


def _anchor_time(duty: IncidentDuty, incident: Incident, by_template: dict) -> datetime:
    template = duty.duty
    if template.anchor == Anchor.AWARENESS:
        return incident.aware_at
    if template.anchor == Anchor.APPLIED:
        return duty.applied.applied_at
    earlier = by_template[template.anchor_duty_id]
    # "One month after the notification": after it was made; until then, after it is due.
    return earlier.completed_at or earlier.due_at


def _compute_due(incident: Incident, duties: list[IncidentDuty]) -> None:
    """Set ``due_at`` on each duty, earlier duties first (a duty may hang on an earlier one)."""
    by_template: dict[int, IncidentDuty] = {}
    for duty in sorted(duties, key=lambda d: (d.duty.position, d.duty_id)):
        template = duty.duty
        duty.due_at = clocks.due_after(
            _anchor_time(duty, incident, by_template),
            hours=template.offset_hours,
            months=template.offset_months,
            aware_at=incident.aware_at,
            latest_hours_after_awareness=template.latest_hours_after_awareness,
        )
        by_template[template.pk] = duty


def _recompute_due(incident: Incident) -> None:
    duties = list(incident.duties.select_related("duty", "applied"))
    before = {duty.pk: duty.due_at for duty in duties}
    _compute_due(incident, duties)
    for duty in duties:
        if duty.is_open and duty.due_at != before[duty.pk]:
            duty.save(update_fields=["due_at"])


def regime_apply(
    incident: Incident, regime: Regime, *, actor: User | None, applied_at: datetime
) -> IncidentRegime:
    applied = IncidentRegime(incident=incident, regime=regime, applied_at=applied_at)
    applied.applied_by = actor if getattr(actor, "is_authenticated", False) else None
    applied.save()
    duties = [
        IncidentDuty(incident=incident, applied=applied, duty=template)
        for template in regime.duties.order_by("position", "id")
    ]
    _compute_due(incident, duties)
    for duty in duties:
        duty.save()
    timeline_record(
        incident,
        actor,
        EntryKind.DEADLINE,
        f"{regime.name} applies: "
        + "; ".join(
            f"{d.duty.name} due {d.due_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC" for d in duties
        ),
        action=AuditAction.INCIDENT_REGIME_APPLY,
        detail={"regime": regime.key, "due": {d.duty.key: d.due_at for d in duties}},
    )
    return applied


@transaction.atomic
def incident_regime_apply(
    *, actor: User, incident: Incident, regime: Regime, applied_at: datetime | None = None
) -> IncidentRegime:
    """Decide that a regime applies: each of its duties gets its clock.

    ``applied_at`` is when the incident met the regime's test (DORA: classified as major);
    it defaults to now and cannot be in the future nor before the discovery.
    """
    policies.require_may_triage(actor)
    incident = lock_incident(incident)
    applied_at = applied_at or timezone.now()
    if incident.status == Status.CLOSED:
        raise ApplicationError("This incident is closed.")
    if not regime.active:
        raise ApplicationError(f"{regime.name} is not in use.", field="regime")
    if IncidentRegime.objects.filter(incident=incident, regime=regime).exists():
        raise ApplicationError(f"{regime.name} already applies.", field="regime")
    require_past(applied_at, field="applied_at", what="The time the regime applied")
    if applied_at < incident.discovered_at:
        raise ApplicationError("It cannot apply before the discovery.", field="applied_at")
    return regime_apply(incident, regime, actor=actor, applied_at=applied_at)


@transaction.atomic
def incident_duty_record(
    *,
    actor: User,
    duty: IncidentDuty,
    completed_at: datetime | None = None,
    reference: str,
    delay_reason: str = "",
) -> IncidentDuty:
    """Record that a report was made (for GDPR Art. 33: the authority notification).

    Stops the duty's clock. A report made after its due time needs the reasons for the delay
    (Art. 33(1)). Duties that hang on this one are re-timed from when it was made.
    """
    policies.require_may_triage(actor)
    incident = lock_incident(duty.incident)
    duty = IncidentDuty.objects.select_for_update().select_related("duty").get(pk=duty.pk)
    completed_at = completed_at or timezone.now()
    if not duty.is_open:
        raise ApplicationError(f"{duty.duty.name} is already {duty.get_state_display().lower()}.")
    reference = (reference or "").strip()
    if not reference:
        raise ApplicationError(
            "Give the reference of the report (the authority's case or receipt number).",
            field="reference",
        )
    require_visible_text(reference, field="reference", what="The reference")
    require_past(completed_at, field="completed_at", what="The time of the report")
    if completed_at < incident.discovered_at:
        raise ApplicationError("The report cannot predate the discovery.", field="completed_at")
    late_hours = clocks.hours_between(duty.due_at, completed_at)
    if late_hours > 0:
        delay_reason = clean_reason(
            delay_reason,
            field="delay_reason",
            what=f"the reasons for the delay: it was made {late_hours:.1f} hours late",
        )
    else:
        delay_reason = (delay_reason or "").strip()
    duty.state = DutyState.DONE
    duty.completed_at = completed_at
    duty.completed_by = actor
    duty.reference = reference
    duty.delay_reason = delay_reason
    history_user_set(duty, actor)
    duty.save()
    _recompute_due(incident)
    timeline_record(
        incident,
        actor,
        EntryKind.DEADLINE,
        f"{duty.duty.name} made on {completed_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC, "
        f"reference {reference}"
        + (f"; {late_hours:.1f} hours late: {delay_reason}" if late_hours > 0 else "."),
        action=AuditAction.INCIDENT_DUTY_RECORD,
        detail={
            "duty": f"{duty.duty.regime.key}.{duty.duty.key}",
            "completed_at": completed_at,
            "reference": reference,
            "late_hours": round(max(late_hours, 0), 2),
            "delay_reason": delay_reason,
        },
    )
    return duty


@transaction.atomic
def incident_awareness_set(
    *, actor: User, incident: Incident, aware_at: datetime, reason: str
) -> Incident:
    """Record that the company became aware later than the discovery (Art. 33(1)); the
    clocks that run from awareness move with it."""
    policies.require_may_triage(actor)
    incident = lock_incident(incident)
    reason = clean_reason(reason, what="the reason awareness came later than discovery")
    require_past(aware_at, field="aware_at", what="The awareness time")
    if aware_at < incident.discovered_at:
        raise ApplicationError("Awareness cannot come before the discovery.", field="aware_at")
    before = incident.aware_at
    incident.aware_at = aware_at
    incident.awareness_reason = reason
    history_user_set(incident, actor)
    incident.save(update_fields=["aware_at", "awareness_reason"])
    _recompute_due(incident)
    timeline_record(
        incident,
        actor,
        EntryKind.DEADLINE,
        f"Awareness set to {aware_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC: {reason}",
        action=AuditAction.INCIDENT_AWARENESS,
        detail={"aware_at": [before, aware_at], "reason": reason},
    )
    return incident


def _breach_duties(incident: Incident) -> QuerySet[IncidentDuty]:
    return open_duties().filter(incident=incident, applied__regime__applies_to_breaches=True)


@transaction.atomic
def incident_no_risk_propose(*, actor: User, incident: Incident, reason: str) -> Incident:
    """Propose that the breach is unlikely to result in a risk (no authority notification).

    Nobody decides this alone: it takes effect only when a second member of Compliance or
    Legal confirms it; until then the clock keeps running.
    """
    policies.require_may_triage(actor)
    incident = lock_incident(incident)
    reason = clean_reason(reason, what="why the breach is unlikely to result in a risk")
    if not incident.personal_data_breach:
        raise ApplicationError("Only a personal-data breach has an authority notification.")
    if incident.no_risk_proposed_at is not None:
        raise ApplicationError("This is already proposed; a second member must confirm it.")
    if not _breach_duties(incident).exists():
        raise ApplicationError("There is no open authority notification to rule out.")
    incident.no_risk_reason = reason
    incident.no_risk_proposed_by = actor
    incident.no_risk_proposed_at = timezone.now()
    history_user_set(incident, actor)
    incident.save()
    timeline_record(
        incident,
        actor,
        EntryKind.DECISION,
        f"Proposed: unlikely to result in a risk. {reason}",
        action=AuditAction.INCIDENT_NO_RISK_PROPOSE,
        detail={"reason": reason},
    )
    tell(
        incident,
        responders().exclude(pk=actor.pk),
        kind="incident_no_risk_proposed",
        context={"actor": actor, "reason": reason},
    )
    return incident


@transaction.atomic
def incident_no_risk_confirm(*, actor: User, incident: Incident) -> Incident:
    """Confirm the proposal of another member: the breach clocks stop (ruled out)."""
    policies.require_may_triage(actor)
    incident = lock_incident(incident)
    proposer = incident.no_risk_proposed_by
    if incident.no_risk_proposed_at is None or proposer is None:
        raise ApplicationError("Nothing to confirm: nobody proposed it.")
    if incident.no_risk_confirmed_at is not None:
        raise ApplicationError("This is already confirmed.")
    policies.require_may_confirm_no_risk(actor, incident)
    now = timezone.now()
    incident.no_risk_confirmed_by = actor
    incident.no_risk_confirmed_at = now
    history_user_set(incident, actor)
    incident.save()
    waived_reason = f"Unlikely to result in a risk: {incident.no_risk_reason}"
    update_with_history(
        _breach_duties(incident),
        actor=actor,
        reason=waived_reason,
        state=DutyState.WAIVED,
        waived_reason=waived_reason,
    )
    timeline_record(
        incident,
        actor,
        EntryKind.DECISION,
        "Confirmed: unlikely to result in a risk; the authority is not notified.",
        action=AuditAction.INCIDENT_NO_RISK_CONFIRM,
        detail={"proposed_by": proposer.get_username()},
    )
    return incident


@transaction.atomic
def incident_customer_notice_decide(
    *, actor: User, incident: Incident, decision: str, reason: str
) -> Incident:
    """Record the Art. 34 decision: must the affected customers be told, and why."""
    policies.require_may_triage(actor)
    incident = lock_incident(incident)
    if decision not in (CustomerNotice.REQUIRED, CustomerNotice.NOT_REQUIRED):
        raise ApplicationError("Choose required or not required.", field="decision")
    reason = clean_reason(reason, what="the reason for the decision")
    if not incident.personal_data_breach:
        raise ApplicationError("The Art. 34 decision is for personal-data breaches.")
    before = incident.customer_notice
    incident.customer_notice = decision
    incident.customer_notice_reason = reason
    incident.customer_notice_decided_by = actor
    incident.customer_notice_decided_at = timezone.now()
    history_user_set(incident, actor)
    incident.save()
    label = CustomerNotice(decision).label.lower()
    timeline_record(
        incident,
        actor,
        EntryKind.DECISION,
        f"Art. 34: telling the customers is {label}. {reason}",
        action=AuditAction.INCIDENT_CUSTOMER_NOTICE,
        detail={"decision": [before, decision], "reason": reason},
    )
    return incident


# --- Deadline jobs (beat) ----------------------------------------------------------------


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
        f"Escalation {level}: not acknowledged after "
        f"{waited} minutes; Compliance and Legal notified again ({told} people).",
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
        "duty": {"regime": duty.duty.regime.name, "name": duty.duty.name, "due_at": duty.due_at},
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
        f"Reminder: {duty.duty.name} due in {hours} "
        f"hours; Compliance and Legal notified ({told} people).",
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
        f"Overdue: {duty.duty.name}, {late:.0f} hours "
        f"late; Compliance and Legal notified ({told} people).",
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
