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


# The approval engine's shapes, shared by every kind of request (access, sharing).


class StepSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    role = serializers.CharField()
    status = serializers.CharField()
    replaces_owner = serializers.BooleanField()
    approver = serializers.CharField(source="approver.username", default=None)
    decided_by = serializers.CharField(source="decided_by.username", default=None)
    decided_at = serializers.DateTimeField()
    reason = serializers.CharField()
    requirement = serializers.CharField()
    inputs = serializers.DictField()


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class KeyRelatedField(serializers.SlugRelatedField):
    """A related object named by a key or username. Text holding a NUL character is refused
    as unknown: PostgreSQL can neither store nor compare it, so the lookup would fail with a
    server error instead of a 400."""

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data.replace("\x00", ""))
        return super().to_internal_value(data)
