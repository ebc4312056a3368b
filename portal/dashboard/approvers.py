"""The approvals waiting for the viewer, of every kind of request."""

from django.urls import reverse
from django.utils.translation import gettext as _

from portal.approvals import approvals_waiting_for
from portal.dashboard.layout import LIST_LIMIT, Section, Viewer


def approvals_section(viewer: Viewer) -> Section | None:
    # The engine's one list: access and external sharing requests, oldest first.
    waiting = approvals_waiting_for(viewer.user)
    count = len(waiting)
    if not count and not viewer.is_approver:
        return None
    rows = waiting[:LIST_LIMIT]
    return Section(
        key="approvals",
        title=_("Approvals waiting for you"),
        template="portal/dashboard/approvals.html",
        context={"waiting": rows},
        count=count,
        count_label=_("need you"),
        link=reverse("customers:approvals"),
        link_text=_("All approvals"),
        attention=bool(count),
    )
