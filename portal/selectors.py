"""Reads of the portal core that involve a rule."""

from django.db.models import QuerySet

from portal.models import Notification


def notification_list_for(user) -> QuerySet[Notification]:
    """The notifications ``user`` may see: their own, newest first. Nobody reads another's."""
    if user is None or not user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-id")


def unread_notification_count(user) -> int:
    """One COUNT query on the (recipient, read_at) index; shown in every page's navigation."""
    return notification_list_for(user).filter(read_at__isnull=True).count()
