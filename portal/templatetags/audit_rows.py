"""The rows of the audit log's page: one per event.

``{% load audit_rows %}`` then ``{% audit_row event %}`` with a ``portal.selectors.AuditEventRow``
whose ``details`` the view filled in (each text translated, escaped and cut, as safe HTML):
the event's number, when (``DATETIME_FORMAT`` in the reader's zone), who, the action's
label and code, the target with a link to the events of its asset, the detail's fields, and
the channel with the address it came from.

Written in Python rather than as a template, for the reason and in the way of
``customers/templatetags/approval_cards.py``: the page lists 50 events, and the template
engine spent two thirds of the page's time on their rows. The same HTML, every value
escaped as the template escaped it.
"""

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from portal.display import datetime_text
from portal.languages import per_language, reads_language_once
from portal.selectors import AuditEventRow

register = template.Library()


@register.simple_tag
@reads_language_once
def audit_row(event: AuditEventRow) -> SafeString:
    """``event`` as a ``<tr>`` of seven cells, in the active language and time zone, every
    value escaped (the view's ``details`` texts are safe HTML already)."""
    target = conditional_escape(event.target_label or event.target_type)
    if event.asset_id:
        target += (
            f' <a href="?asset={event.asset_id}" title="{_asset_events()}">'
            f"({conditional_escape(event.asset_label)})</a>"
        )
    details = "".join(
        f'<div><span class="text-muted">{conditional_escape(label)}:</span> '
        f"{conditional_escape(shown)}</div>"
        for label, shown in event.details
    )
    channel = conditional_escape(event.get_channel_display())
    if event.ip:
        channel += f'<div class="text-muted">{conditional_escape(event.ip)}</div>'
    return mark_safe(
        "\n    <tr>\n"
        f'      <td class="small text-muted">{event.pk}</td>\n'
        f'      <td class="small text-nowrap">{conditional_escape(datetime_text(event.created_at))}'
        "</td>\n"
        f"      <td>{conditional_escape(event.actor_label)}</td>\n"
        f"      <td>{conditional_escape(event.action_label)}"
        f'<div class="small"><code>{conditional_escape(event.action)}</code></div></td>\n'
        f'      <td class="small">{target}</td>\n'
        f'      <td class="small text-break">{details}</td>\n'
        f'      <td class="small">{channel}</td>\n'
        "    </tr>\n  "
    )


# The link's title every row with an asset repeats, escaped, once per language.
@per_language
def _asset_events() -> str:
    return conditional_escape(gettext("Events of this asset"))
