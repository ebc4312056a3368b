"""Serializers of the portal core: input shape and field validation only."""

from rest_framework import serializers

from portal.models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    unread = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "subject",
            "body",
            "link",
            "target_type",
            "target_id",
            "created_at",
            "read_at",
            "unread",
            "sent_at",
        ]
        read_only_fields = fields

    def get_unread(self, notification: Notification) -> bool:
        return notification.read_at is None
