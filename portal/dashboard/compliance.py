"""Sections for compliance: consent coverage of the assets with active grants, recent exports,
the audit chain's status, data subject requests and retention."""

from datetime import timedelta

from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.coverage_cache import cached_coverage_for
from consent.models import Purpose
from customers.models.catalogue import DataAsset
from customers.models.exports import Export
from customers.selectors.retention import retention_list_for
from customers.selectors.subject_requests import subject_request_list_for
from customers.visibility import active_grants
from portal.audit_actions import AuditAction
from portal.dashboard.layout import (
    AUDIT_STATUS_ACTIONS,
    COVERAGE_LIMIT,
    LIST_LIMIT,
    Chart,
    Section,
    Viewer,
)
from portal.models import AuditEvent


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
        title=_("Consent coverage per asset"),
        row_label=_("Asset and purpose"),
        horizontal=True,
        rows=[f"{row['asset'].name} · {row['coverage'].purpose}" for row in rows],
        series=[
            {
                "label": _("Eligible customers"),
                "data": [row["coverage"].eligible for row in rows],
                "color": "#198754",
            },
            {
                "label": _("Not eligible"),
                "data": [row["coverage"].total - row["coverage"].eligible for row in rows],
                "color": "#adb5bd",
            },
        ],
    )
    return Section(
        key="coverage",
        title=_("Consent coverage of assets in use"),
        template="portal/dashboard/coverage.html",
        context={"rows": rows, "chart": chart, "limit": COVERAGE_LIMIT},
        link=reverse("customers:grant_list_all"),
        link_text=_("All grants"),
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
        title=_("Recent exports"),
        template="portal/dashboard/exports.html",
        context={
            "exports": list(recent[:LIST_LIMIT]),
            "last_week": exports.filter(created_at__gte=since).count(),
        },
        link=reverse("audit_log") + f"?action={AuditAction.EXPORT_DOWNLOAD.value}",
        link_text=_("All exports in the audit log"),
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
        title=_("Audit trail"),
        template="portal/dashboard/audit_chain.html",
        context={
            "latest": latest,
            "ok": latest is not None and latest.action == AuditAction.AUDIT_ANCHOR,
            "since": since,
        },
        link=reverse("audit_log"),
        link_text=_("Audit log"),
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
        title=_("Data subject requests"),
        template="portal/dashboard/subject_requests.html",
        context={"rows": rows, "today": today, "overdue": overdue},
        count=open_requests.count(),
        count_label=_("open"),
        link=reverse("customers:subject_request_list"),
        link_text=_("All subject requests"),
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
        title=_("Past their retention date"),
        template="portal/dashboard/retention.html",
        context={"rows": rows},
        count=assets.count(),
        count_label=_("past their retention date"),
        link=reverse("customers:retention_list"),
        link_text=_("Retention"),
        attention=bool(rows),
    )
