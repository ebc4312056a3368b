"""Grants as the access pages name them: a grant's status, and a requester's other active
grants as one line of text for the people deciding a request.

``{% load access_grants %}`` then ``{{ other_grants|other_grants_text }}`` (an
``OtherGrants`` from ``customers.selectors.grants``): "Customer list (E-mail marketing, until
1 Dec 2026); … and 7 more". Written in Python rather than as a template: the approvals page
prints it on each of its 25 cards, up to five grants each, and the template's translation
and date tags cost about a quarter of that page's time.
"""

from datetime import tzinfo

from django import template
from django.utils import formats, timezone
from django.utils.translation import gettext, pgettext, pgettext_lazy

from consent.templatetags.taxonomy import purpose_name
from customers.selectors.grants import OtherGrant, OtherGrants
from portal.display import date_text
from portal.languages import per_language, reads_language_once

register = template.Library()

# A grant's status (``AccessGrant.status``: computed, not a field with choices) as people read it.
GRANT_STATUS = {
    "active": pgettext_lazy("grant status", "active"),
    "expired": pgettext_lazy("grant status", "expired"),
    "revoked": pgettext_lazy("grant status", "revoked"),
}


@register.filter
def grant_status_label(status: str) -> str:
    """A grant's ``status`` (``active``, ``expired``, ``revoked``) in the active language;
    any other value as it is."""
    label = GRANT_STATUS.get(status)
    return status if label is None else str(label)


@register.filter
@reads_language_once
def other_grants_text(grants: OtherGrants) -> str:
    """``grants`` as plain text (the template escapes it) in the active language and time
    zone: each shown grant as "asset (purpose, until date)", joined by "; ", then how many
    more there are, or how many sit on assets the reader cannot see, or "none"."""
    zone = timezone.get_current_timezone()
    text = "; ".join(_grant_text(grant, zone) for grant in grants.shown)
    more = formats.localize(grants.more)
    if grants.shown and grants.more:
        return text + " " + gettext("and %(more)s more") % {"more": more}
    if grants.more:
        return gettext("%(more)s on assets you cannot see") % {"more": more}
    return text or pgettext("other grants", "none")


@per_language
def _grant_message() -> str:
    return gettext("%(asset)s (%(purpose)s, until %(until)s)")


def _grant_text(grant: OtherGrant, zone: tzinfo) -> str:
    return _grant_message() % {
        "asset": grant.asset_name,
        "purpose": purpose_name(grant.purpose),
        "until": date_text(timezone.localdate(grant.expires_at, zone)),
    }
