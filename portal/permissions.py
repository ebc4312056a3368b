"""Per-object loaders and page checks of the portal core: what a user may not see is a
404, never a 403."""

from django.http import Http404
from django.shortcuts import get_object_or_404

from portal import roles
from portal.models import Notification
from portal.selectors import notification_list_for, notification_undelivered_list_for


def get_notification_for_user(user, pk) -> Notification:
    return get_object_or_404(notification_list_for(user), pk=pk)


def get_undelivered_notification_for_user(user, pk) -> Notification:
    """A notification on the page of undelivered ones: compliance only, 404 otherwise."""
    return get_object_or_404(notification_undelivered_list_for(user), pk=pk)


def check_compliance_page(user) -> None:
    """Pages and endpoints that exist for compliance only (undelivered notifications, the
    customer search, a customer's footprint, every grant, the lawful bases): raise
    ``Http404`` for anyone else, to whom they do not exist."""
    if not roles.is_compliance(user):
        raise Http404


def check_audit_log_reader(user) -> None:
    """Only compliance reads the audit log; to everyone else it does not exist."""
    check_compliance_page(user)
