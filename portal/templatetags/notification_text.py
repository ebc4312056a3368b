"""Filters for notification pages (``templates/portal/notification_list.html``).

Dates, times and numbers in notification texts need no filter of their own: the portal's
named formats (``|date:"DATETIME_FORMAT"``, ``|date:"DATE_FORMAT"``) and grouped numbers,
rendered in each recipient's zone (``portal.notifications.notification_texts``)."""

from django import template
from django.template.defaultfilters import linebreaksbr
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

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


# Each kind of ``templates/notifications/`` as people read it, in their language.
KIND_LABELS = {
    "access_review_reminder": _("Access review reminder"),
    "access_review_started": _("Access review started"),
    "approval_needed": _("Approval needed"),
    "asset_owner_changed": _("Asset owner changed"),
    "audit_anchor": _("Audit anchor"),
    "erasure_task": _("Erasure task"),
    "grant_created": _("Grant created"),
    "grant_expired": _("Grant expired"),
    "grant_expiring": _("Grant expiring"),
    "grant_revoked": _("Grant revoked"),
    "incident_acknowledged": _("Incident acknowledged"),
    "incident_assigned": _("Incident assigned"),
    "incident_closed": _("Incident closed"),
    "incident_deadline_overdue": _("Incident deadline overdue"),
    "incident_deadline_reminder": _("Incident deadline reminder"),
    "incident_escalated": _("Incident escalated"),
    "incident_no_risk_proposed": _("Incident no risk proposed"),
    "incident_reported": _("Incident reported"),
    "notification_undelivered": _("Notification undelivered"),
    "request_decided": _("Request decided"),
    "request_progress": _("Request progress"),
    "retention_past": _("Retention past"),
    "sharing_deletion_confirmed": _("Sharing deletion confirmed"),
    "sharing_deletion_due": _("Sharing deletion due"),
    "sharing_package_ready": _("Sharing package ready"),
    "sharing_withdrawal": _("Sharing withdrawal"),
    "subject_request_closed": _("Subject request closed"),
    "subject_request_due_in_2": _("Subject request due in 2 days"),
    "subject_request_due_in_7": _("Subject request due in 7 days"),
    "subject_request_overdue": _("Subject request overdue"),
}


@register.filter
def kind_label(kind: str) -> str:
    """A notification kind as people read it: ``incident_reported`` as ``Incident reported``
    (``KIND_LABELS``; a kind not listed there reads as its snake-case name made words)."""
    label = KIND_LABELS.get(kind)
    return str(label) if label is not None else kind.replace("_", " ").capitalize()
