"""The JSON API of the inbox: ``GET /api/notifications/``, ``POST .../{id}/read/``.

Not in ``portal.api``: that module is imported by DRF's settings (pagination, errors), and
a viewset defined there would import it back while it loads.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from portal.notifications import notification_mark_all_read, notification_mark_read
from portal.permissions import get_notification_for_user
from portal.selectors import notification_list_for
from portal.serializers import NotificationSerializer


class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's own notifications, newest first; anyone else's id is a 404."""

    serializer_class = NotificationSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        notifications = notification_list_for(self.request.user)
        if self.request.query_params.get("unread") in {"1", "true", "yes"}:
            notifications = notifications.filter(read_at__isnull=True)
        return notifications

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "unread",
                OpenApiTypes.STR,
                enum=["1"],
                description="Unread only",  # i18n: not shown (schema)
            )
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=None, responses=NotificationSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notification = get_notification_for_user(request.user, pk)
        notification = notification_mark_read(actor=request.user, notification=notification)
        return Response(NotificationSerializer(notification).data)

    @extend_schema(request=None, responses={200: {"type": "object"}})
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        return Response({"marked_read": notification_mark_all_read(actor=request.user)})
