"""Reads of incidents that involve a rule: who sees which report, and who sees the reporter."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol, TypedDict

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import pgettext

from customers.models.access import AccessGrant
from customers.models.catalogue import AssetCustomer, DataAsset
from customers.models.exports import Export
from incidents.models import (
    CONFIDENTIAL,
    Alert,
    AlertStatus,
    DutyState,
    Incident,
    IncidentDuty,
    Regime,
    Status,
    TimelineEntry,
)
from portal import roles
from portal.models import User

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

IMPACT_WINDOW = timedelta(days=30)


def acknowledgement_window() -> timedelta:
    """How long a new report may wait for its acknowledgement: ``INCIDENT_ACK_SLA`` minutes
    of elapsed time, at least one (a setting of 0 would escalate every report at once, and
    divide by zero counting escalation levels). The escalation job and the dashboard read
    this one rule."""
    return timedelta(minutes=max(1, settings.INCIDENT_ACK_SLA))


def acknowledgement_due(incident: Incident) -> datetime | None:
    """When ``incident`` must be acknowledged by (aware, UTC), or ``None`` once it is no
    longer ``reported``."""
    if incident.status != Status.REPORTED:
        return None
    return incident.reported_at + acknowledgement_window()


def acknowledgement_late(now: datetime) -> Q:
    """The incidents still ``reported`` at ``now`` (aware) past their acknowledgement
    deadline: the ones the escalation job escalates."""
    return Q(status=Status.REPORTED, reported_at__lte=now - acknowledgement_window())


def incident_list_for(user: User | AnonymousUser | None) -> QuerySet[Incident]:
    """The incidents ``user`` may see: every one for Compliance and Legal, otherwise only
    the reports the user filed. Everyone else's reports do not exist for them (404)."""
    incidents = Incident.objects.all()
    if user is None or not user.is_authenticated or not user.is_active:
        return incidents.none()
    if roles.is_compliance_or_legal(user):
        return incidents
    return incidents.filter(reporter=user)


class ReportedIncident(Protocol):
    """What the reporter rule reads of an incident: the ``Incident`` itself or a list's
    plain row (``incidents.list_rows``), whose ``reporter`` prints as the person's name."""

    @property
    def confidential_reporter(self) -> bool: ...

    @property
    def reporter(self) -> object: ...


def can_see_reporter(incident: ReportedIncident, viewer: User) -> bool:
    return not incident.confidential_reporter or roles.is_compliance_or_legal(viewer)


def reporter_label(incident: ReportedIncident, viewer: User) -> str:
    """The reporter as ``viewer`` may see them: a name, or "confidential".

    A confidential reporter's name is for Compliance and Legal only; everyone else, the
    reporter included (an API answer may be shared), reads "confidential".
    """
    if can_see_reporter(incident, viewer):
        return str(incident.reporter)
    return CONFIDENTIAL


def reporter_shown(incident: ReportedIncident, viewer: User) -> str:
    """``reporter_label`` as a page shows it: "confidential" in the viewer's language (the
    API keeps the English value of the contract)."""
    if can_see_reporter(incident, viewer):
        return reporter_label(incident, viewer)
    return pgettext("reporter", "confidential")


def responders() -> QuerySet[User]:
    """The active members of Compliance and Legal: who receives and works every report."""
    return roles.role_members(*roles.ROLE_GROUPS).order_by("first_name", "last_name", "username")


def open_duties() -> QuerySet[IncidentDuty]:
    return IncidentDuty.objects.filter(state=DutyState.OPEN)


class IncidentClocks(TypedDict):
    """What ``with_clocks`` adds to each incident."""

    next_due: datetime | None
    overdue: bool


def with_clocks(
    incidents: QuerySet[Incident], *, now: datetime | None = None
) -> "QuerySet[WithAnnotations[Incident, IncidentClocks]]":
    """Annotate ``next_due`` (earliest open duty) and ``overdue`` (an open duty is late).

    Both are subqueries per incident rather than a join grouped by incident: a list reads
    its page of incidents from the index first and looks up only their duties (the
    grouped join read every incident's duties before the page was cut).
    """
    now = now or timezone.now()
    duties = open_duties().filter(incident=OuterRef("pk"))
    return incidents.annotate(
        next_due=Subquery(duties.order_by("due_at").values("due_at")[:1]),
        overdue=Exists(open_duties().filter(incident=OuterRef("pk"), due_at__lte=now)),
    )


def incident_triage_list(
    user: User,
    *,
    status: str = "",
    severity: str = "",
    breach: str = "",
    overdue: bool | None = None,
    now: datetime | None = None,
) -> QuerySet[Incident]:
    """The incident list as ``user`` sees it, filtered, with clocks, in fixed queries.

    ``breach`` is ``yes``, ``no`` or ``unknown`` (not decided yet).
    """
    incidents = with_clocks(incident_list_for(user), now=now)
    if status:
        incidents = incidents.filter(status=status)
    if severity:
        incidents = incidents.filter(severity=severity)
    if breach:
        value = {"yes": True, "no": False, "unknown": None}[breach]
        incidents = incidents.filter(personal_data_breach=value)
    if overdue is not None:
        incidents = incidents.filter(overdue=overdue)
    return incidents.select_related("reporter", "assignee").order_by("-reported_at", "-id")


