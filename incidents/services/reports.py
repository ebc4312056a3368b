"""Reporting suspected mishandling (anyone, in a minute) and acknowledging a report."""

from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from customers.models.catalogue import DataAsset
from customers.visibility import asset_list_for
from incidents import policies
from incidents.models import CONFIDENTIAL, EntryKind, Incident, Status
from incidents.selectors import responders
from incidents.services.timeline import (
    lock_incident,
    notified_text,
    require_past,
    tell,
    timeline_add,
    timeline_record,
)
from portal.audit import withheld_identity_when
from portal.audit_actions import AuditAction
from portal.errors import ApplicationError
from portal.history import history_user_set
from portal.input_limits import require_in_column, require_visible_text
from portal.models import User


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
    title, description = _clean_report_text(title, description)
    require_past(discovered_at, field="discovered_at", what=_("The discovery time"))
    if estimated_customers is not None:
        require_in_column(
            estimated_customers,
            model=Incident,
            field="estimated_customers",
            what=_("The estimate of customers affected"),
        )
    visible = _assets_seen_by(actor, assets)

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
    _announce_report(incident, actor, visible)
    return incident


def _clean_report_text(title: str, description: str) -> tuple[str, str]:
    """The title and description of a report, stripped; both are required."""
    title, description = (title or "").strip(), (description or "").strip()
    if not title:
        raise ApplicationError(_("Say in a few words what happened."), field="title")
    if not description:
        raise ApplicationError(_("Describe what happened."), field="description")
    require_visible_text(title, field="title", what=_("The title"))
    return title, description


def _assets_seen_by(actor: User, assets: Iterable) -> list[DataAsset]:
    """The assets named (rows or ids), each one ``actor`` can see: an unknown or hidden asset
    is refused, not silently dropped."""
    asset_ids = {getattr(asset, "pk", asset) for asset in assets}
    visible = list(asset_list_for(actor).filter(pk__in=asset_ids))
    if len(visible) != len(asset_ids):
        raise ApplicationError(_("One of the assets does not exist."), field="assets")
    return visible


def _announce_report(incident: Incident, actor: User, assets: list[DataAsset]) -> None:
    """The report's timeline entry and audit event, and the notice to Compliance and Legal.

    Called inside ``incident_report``, so under ``identity_withheld`` for a confidential
    reporter: neither the entry, the event nor the notice names them.
    """
    confidential = incident.confidential_reporter
    timeline_record(
        incident,
        None if confidential else actor,
        EntryKind.REPORTED,
        # The confidential line is a fixed text (translated where the timeline is shown).
        gettext_noop("Reported by confidential reporter")
        if confidential
        else _("Reported by %(person)s") % {"person": actor},
        action=AuditAction.INCIDENT_REPORT,
        detail={
            "reporter": CONFIDENTIAL if confidential else actor.get_username(),
            "assets": sorted(asset.pk for asset in assets),
        },
    )
    told = tell(
        incident,
        responders(),
        kind="incident_reported",
        context={"ack_minutes": settings.INCIDENT_ACK_SLA},
    )
    timeline_add(
        incident,
        None,
        EntryKind.NOTIFICATION,
        notified_text(told),
    )


@transaction.atomic
def incident_acknowledge(*, actor: User, incident: Incident) -> Incident:
    """Acknowledge a new report: stops the escalation; the acknowledger is assigned unless
    someone already is; the reporter is told their report is being handled."""
    policies.require_may_triage(actor)
    incident = lock_incident(incident)
    if incident.status != Status.REPORTED:
        raise ApplicationError(
            _("%(reference)s is already acknowledged.") % {"reference": incident.reference}
        )
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
        _("Acknowledged by %(person)s; assigned to %(assignee)s.")
        % {"person": actor, "assignee": incident.assignee},
        action=AuditAction.INCIDENT_ACKNOWLEDGE,
        detail={"status": [Status.REPORTED, Status.ACKNOWLEDGED]},
    )
    tell(
        incident,
        [incident.reporter],
        kind="incident_acknowledged",
    )
    return incident
