"""The page: the sections in the order it shows them, each costing a fixed number of queries."""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from portal.dashboard.approvers import approvals_section
from portal.dashboard.charts import incidents_chart_section, requests_chart_section
from portal.dashboard.compliance import (
    audit_chain_section,
    coverage_section,
    recent_exports_section,
    retention_section,
    subject_requests_section,
)
from portal.dashboard.employee import my_grants_section, my_reports_section, my_requests_section
from portal.dashboard.incidents import (
    breaches_section,
    misuse_alerts_section,
    open_incidents_section,
)
from portal.dashboard.layout import Section, SectionBuilder, Viewer
from portal.dashboard.owners import (
    access_to_my_assets_section,
    erasure_tasks_section,
    expiring_grants_section,
)
from portal.dashboard.record import record_gaps_section
from portal.dashboard.reviewers import access_reviews_section
from portal.display import zone_for

# The sections, in the order the page shows them; each returns None when it is not for the
# viewer. Each must cost a fixed number of queries (tests/portal/test_dashboard.py checks
# every role at two sizes with one bound).
SECTIONS: list[SectionBuilder] = [
    approvals_section,
    access_reviews_section,
    open_incidents_section,
    breaches_section,
    misuse_alerts_section,
    # --- Extension point: external sharing requests (consent/, /sharing/) ---------------
    # Add a builder such as ``sharing_requests_section(viewer)`` here: the viewer's own
    # sharing requests (those waiting for an approver are already in ``approvals``).
    subject_requests_section,
    retention_section,
    erasure_tasks_section,
    record_gaps_section,
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
    # The viewer's time zone: the page shows times in it, as the incident pages do.
    zone: ZoneInfo

    @property
    def attention(self) -> list[Section]:
        """The sections where something is waiting or late: the page's first line."""
        return [section for section in self.sections if section.attention]


def dashboard_for(user, *, now: datetime | None = None) -> Dashboard:
    """Every section ``user`` should see, built in a fixed number of queries."""
    viewer = Viewer.of(user, now=now)
    sections = [section for build in SECTIONS if (section := build(viewer)) is not None]
    return Dashboard(viewer=viewer, sections=sections, zone=zone_for(user))