def incident_detail_queryset(user: User) -> QuerySet[Incident]:
    return with_clocks(incident_list_for(user)).select_related(
        "reporter",
        "assignee",
        "acknowledged_by",
        "no_risk_proposed_by",
        "no_risk_confirmed_by",
        "customer_notice_decided_by",
    )


def incident_duties(incident: Incident, *, now: datetime | None = None) -> list[IncidentDuty]:
    """The incident's duties, each with ``hours_late`` (open and past due, else None) and
    ``hours_left`` (open and not yet due, else None)."""
    now = now or timezone.now()
    duties = list(
        incident.duties.select_related("duty", "duty__regime", "completed_by", "applied").order_by(
            "due_at", "id"
        )
    )
    for duty in duties:
        hours = (now - duty.due_at).total_seconds() / 3600
        # Display values the page reads from each duty; not fields of the model, hence the
        # ignores.
        duty.hours_late = hours if duty.is_open and hours >= 0 else None  # type: ignore[attr-defined]
        duty.hours_left = -hours if duty.is_open and hours < 0 else None  # type: ignore[attr-defined]
        duty.made_late_hours = (  # type: ignore[attr-defined]
            (duty.completed_at - duty.due_at).total_seconds() / 3600
            if duty.completed_at and duty.completed_at > duty.due_at
            else None
        )
    return duties


def incident_timeline(incident: Incident) -> QuerySet[TimelineEntry]:
    return incident.timeline.select_related("actor").order_by("created_at", "id")


def regimes_not_applied(incident: Incident) -> QuerySet[Regime]:
    return (
        Regime.objects.filter(active=True)
        .exclude(pk__in=incident.regimes.values("regime_id"))
        .order_by("name")
    )


@dataclass(frozen=True)
class Impact:
    """What the assets of an incident held and who took data from them before discovery."""

    assets: list[DataAsset]
    customers: int
    data_categories: list[str]
    grant_holders: list[str]
    exports: list[Export]
    window_start: datetime
    window_end: datetime


def grant_holders(asset_ids: list[int], start: datetime, end: datetime) -> list[str]:
    """Usernames of people who held a grant on the assets at some moment in [start, end]:
    granted by ``end``, and neither revoked nor expired before ``start``."""
    held = AccessGrant.objects.filter(
        Q(revoked_at__isnull=True) | Q(revoked_at__gte=start),
        asset_id__in=asset_ids,
        created_at__lte=end,
        expires_at__gte=start,
    )
    return sorted(set(held.values_list("user__username", flat=True)))


def impact_summary(incident: Incident) -> Impact:
    """Computed, never typed: customers and data categories of the assets involved, who held
    grants on them and which exports were made in the 30 days before discovery."""
    assets = list(incident.assets.order_by("name"))
    ids = [asset.pk for asset in assets]
    customers = (
        AssetCustomer.objects.filter(asset_id__in=ids).values("customer_id").distinct().count()
    )
    categories = sorted(
        set(
            DataAsset.data_categories.through.objects.filter(dataasset_id__in=ids).values_list(
                "datacategory__key", flat=True
            )
        )
    )
    end = incident.discovered_at
    # A discovery stored before input limits existed may lie in year 1: the window then
    # starts at the first representable moment instead of overflowing the page.
    start = end - min(IMPACT_WINDOW, end - datetime.min.replace(tzinfo=UTC))
    exports = list(
        Export.objects.filter(
            asset_id__in=ids, created_at__gte=start, created_at__lte=end
        ).order_by("created_at", "id")
    )
    return Impact(
        assets=assets,
        customers=customers,
        data_categories=categories,
        grant_holders=grant_holders(ids, start, end),
        exports=exports,
        window_start=start,
        window_end=end,
    )


def alert_list_for(user: User | AnonymousUser | None) -> QuerySet[Alert]:
    """The misuse alerts ``user`` may see: every alert for members of Compliance, except
    those about themselves (the person concerned never sees an alert, whatever their role);
    none for anyone else. Newest occurrence first, with the handler and incident joined."""
    alerts = Alert.objects.select_related("handled_by", "incident")
    if user is None or not user.is_authenticated or not user.is_active:
        return alerts.none()
    if not roles.is_compliance(user):
        return alerts.none()
    return alerts.exclude(subjects=user)


def open_alert_count(user: User | AnonymousUser | None) -> int:
    """How many alerts ``user`` may see are still open (the dashboard's count)."""
    return alert_list_for(user).filter(status=AlertStatus.OPEN).count()
