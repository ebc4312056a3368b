"""Sections for data owners: who holds access to my assets, grants on them expiring, and the
erasures they must carry out."""

from django.urls import reverse
from django.utils.translation import gettext as _

from customers.selectors.subject_requests import erasure_tasks_of
from customers.visibility import active_grants
from portal.dashboard.layout import EXPIRING_WITHIN_DAYS, LIST_LIMIT, Section, Viewer
from portal.site_calendar import add_calendar_days


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
        title=_("Who holds access to my assets"),
        template="portal/dashboard/asset_access.html",
        context={"grants": rows, "total": grants.count(), "expiring": expiring},
        count=grants.count(),
        link=reverse("customers:grant_list_owned"),
        link_text=_("All grants on my assets"),
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
        title=_("Grants on my assets expiring within 7 days"),
        template="portal/dashboard/expiring_grants.html",
        context={"grants": rows},
        count=soon.count(),
        count_label=_("expiring"),
        link=reverse("customers:grant_list_owned"),
        link_text=_("All grants on my assets"),
    )


def erasure_tasks_section(viewer: Viewer) -> Section | None:
    """The owner's erasure tasks not yet confirmed (GDPR Art. 17: a customer asked to be
    erased; the owner deletes them from the asset's source systems and confirms), soonest
    due first; None when nothing waits. Two queries (the tasks with their assets)."""
    if not viewer.is_owner:
        return None
    tasks = list(erasure_tasks_of(viewer.user).filter(confirmed_at__isnull=True)[:LIST_LIMIT])
    if not tasks:
        return None
    return Section(
        key="erasure-tasks",
        title=_("Erasures to carry out"),
        template="portal/dashboard/erasure_tasks.html",
        context={"tasks": tasks},
        count=len(tasks),
        count_label=_("to confirm"),
        link=reverse("customers:erasure_task_list"),
        link_text=_("All my erasure tasks"),
        attention=True,
    )
