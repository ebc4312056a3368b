"""The regulators' clocks: regimes and their duties (e.g. GDPR Art. 33's 72 hours from
awareness), recording a duty done, the no-risk decision and the customer notice (Art. 34)."""

from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from incidents import clocks, policies
from incidents.models import (
    Anchor,
    CustomerNotice,
    DutyState,
    EntryKind,
    Incident,
    IncidentDuty,
    IncidentRegime,
    Regime,
    Status,
)
from incidents.selectors import open_duties, responders
from incidents.services.timeline import (
    hours_text,
    lock_incident,
    require_past,
    tell,
    timeline_record,
)
from portal.audit_actions import AuditAction
from portal.display import datetime_text
from portal.errors import ApplicationError
from portal.history import history_user_set, update_with_history
from portal.input_limits import require_visible_text
from portal.models import User
from portal.reasons import clean_reason


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
        _("%(regime)s applies: %(duties)s")
        % {
            "regime": regime.label,
            "duties": "; ".join(
                _("%(duty)s due %(moment)s")
                % {"duty": d.duty.label, "moment": datetime_text(d.due_at)}
                for d in duties
            ),
        },
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
        raise ApplicationError(_("This incident is closed."))
    if not regime.active:
        raise ApplicationError(
            _("%(regime)s is not in use.") % {"regime": regime.label}, field="regime"
        )
    if IncidentRegime.objects.filter(incident=incident, regime=regime).exists():
        raise ApplicationError(
            _("%(regime)s already applies.") % {"regime": regime.label}, field="regime"
        )
    require_past(applied_at, field="applied_at", what=_("The time the regime applied"))
    if applied_at < incident.discovered_at:
        raise ApplicationError(_("It cannot apply before the discovery."), field="applied_at")
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
        raise ApplicationError(
            _("%(duty)s is already %(state)s.")
            % {"duty": duty.duty.label, "state": str(duty.get_state_display()).lower()}
        )
    reference = _clean_duty_reference(reference)
    require_past(completed_at, field="completed_at", what=_("The time of the report"))
    if completed_at < incident.discovered_at:
        raise ApplicationError(_("The report cannot predate the discovery."), field="completed_at")
    late_hours = clocks.hours_between(duty.due_at, completed_at)
    delay_reason = _clean_delay_reason(delay_reason, late_hours=late_hours)
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
        _duty_made_text(duty, late_hours),
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


def _duty_made_text(duty: IncidentDuty, late_hours: float) -> str:
    """The timeline line of a recorded duty, in the active language: when it was made, its
    reference and, when late, by how much and why."""
    text = (
        _("%(duty)s made on %(moment)s, reference %(reference)s; %(hours)s hours late: %(reason)s")
        if late_hours > 0
        else _("%(duty)s made on %(moment)s, reference %(reference)s.")
    )
    return text % {
        "duty": duty.duty.label,
        "moment": datetime_text(duty.completed_at) if duty.completed_at else "",
        "reference": duty.reference,
        "hours": hours_text(late_hours),
        "reason": duty.delay_reason,
    }


def _clean_duty_reference(reference: str) -> str:
    """The reference of a report made (the authority's case or receipt number), required."""
    reference = (reference or "").strip()
    if not reference:
        raise ApplicationError(
            _("Give the reference of the report (the authority's case or receipt number)."),
            field="reference",
        )
    require_visible_text(reference, field="reference", what=_("The reference"))
    return reference


def _clean_delay_reason(delay_reason: str, *, late_hours: float) -> str:
    """The reasons for the delay, required when the report was made ``late_hours`` after its
    due time (GDPR Art. 33(1): a late notification is "accompanied by reasons for the delay")."""
    if late_hours > 0:
        return clean_reason(
            delay_reason,
            field="delay_reason",
            what=_("the reasons for the delay: it was made %(hours)s hours late")
            % {"hours": hours_text(late_hours)},
        )
    return (delay_reason or "").strip()


@transaction.atomic
def incident_awareness_set(
    *, actor: User, incident: Incident, aware_at: datetime, reason: str
) -> Incident:
    """Record that the company became aware later than the discovery (Art. 33(1)); the
    clocks that run from awareness move with it."""
    policies.require_may_triage(actor)
    incident = lock_incident(incident)
    reason = clean_reason(reason, what=_("the reason awareness came later than discovery"))
    require_past(aware_at, field="aware_at", what=_("The awareness time"))
    if aware_at < incident.discovered_at:
        raise ApplicationError(_("Awareness cannot come before the discovery."), field="aware_at")
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
        _("Awareness set to %(moment)s: %(reason)s")
        % {"moment": datetime_text(aware_at), "reason": reason},
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
    reason = clean_reason(reason, what=_("why the breach is unlikely to result in a risk"))
    if not incident.personal_data_breach:
        raise ApplicationError(_("Only a personal-data breach has an authority notification."))
    if incident.no_risk_proposed_at is not None:
        raise ApplicationError(_("This is already proposed; a second member must confirm it."))
    if not _breach_duties(incident).exists():
        raise ApplicationError(_("There is no open authority notification to rule out."))
    incident.no_risk_reason = reason
    incident.no_risk_proposed_by = actor
    incident.no_risk_proposed_at = timezone.now()
    history_user_set(incident, actor)
    incident.save()
    timeline_record(
        incident,
        actor,
        EntryKind.DECISION,
        _("Proposed: unlikely to result in a risk. %(reason)s") % {"reason": reason},
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
        raise ApplicationError(_("Nothing to confirm: nobody proposed it."))
    if incident.no_risk_confirmed_at is not None:
        raise ApplicationError(_("This is already confirmed."))
    policies.require_may_confirm_no_risk(actor, incident)
    now = timezone.now()
    incident.no_risk_confirmed_by = actor
    incident.no_risk_confirmed_at = now
    history_user_set(incident, actor)
    incident.save()
    # Stored with the duties and shown later: in the language of the person confirming.
    waived_reason = _("Unlikely to result in a risk: %(reason)s") % {
        "reason": incident.no_risk_reason
    }
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
        # A fixed text: stored in English, translated where the timeline is shown.
        gettext_noop("Confirmed: unlikely to result in a risk; the authority is not notified."),
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
        raise ApplicationError(_("Choose required or not required."), field="decision")
    reason = clean_reason(reason, what=_("the reason for the decision"))
    if not incident.personal_data_breach:
        raise ApplicationError(_("The Art. 34 decision is for personal-data breaches."))
    before = incident.customer_notice
    incident.customer_notice = decision
    incident.customer_notice_reason = reason
    incident.customer_notice_decided_by = actor
    incident.customer_notice_decided_at = timezone.now()
    history_user_set(incident, actor)
    incident.save()
    label = str(CustomerNotice(decision).label).lower()
    timeline_record(
        incident,
        actor,
        EntryKind.DECISION,
        _("Art. 34: telling the customers is %(decision)s. %(reason)s")
        % {"decision": label, "reason": reason},
        action=AuditAction.INCIDENT_CUSTOMER_NOTICE,
        detail={"decision": [before, decision], "reason": reason},
    )
    return incident
