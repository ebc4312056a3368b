"""Sections for everyone: my requests with the step they wait at, my grants with the days left,
my reports."""

from django.urls import reverse
from django.utils.translation import gettext as _

from customers.selectors.access import access_requests_of
from customers.visibility import active_grants
from incidents.selectors import incident_list_for
from portal.dashboard.layout import LIST_LIMIT, Section, Viewer
from portal.models import ChainStatus


def my_requests_section(viewer: Viewer) -> Section:
    requests = access_requests_of(viewer.user)
    pending = requests.filter(chain__status=ChainStatus.PENDING).count()
    rows = list(requests.order_by("-created_at", "-id")[:LIST_LIMIT])
    for access_request in rows:
        access_request.step_count = len(access_request.chain.steps.all())
    return Section(
        key="my-requests",
        title=_("My requests"),
        template="portal/dashboard/my_requests.html",
        context={"requests": rows, "pending": pending},
        count=pending,
        count_label=_("pending"),
        link=reverse("customers:request_list"),
        link_text=_("All my requests"),
    )


def my_grants_section(viewer: Viewer) -> Section:
    grants = active_grants().filter(user=viewer.user)
    rows = list(grants.select_related("asset", "purpose").order_by("expires_at", "id")[:LIST_LIMIT])
    for grant in rows:
        grant.days_left = (grant.expires_at - viewer.now).days
    return Section(
        key="my-grants",
        title=_("My grants"),
        template="portal/dashboard/my_grants.html",
        context={"grants": rows, "total": grants.count()},
        link=reverse("customers:grant_list"),
        link_text=_("All my grants"),
    )


def my_reports_section(viewer: Viewer) -> Section:
    reports = incident_list_for(viewer.user).filter(reporter=viewer.user)
    rows = list(reports.order_by("-reported_at", "-id")[:LIST_LIMIT])
    return Section(
        key="my-reports",
        title=_("My reports"),
        template="portal/dashboard/my_reports.html",
        context={"reports": rows, "total": reports.count()},
        link=reverse("incidents:mine"),
        link_text=_("All my reports"),
    )
