"""Per-object loaders of the portal core: what the user may not see is a 404, never a 403."""

from django.shortcuts import get_object_or_404

from portal.models import Notification
from portal.selectors import notification_list_for


def get_notification_for_user(user, pk) -> Notification:
    return get_object_or_404(notification_list_for(user), pk=pk)
