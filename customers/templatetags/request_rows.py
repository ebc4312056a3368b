"""The rows of "My requests": one table row per access request.

``{% load request_rows %}`` then ``{% request_row r %}`` with an ``AccessRequestRow``
(``customers.selectors.access``): the asset linking to the request's page, the purpose,
level and duration, how long ago it was asked, the chain's status and its steps.

Written in Python rather than as a template, for the reason and in the way of
``approval_cards``: the same messages (their translations unchanged), every value escaped
unless already safe HTML, and the page's 25 rows no longer cost more than the rest of it.
"""

from django import template
from django.utils import formats
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince
from django.utils.translation import gettext, ngettext

from consent.templatetags.taxonomy import purpose_label
from customers.selectors.access import AccessRequestRow
from portal.languages import reads_language_once
from portal.paths import object_path
from portal.templatetags.approval_steps import approval_steps

register = template.Library()


@register.simple_tag
@reads_language_once
def request_row(request: AccessRequestRow) -> SafeString:
    """``request`` as a ``<tr>`` of four cells: what was asked (asset link, purpose label,
    level, "N days"), when ("3 days ago", ``timesince`` in the active language), the
    chain's status, and its steps (``approval_steps``)."""
    link = conditional_escape(object_path("customers:request_detail", request.pk))
    days = ngettext("%(days)s day", "%(days)s days", request.duration_days) % {
        "days": formats.localize(request.duration_days)
    }
    asked = gettext("%(since)s ago") % {"since": timesince(request.created_at)}
    what = " · ".join(
        conditional_escape(part)
        for part in (purpose_label(request.purpose), request.get_level_display(), days)
    )
    return mark_safe(
        "\n    <tr>\n"
        f'      <td><a href="{link}">{conditional_escape(request.asset.name)}</a>'
        f'<div class="small">{what}</div></td>\n'
        f"      <td>{conditional_escape(asked)}</td>\n"
        f"      <td>{conditional_escape(request.chain.get_status_display())}</td>\n"
        f"      <td>{approval_steps(request.chain.steps.all())}</td>\n"
        "    </tr>\n"
    )
