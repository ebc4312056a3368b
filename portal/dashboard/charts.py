"""Charts: requests per week and incidents per week, counted in the database."""

from datetime import datetime, timedelta

from django.db.models import Count
from django.db.models.functions import TruncWeek
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from customers.selectors.access import access_request_list_for
from incidents.models import Severity, Status
from incidents.selectors import incident_list_for
from portal.audit_actions import AuditAction
from portal.dashboard.layout import CHART_WEEKS, REFUSED, Chart, Section, Viewer
from portal.models import AuditEvent, ChainStatus


def incidents_chart_section(viewer: Viewer) -> Section | None:
    if not (viewer.is_compliance or viewer.is_legal):
        return None
    counts = {
        (row["status"], row["severity"]): row["n"]
        for row in incident_list_for(viewer.user)
        .order_by()
        .values("status", "severity")
        .annotate(n=Count("pk"))
    }
    colors = {"": "#6c757d", "low": "#198754", "medium": "#0d6efd", "high": "#b35900"}
    colors["critical"] = "#a40e26"
    severities = [("", _("Not set")), *Severity.choices]
    chart = Chart(
        key="incidents-by-status",
        title=_("Incidents by status and severity"),
        row_label=_("Status"),
        horizontal=True,
        # Labels go into the page's JSON: str() of each lazy choice label, in this language.
        rows=[str(label) for _value, label in Status.choices],
        series=[
            {
                "label": str(label),
                "data": [counts.get((status, severity), 0) for status, _label in Status.choices],
                "color": colors[severity],
            }
            for severity, label in severities
        ],
    )
    return Section(
        key="incidents-chart",
        title=_("Incidents by status and severity"),
        template="portal/dashboard/chart.html",
        context={"chart": chart, "empty": _("No incident has been reported yet.")},
        link=reverse("incidents:list"),
        link_text=_("All incidents"),
    )


def _week_starts(viewer: Viewer) -> list[datetime]:
    today = timezone.localtime(viewer.now)
    monday = (today - timedelta(days=today.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return [monday - timedelta(weeks=back) for back in range(CHART_WEEKS - 1, -1, -1)]


def _requests_per_week(viewer: Viewer, *, since: datetime) -> dict[tuple, int]:
    """(Monday's date, chain status) -> how many access requests the viewer sees (an owner:
    on their own assets) were asked that week, from ``since`` on; one query."""
    requests = access_request_list_for(viewer.user).prefetch_related(None)
    if not viewer.is_compliance:
        requests = requests.filter(asset__owner=viewer.user)
    grouped = (
        requests.filter(created_at__gte=since)
        .annotate(week=TruncWeek("created_at", tzinfo=timezone.get_current_timezone()))
        .order_by()
        .values("week", "chain__status")
        .annotate(n=Count("pk"))
    )
    return {(row["week"].date(), row["chain__status"]): row["n"] for row in grouped}


def _refusals_per_week(*, since: datetime) -> dict[tuple, int]:
    """(Monday's date, ``REFUSED``) -> how many access requests were refused that week (the
    audit events of the refusals), from ``since`` on; one query."""
    refused = (
        AuditEvent.objects.filter(action=AuditAction.ACCESS_REQUEST_REFUSED, created_at__gte=since)
        .annotate(week=TruncWeek("created_at", tzinfo=timezone.get_current_timezone()))
        .order_by()
        .values("week")
        .annotate(n=Count("pk"))
    )
    return {(row["week"].date(), REFUSED): row["n"] for row in refused}


def requests_chart_section(viewer: Viewer) -> Section | None:
    if not (viewer.is_compliance or viewer.is_owner):
        return None
    weeks = _week_starts(viewer)
    counts = _requests_per_week(viewer, since=weeks[0])
    outcomes = [
        (ChainStatus.APPROVED, _("Approved"), "#198754"),
        (ChainStatus.DENIED, _("Denied"), "#a40e26"),
        (ChainStatus.WITHDRAWN, _("Withdrawn"), "#6c757d"),
        (ChainStatus.PENDING, _("Pending"), "#0d6efd"),
    ]
    if viewer.is_compliance:
        # Refusals are never stored as requests (nothing reached an approver), only audited.
        counts.update(_refusals_per_week(since=weeks[0]))
        outcomes.append((REFUSED, _("Refused (no eligible customer)"), "#b35900"))
    # A Monday as the language writes a day and month: "23 Nov", "23.11.".
    week_format = pgettext("date format of a week's Monday", "j M")
    chart = Chart(
        key="requests-per-week",
        title=_("Access requests per week by outcome"),
        row_label=_("Week of"),
        rows=[formats.date_format(week, week_format) for week in weeks],
        series=[
            {
                "label": label,
                "data": [counts.get((week.date(), outcome), 0) for week in weeks],
                "color": color,
            }
            for outcome, label, color in outcomes
        ],
    )
    if viewer.is_compliance:
        note = _("Access requests on all assets in the last %(weeks)s weeks, by outcome.")
    else:
        note = _("Access requests on your assets in the last %(weeks)s weeks, by outcome.")
    return Section(
        key="requests-chart",
        title=_("Requests per week"),
        template="portal/dashboard/chart.html",
        context={
            "chart": chart,
            "note": note % {"weeks": CHART_WEEKS},
            "empty": _("No access request in the last %(weeks)s weeks.") % {"weeks": CHART_WEEKS},
        },
    )
