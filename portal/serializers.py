"""Serializers of the portal core: input shape and field validation only; and the plain
writers the API lists use where DRF's field-by-field walk cost more than the page's query."""

from collections.abc import Iterable
from datetime import datetime, tzinfo
from typing import Any

from rest_framework import serializers

from portal.approval_rows import StepRow
from portal.input_limits import ID_MAX
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
    approver = serializers.CharField(source="approver.username", default=None, allow_null=True)
    decided_by = serializers.CharField(source="decided_by.username", default=None, allow_null=True)
    decided_at = serializers.DateTimeField()
    reason = serializers.CharField()
    requirement = serializers.CharField()
    inputs = serializers.DictField()


# DRF's own writing of a moment, for the one case the lists' writers leave to it.
DATETIME_FIELD = serializers.DateTimeField()


def api_datetime(moment: datetime | None, zone: tzinfo) -> str | None:
    """``moment`` as DRF's ``DateTimeField`` writes it in ``zone`` (pass the active zone):
    ISO 8601 with its offset, ``Z`` for UTC; ``None`` for no moment. A moment the zone
    cannot hold raises DRF's ``ValidationError`` ("Datetime value out of range."), as the
    serializer's field does: the API's error handler answers it for list and detail alike."""
    if not moment:
        return None
    try:
        text = moment.astimezone(zone).isoformat()
    except OverflowError:
        # A moment the zone cannot hold (year 1 west of UTC): DRF's field raises the error
        # it answers for it ("Datetime value out of range.").
        return DATETIME_FIELD.to_representation(moment)
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def step_list_data(steps: Iterable[StepRow], zone: tzinfo) -> list[dict[str, Any]]:
    """What ``StepSerializer`` writes for each of ``steps`` (a chain's ``StepRows``, in
    order), with times in ``zone`` (pass the active zone): the same keys in the same order
    and the same values, written from the plain rows without DRF's field-by-field walk.
    Raises only what ``api_datetime`` raises."""
    return [
        {
            "position": step.position,
            "role": step.role,
            "status": step.status,
            "replaces_owner": step.replaces_owner,
            "approver": step.approver.username if step.approver else None,
            "decided_by": step.decided_by.username if step.decided_by else None,
            "decided_at": api_datetime(step.decided_at, zone),
            "reason": step.reason,
            "requirement": step.requirement,
            "inputs": {str(key): value for key, value in step.inputs.items()},
        }
        for step in steps
    ]


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


class IdField(serializers.IntegerField):
    """A row's id in a request body: a whole number from 1 to ``ID_MAX`` (the largest a
    bigint key holds), refused with a 400 naming the field otherwise. A larger number names
    no row, and SQLite cannot even compare it (``OverflowError`` from ``pk__in``: a server
    error on the demo)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", ID_MAX)
        super().__init__(**kwargs)
