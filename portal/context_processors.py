from django.utils.functional import SimpleLazyObject

from portal import roles as portal_roles
from portal.selectors import unread_notification_count


def roles(request):
    """Which role-specific navigation a page shows (the views still check every action)."""
    user = getattr(request, "user", None)
    return {
        "is_compliance": portal_roles.is_compliance(user),
        "is_legal": portal_roles.is_legal(user),
    }


def notifications(request):
    """The unread count for the bell: one query, and only when a page shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread_notifications": 0}
    return {"unread_notifications": SimpleLazyObject(lambda: unread_notification_count(user))}
