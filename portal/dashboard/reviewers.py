"""The section for reviewers of access reviews: the campaigns with grants waiting for them."""

from django.urls import reverse
from django.utils.translation import gettext as _

from customers.selectors.access_reviews import reviews_waiting_for
from portal.dashboard.layout import Section, Viewer


def access_reviews_section(viewer: Viewer) -> Section | None:
    """The open access reviews with items the viewer decides (compliance: also the
    fallback items); none when nothing waits."""
    waiting = reviews_waiting_for(viewer.user)
    if not waiting:
        return None
    return Section(
        key="access-reviews",
        title=_("Access reviews waiting for you"),
        template="portal/dashboard/access_reviews.html",
        context={"waiting": waiting},
        count=sum(row["undecided"] for row in waiting),
        link=reverse("customers:review_list"),
        link_text=_("All access reviews"),
        attention=True,
    )
