"""The home page after login: on one page, what needs each person, by role.

With ``portal.urls`` this is the only core module that looks down into the apps
(design.md): it reads through their selectors and writes nothing.

- employee (everyone): my requests with the step they wait at, my grants with the days
  left, my reports;
- data owner: approvals waiting, who holds access to my assets, grants on them expiring;
- compliance: approvals waiting, open incidents with their clocks (overdue first), consent
  coverage of the assets with active grants, recent exports, the audit chain's status;
- legal: its approvals, personal-data breaches with their clocks.

Every section costs a fixed number of queries, however many requests, grants and incidents
there are: lists are cut at ``LIST_LIMIT`` rows with the full count and a link to the
complete page, and charts are counts grouped in the database.

The audit chain status is read, not recomputed: walking the whole chain
(``verify_audit``) reads every event and takes seconds at a few million, too slow for a
page everybody opens. The daily anchor job (``audit_anchor_write``) verifies the chain and
records its outcome as an audit event (``audit.anchor`` or ``audit.verify_failed``); the
dashboard shows the latest of those and how many events were written since. A fresh
check on demand stays on ``GET /api/audit/verify/`` and ``manage.py verify_audit``.

Extension point: other apps' sections (external sharing requests, data subject requests,
retention) are functions ``(viewer) -> Section | None`` added to ``SECTIONS`` below, where
the comments mark their place; ``templates/portal/dashboard/`` holds each section's template.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import BooleanField, Count, ExpressionWrapper, F, Q
from django.db.models.functions import TruncWeek
from django.urls import reverse
from django.utils import timezone

from consent.coverage_cache import cached_coverage_for
from consent.models import Purpose
from customers.models import DataAsset, Export
from customers.selectors import (
    access_request_list_for,
    access_requests_of,
    retention_list_for,
    subject_request_list_for,
)
from customers.visibility import active_grants
from incidents.clocks import zone_for
from incidents.models import Severity, Status
from incidents.selectors import (
    acknowledgement_due,
    acknowledgement_late,
    incident_list_for,
    with_clocks,
)
from portal import roles
from portal.approvals import approvals_waiting_for
from portal.audit_actions import AuditAction
from portal.models import AuditEvent, ChainStatus
from portal.site_calendar import add_calendar_days

LIST_LIMIT = 10
COVERAGE_LIMIT = 10  # (asset, purpose) pairs with the most active grants
EXPIRING_WITHIN_DAYS = 7  # calendar days in the site's zone, as the grants' own expiry
CHART_WEEKS = 8
REFUSED = "refused"  # an access request refused at once for lack of coverage (audit only)
AUDIT_STATUS_ACTIONS = (AuditAction.AUDIT_ANCHOR, AuditAction.AUDIT_VERIFY_FAILED)

__all__ = ["SECTIONS", "Section", "Viewer", "dashboard_for", "zone_for"]


@dataclass
class Viewer:
    """Who is looking, with their roles read once."""

    user: object
    now: datetime
    is_compliance: bool
    is_legal: bool
    is_owner: bool

    @classmethod
    def of(cls, user, *, now: datetime | None = None) -> "Viewer":
        return cls(
            user=user,
            now=now or timezone.now(),
            is_compliance=roles.is_compliance(user),
            is_legal=roles.is_legal(user),
            is_owner=DataAsset.objects.filter(owner=user).exists(),
        )

    @property
    def is_approver(self) -> bool:
        return self.is_owner or self.is_compliance or self.is_legal


@dataclass
class Chart:
    """A chart and the table that stands for it (screen readers, no JavaScript).

    ``rows`` are the categories (x axis), ``series`` the stacked values of each row.
    """

    key: str
    title: str
    row_label: str
    rows: list[str]
    series: list[dict]  # {"label": str, "data": [int per row], "color": str}
    stacked: bool = True
    unit: str = ""
    horizontal: bool = False  # bars across: for long row names

    @property
    def table(self) -> list[tuple[str, list[int]]]:
        return [
            (row, [series["data"][index] for series in self.series])
            for index, row in enumerate(self.rows)
        ]

    @property
    def data(self) -> dict:
        """What the chart script reads (``json_script``)."""
        return {
            "labels": self.rows,
            "series": self.series,
            "stacked": self.stacked,
            "unit": self.unit,
            "title": self.title,
            "horizontal": self.horizontal,
        }

    @property
    def is_empty(self) -> bool:
        return not any(any(series["data"]) for series in self.series)


@dataclass
class Section:
    """One card of the dashboard."""

    key: str  # the element id, e.g. "my-requests"
    title: str
    template: str
    context: dict = field(default_factory=dict)
    count: int | None = None  # shown beside the title
    link: str = ""  # the complete list
    link_text: str = ""
    attention: bool = False  # something here is late or waiting: the card stands out
    wide: bool = False


SectionBuilder = Callable[[Viewer], "Section | None"]


# --- Employee ----------------------------------------------------------------------------


def my_requests_section(viewer: Viewer) -> Section:
    requests = access_requests_of(viewer.user)
    pending = requests.filter(chain__status=ChainStatus.PENDING).count()
    rows = list(requests.order_by("-created_at", "-id")[:LIST_LIMIT])
    for access_request in rows:
        access_request.step_count = len(access_request.chain.steps.all())
    return Section(
        key="my-requests",
        title="My requests",
        template="portal/dashboard/my_requests.html",
        context={"requests": rows, "pending": pending},
        count=pending,
        link=reverse("customers:request_list"),
        link_text="All my requests",
    )


def my_grants_section(viewer: Viewer) -> Section:
    grants = active_grants().filter(user=viewer.user)
    rows = list(grants.select_related("asset", "purpose").order_by("expires_at", "id")[:LIST_LIMIT])
    for grant in rows:
        grant.days_left = (grant.expires_at - viewer.now).days
    return Section(
        key="my-grants",
        title="My grants",
        template="portal/dashboard/my_grants.html",
        context={"grants": rows, "total": grants.count()},
        link=reverse("customers:grant_list"),
        link_text="All my grants",
    )


def my_reports_section(viewer: Viewer) -> Section:
    reports = incident_list_for(viewer.user).filter(reporter=viewer.user)
    rows = list(reports.order_by("-reported_at", "-id")[:LIST_LIMIT])
    return Section(
        key="my-reports",
        title="My reports",
        template="portal/dashboard/my_reports.html",
        context={"reports": rows, "total": reports.count()},
        link=reverse("incidents:mine"),
        link_text="All my reports",
    )


# --- Approvers (owner, compliance, legal) -------------------------------------------------


def approvals_section(viewer: Viewer) -> Section | None:
    # The engine's one list: access and external sharing requests, oldest first.
    waiting = approvals_waiting_for(viewer.user)
    count = len(waiting)
    if not count and not viewer.is_approver:
        return None
    rows = waiting[:LIST_LIMIT]
    return Section(
        key="approvals",
        title="Approvals waiting for you",
        template="portal/dashboard/approvals.html",
        context={"waiting": rows},
        count=count,
        link=reverse("customers:approvals"),
        link_text="All approvals",
        attention=bool(count),
    )


# --- Data owner --------------------------------------------------------------------------


def access_to_my_assets_section(viewer: Viewer) -> Section | None:
    if not viewer.is_owner:
        return None
    grants = active_grants().filter(asset__owner=viewer.user)
    rows = list(
        grants.select_related("asset", "purpose", "user").order_by("expires_at", "id")[:LIST_LIMIT]
    )
    horizon = add_calendar_days(viewer.now, EXPIRING_WITHIN_DAYS)
    expiring = grants.filter(expires_at__lte=horizon).count()
    for grant in rows:
        grant.expiring = grant.expires_at <= horizon
    return Section(
        key="access-to-my-assets",
        title="Who holds access to my assets",
        template="portal/dashboard/asset_access.html",
        context={"grants": rows, "total": grants.count(), "expiring": expiring},
        count=grants.count(),
        link=reverse("customers:grant_list_owned"),
        link_text="All grants on my assets",
        wide=True,
    )


def expiring_grants_section(viewer: Viewer) -> Section | None:
    if not viewer.is_owner:
        return None
    soon = active_grants().filter(
        asset__owner=viewer.user,
        expires_at__lte=add_calendar_days(viewer.now, EXPIRING_WITHIN_DAYS),
    )
    rows = list(soon.select_related("asset", "user").order_by("expires_at", "id")[:LIST_LIMIT])
    return Section(
        key="expiring-grants",
        title="Grants on my assets expiring within 7 days",
        template="portal/dashboard/expiring_grants.html",
        context={"grants": rows},
        count=soon.count(),
        link=reverse("customers:grant_list_owned"),
        link_text="All grants on my assets",
    )


# --- Compliance and legal: incidents -----------------------------------------------------


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
        title="Open incidents",
        empty="No open incidents. Reports arrive here the moment they are sent.",
        link=reverse("incidents:list"),
        link_text="All incidents",
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
        title="Personal-data breaches",
        empty="No open personal-data breach.",
        link=reverse("incidents:list") + "?breach=yes",
        link_text="All breaches",
    )


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
    severities = [("", "Not set"), *Severity.choices]
    chart = Chart(
        key="incidents-by-status",
        title="Incidents by status and severity",
        row_label="Status",
        horizontal=True,
        rows=[label for _, label in Status.choices],
        series=[
            {
                "label": label,
                "data": [counts.get((status, severity), 0) for status, _ in Status.choices],
                "color": colors[severity],
            }
            for severity, label in severities
        ],
    )
    return Section(
        key="incidents-chart",
        title="Incidents by status and severity",
        template="portal/dashboard/chart.html",
        context={"chart": chart, "empty": "No incident has been reported yet."},
        link=reverse("incidents:list"),
        link_text="All incidents",
    )


# --- Requests per week (compliance, owners) ----------------------------------------------


def _week_starts(viewer: Viewer) -> list[datetime]:
    today = timezone.localtime(viewer.now)
    monday = (today - timedelta(days=today.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return [monday - timedelta(weeks=back) for back in range(CHART_WEEKS - 1, -1, -1)]


def requests_chart_section(viewer: Viewer) -> Section | None:
    if not (viewer.is_compliance or viewer.is_owner):
        return None
    weeks = _week_starts(viewer)
    zone = timezone.get_current_timezone()
    requests = access_request_list_for(viewer.user).prefetch_related(None)
    if not viewer.is_compliance:
        requests = requests.filter(asset__owner=viewer.user)
    counts: dict[tuple, int] = {}
    grouped = (
        requests.filter(created_at__gte=weeks[0])
        .annotate(week=TruncWeek("created_at", tzinfo=zone))
        .order_by()
        .values("week", "chain__status")
        .annotate(n=Count("pk"))
    )
    for row in grouped:
        counts[(row["week"].date(), row["chain__status"])] = row["n"]
    outcomes = [
        (ChainStatus.APPROVED, "Approved", "#198754"),
        (ChainStatus.DENIED, "Denied", "#a40e26"),
        (ChainStatus.WITHDRAWN, "Withdrawn", "#6c757d"),
        (ChainStatus.PENDING, "Pending", "#0d6efd"),
    ]
    if viewer.is_compliance:
        # Refusals are never stored as requests (nothing reached an approver), only audited.
        refused = (
            AuditEvent.objects.filter(
                action=AuditAction.ACCESS_REQUEST_REFUSED, created_at__gte=weeks[0]
            )
            .annotate(week=TruncWeek("created_at", tzinfo=zone))
            .order_by()
            .values("week")
            .annotate(n=Count("pk"))
        )
        for row in refused:
            counts[(row["week"].date(), REFUSED)] = row["n"]
        outcomes.append((REFUSED, "Refused (no eligible customer)", "#b35900"))
    chart = Chart(
        key="requests-per-week",
        title="Access requests per week by outcome",
        row_label="Week of",
        rows=[f"{week.day} {week:%b}" for week in weeks],
        series=[
            {
                "label": label,
                "data": [counts.get((week.date(), outcome), 0) for week in weeks],
                "color": color,
            }
            for outcome, label, color in outcomes
        ],
    )
    scope = "all assets" if viewer.is_compliance else "your assets"
    return Section(
        key="requests-chart",
        title="Requests per week",
        template="portal/dashboard/chart.html",
        context={
            "chart": chart,
            "note": f"Access requests on {scope} in the last {CHART_WEEKS} weeks, by outcome.",
            "empty": f"No access request in the last {CHART_WEEKS} weeks.",
        },
    )


# --- Compliance --------------------------------------------------------------------------


def coverage_section(viewer: Viewer) -> Section | None:
    """Consent coverage of the assets with active grants: one coverage per (asset,
    purpose) of active grants, the ``COVERAGE_LIMIT`` pairs with the most grants."""
    if not viewer.is_compliance:
        return None
    pairs = list(
        active_grants()
        .order_by()
        .values("asset_id", "purpose_id")
        .annotate(grants=Count("pk"))
        .order_by("-grants", "asset_id", "purpose_id")[:COVERAGE_LIMIT]
    )
    assets = DataAsset.objects.in_bulk({pair["asset_id"] for pair in pairs})
    purposes = Purpose.objects.in_bulk({pair["purpose_id"] for pair in pairs})
    rows = []
    for pair in pairs:
        asset, purpose = assets[pair["asset_id"]], purposes[pair["purpose_id"]]
        coverage = cached_coverage_for(asset, purpose)
        percent = round(100 * coverage.eligible / coverage.total) if coverage.total else 0
        rows.append(
            {"asset": asset, "coverage": coverage, "grants": pair["grants"], "percent": percent}
        )
    rows.sort(key=lambda row: (row["asset"].name, row["coverage"].purpose))
    chart = Chart(
        key="coverage-per-asset",
        title="Consent coverage per asset",
        row_label="Asset and purpose",
        horizontal=True,
        rows=[f"{row['asset'].name} · {row['coverage'].purpose}" for row in rows],
        series=[
            {
                "label": "Eligible customers",
                "data": [row["coverage"].eligible for row in rows],
                "color": "#198754",
            },
            {
                "label": "Not eligible",
                "data": [row["coverage"].total - row["coverage"].eligible for row in rows],
                "color": "#adb5bd",
            },
        ],
    )
    return Section(
        key="coverage",
        title="Consent coverage of assets in use",
        template="portal/dashboard/coverage.html",
        context={"rows": rows, "chart": chart, "limit": COVERAGE_LIMIT},
        link=reverse("customers:grant_list_all"),
        link_text="All grants",
        wide=True,
    )


def recent_exports_section(viewer: Viewer) -> Section | None:
    if not viewer.is_compliance:
        return None
    exports = Export.objects.all()
    recent = exports.select_related("grant__asset", "grant__user", "package").order_by("-id")
    since = viewer.now - timedelta(days=7)
    return Section(
        key="recent-exports",
        title="Recent exports",
        template="portal/dashboard/exports.html",
        context={
            "exports": list(recent[:LIST_LIMIT]),
            "last_week": exports.filter(created_at__gte=since).count(),
        },
        link=reverse("audit_log") + f"?action={AuditAction.EXPORT_DOWNLOAD.value}",
        link_text="All exports in the audit log",
    )


def audit_chain_section(viewer: Viewer) -> Section | None:
    """The latest verification by the anchor job, not a new walk (see the module doc)."""
    if not viewer.is_compliance:
        return None
    latest = AuditEvent.objects.filter(action__in=AUDIT_STATUS_ACTIONS).order_by("-id").first()
    since = 0
    if latest is not None:
        since = AuditEvent.objects.filter(id__gt=latest.id).count()
    return Section(
        key="audit-chain",
        title="Audit trail",
        template="portal/dashboard/audit_chain.html",
        context={
            "latest": latest,
            "ok": latest is not None and latest.action == AuditAction.AUDIT_ANCHOR,
            "since": since,
        },
        link=reverse("audit_log"),
        link_text="Audit log",
        attention=latest is not None and latest.action != AuditAction.AUDIT_ANCHOR,
    )


def subject_requests_section(viewer: Viewer) -> Section | None:
    """Compliance: open data subject requests, the one due soonest (or overdue) first."""
    if not viewer.is_compliance:
        return None
    open_requests = subject_request_list_for(viewer.user).filter(status="open")
    today = timezone.localdate(viewer.now)
    rows = list(open_requests.order_by("due_on", "id")[:LIST_LIMIT])
    overdue = open_requests.filter(due_on__lt=today).count()
    return Section(
        key="subject-requests",
        title="Data subject requests",
        template="portal/dashboard/subject_requests.html",
        context={"rows": rows, "today": today, "overdue": overdue},
        count=open_requests.count(),
        link=reverse("customers:subject_request_list"),
        link_text="All subject requests",
        attention=overdue > 0,
    )


def retention_section(viewer: Viewer) -> Section | None:
    """Assets past their retention date: all of them for compliance, their own for an
    owner, until the deletion or a new date is recorded."""
    if not (viewer.is_compliance or viewer.is_owner):
        return None
    assets = retention_list_for(viewer.user, today=timezone.localdate(viewer.now))
    rows = list(assets[:LIST_LIMIT])
    if not rows and not viewer.is_compliance:
        return None
    return Section(
        key="retention",
        title="Past their retention date",
        template="portal/dashboard/retention.html",
        context={"rows": rows},
        count=assets.count(),
        link=reverse("customers:retention_list"),
        link_text="Retention",
        attention=bool(rows),
    )


# --- The page ----------------------------------------------------------------------------

# The sections, in the order the page shows them; each returns None when it is not for the
# viewer. Each must cost a fixed number of queries (tests/portal/test_dashboard.py checks
# every role at two sizes with one bound).
SECTIONS: list[SectionBuilder] = [
    approvals_section,
    open_incidents_section,
    breaches_section,
    # --- Extension point: external sharing requests (consent/, /sharing/) ---------------
    # Add a builder such as ``sharing_requests_section(viewer)`` here: the viewer's own
    # sharing requests (those waiting for an approver are already in ``approvals``).
    subject_requests_section,
    retention_section,
    access_to_my_assets_section,
    expiring_grants_section,
    my_requests_section,
    my_grants_section,
    my_reports_section,
    coverage_section,
    requests_chart_section,
    incidents_chart_section,
    recent_exports_section,
    audit_chain_section,
]


@dataclass
class Dashboard:
    viewer: Viewer
    sections: list[Section]

    @property
    def attention(self) -> list[Section]:
        """The sections where something is waiting or late: the page's first line."""
        return [section for section in self.sections if section.attention]


def dashboard_for(user, *, now: datetime | None = None) -> Dashboard:
    """Every section ``user`` should see, built in a fixed number of queries."""
    viewer = Viewer.of(user, now=now)
    sections = [section for build in SECTIONS if (section := build(viewer)) is not None]
    return Dashboard(viewer=viewer, sections=sections)
