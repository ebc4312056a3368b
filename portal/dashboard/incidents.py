"""Sections for compliance and legal: open incidents with their clocks (overdue first),
personal-data breaches, and open misuse alerts."""

from django.db.models import BooleanField, ExpressionWrapper, F, Q
from django.urls import reverse
from django.utils.translation import gettext as _

from incidents.models import Status
from incidents.selectors import (
    acknowledgement_due,
    acknowledgement_late,
    incident_list_for,
    open_alert_count,
    with_clocks,
)
from portal.dashboard.layout import LIST_LIMIT, Section, Viewer


def _open_incidents_with_clocks(viewer: Viewer):
    """Open incidents, late first: an open duty past its due time, or a report still
    unacknowledged after ``INCIDENT_ACK_SLA`` minutes; then by the next deadline."""
    incidents = with_clocks(
        incident_list_for(viewer.user).exclude(status=Status.CLOSED), now=viewer.now
    ).annotate(
        ack_late=ExpressionWrapper(acknowledgement_late(viewer.now), output_field=BooleanField())
    )
    return incidents.order_by(
        F("overdue").desc(),
        F("ack_late").desc(),
        F("next_due").asc(nulls_last=True),
        "-reported_at",
        "-id",
    )


def _incident_rows(viewer: Viewer, incidents) -> list:
    rows = list(incidents.select_related("assignee")[:LIST_LIMIT])
    for incident in rows:
        incident.ack_due = acknowledgement_due(incident)
        incident.late = incident.overdue or incident.ack_late
    return rows


def _incidents_section(viewer: Viewer, incidents, *, late: int, **shown) -> Section:
    """One list of open incidents with their clocks: compliance's, or legal's breaches."""
    empty = shown.pop("empty")
    return Section(
        template="portal/dashboard/incidents.html",
        context={
            "incidents": _incident_rows(viewer, incidents),
            "total": incidents.count(),
            "late": late,
            "empty": empty,
        },
        count=late,
        count_label=_("late"),
        attention=bool(late),
        wide=True,
        **shown,
    )


def open_incidents_section(viewer: Viewer) -> Section | None:
    if not viewer.is_compliance:
        return None
    incidents = _open_incidents_with_clocks(viewer)
    return _incidents_section(
        viewer,
        incidents,
        late=incidents.filter(Q(overdue=True) | Q(ack_late=True)).count(),
        key="open-incidents",
        title=_("Open incidents"),
        empty=_("No open incidents. Reports arrive here the moment they are sent."),
        link=reverse("incidents:list"),
        link_text=_("All incidents"),
    )


def breaches_section(viewer: Viewer) -> Section | None:
    if not viewer.is_legal:
        return None
    incidents = _open_incidents_with_clocks(viewer).filter(personal_data_breach=True)
    return _incidents_section(
        viewer,
        incidents,
        late=incidents.filter(overdue=True).count(),
        key="breaches",
        title=_("Personal-data breaches"),
        empty=_("No open personal-data breach."),
        link=reverse("incidents:list") + "?breach=yes",
        link_text=_("All breaches"),
    )


def misuse_alerts_section(viewer: Viewer) -> Section | None:
    """How many misuse alerts wait for Compliance (never those about the viewer)."""
    if not viewer.is_compliance:
        return None
    count = open_alert_count(viewer.user)
    return Section(
        key="misuse-alerts",
        title=_("Misuse alerts"),
        template="portal/dashboard/misuse_alerts.html",
        context={"open_alerts": count},
        count=count,
        link=reverse("incidents:alert_list"),
        link_text=_("All alerts"),
        attention=count > 0,
    )
