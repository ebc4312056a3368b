"""Filters for notification pages (``templates/portal/notification_list.html``).

Dates, times and numbers in notification texts need no filter of their own: the portal's
named formats (``|date:"DATETIME_FORMAT"``, ``|date:"DATE_FORMAT"``) and grouped numbers,
rendered in each recipient's zone (``portal.notifications.notification_texts``)."""

from django import template
from django.template.defaultfilters import linebreaksbr
from django.utils.html import format_html

from portal.models import Notification
from portal.notifications import link_mentions, portal_address

register = template.Library()


@register.filter
def body_with_link(notification: Notification) -> str:
    """The notification's body as HTML (escaped, line breaks kept) with every mention of
    its own portal path ("Decide in the portal: /requests/4/") made a link to it, reading
    as the e-mail's full address (``portal.notifications.portal_address``)."""
    body, path = notification.body, notification.link
    pieces, last = [], 0
    for start, end in link_mentions(body, path):
        pieces.append(linebreaksbr(body[last:start], autoescape=True))
        pieces.append(format_html('<a href="{}">{}</a>', path, portal_address(path)))
        last = end
    pieces.append(linebreaksbr(body[last:], autoescape=True))
    return format_html("".join(["{}"] * len(pieces)), *pieces)


@register.filter
def kind_label(kind: str) -> str:
    """A notification kind as people read it: ``incident_reported`` as ``Incident reported``
    (the kinds are the template names of ``templates/notifications/``, snake case)."""
    return kind.replace("_", " ").capitalize()
