"""The audit trail: ``audit_record`` writes one chained, append-only ``AuditEvent``.

Call it inside the transaction of the change it records, so the change and its trace
commit together or not at all. Request details (channel, request id, IP, API token) come
from ``AuditContextMiddleware``; commands and tasks set their channel with
``audit_channel``.
"""

import hashlib
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

from portal.models import AuditChainHead, AuditChannel, AuditEvent

GENESIS_HASH = "0" * 64

_request = ContextVar("audit_request", default=None)
_channel = ContextVar("audit_channel", default=AuditChannel.COMMAND)


@contextmanager
def audit_channel(channel: str) -> Iterator[None]:
    """Events recorded inside carry ``channel`` (``command`` or ``task``)."""
    token = _channel.set(channel)
    try:
        yield
    finally:
        _channel.reset(token)


class AuditContextMiddleware:
    """Makes the request's id, IP and API token known to ``audit_record``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        header = request.headers.get("X-Request-ID", "")
        request.audit_request_id = header[:64] if header.isprintable() and header else ""
        request.audit_request_id = request.audit_request_id or uuid.uuid4().hex
        token = _request.set(request)
        try:
            response = self.get_response(request)
        finally:
            _request.reset(token)
        response["X-Request-ID"] = request.audit_request_id
        return response


def _request_details() -> dict:
    request = _request.get()
    if request is None:
        return {"channel": _channel.get(), "request_id": "", "ip": None, "token_id": ""}
    auth = getattr(request, "auth", None)
    key = getattr(auth, "key", "")
    return {
        "channel": AuditChannel.API if request.path.startswith("/api/") else AuditChannel.WEB,
        "request_id": request.audit_request_id,
        "ip": request.META.get("REMOTE_ADDR") or None,
        # Never the token itself: a fingerprint that identifies it in the admin's list.
        "token_id": hashlib.sha256(key.encode()).hexdigest()[:12] if key else "",
    }


HASHED_FIELDS = (
    "created_at",
    "actor_id",
    "actor_label",
    "action",
    "target_type",
    "target_id",
    "target_label",
    "asset_id",
    "detail",
    "channel",
    "request_id",
    "ip",
    "token_id",
    "previous_hash",
)


def canonical_content(event: AuditEvent) -> str:
    """The exact text that is hashed: sorted keys, no spaces, UTC microsecond times."""
    values = {}
    for name in HASHED_FIELDS:
        value = getattr(event, name)
        if isinstance(value, datetime):
            value = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        values[name] = value
    return json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)


def compute_hash(event: AuditEvent) -> str:
    return hashlib.sha256(canonical_content(event).encode()).hexdigest()


def _describe_target(target) -> tuple[str, str, str]:
    if target is None:
        return "", "", ""
    if isinstance(target, models.Model):
        meta = target._meta
        return f"{meta.app_label}.{meta.model_name}", str(target.pk), str(target)[:255]
    raise TypeError("An audit target is a model instance or None.")


@transaction.atomic
def audit_record(
    *,
    actor,
    action: str,
    target=None,
    asset_id: int | None = None,
    detail: dict | None = None,
    channel: str | None = None,
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction.

    ``actor`` is the user who acted, or ``None`` for the system. ``detail`` must be small
    and JSON-serialisable; it must never hold a password, a token or customer records.
    """
    # Serialise writers on the head row: two transactions appending at once would both
    # chain to the same predecessor and fork the chain.
    AuditChainHead.objects.get_or_create(pk=1)
    AuditChainHead.objects.filter(pk=1).update(last_event_id=F("last_event_id"))
    head = AuditChainHead.objects.get(pk=1)

    target_type, target_id, target_label = _describe_target(target)
    if asset_id is None and target_type == "customers.dataasset":
        asset_id = int(target_id)
    details = _request_details()
    if channel:
        details["channel"] = channel
    user = actor if getattr(actor, "is_authenticated", False) else None
    event = AuditEvent(
        created_at=timezone.now(),
        actor=user,
        actor_label=user.get_username() if user else "system",
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_label=target_label,
        asset_id=asset_id,
        detail=json.loads(json.dumps(detail or {}, default=str)),
        previous_hash=head.last_hash,
        **details,
    )
    event.hash = compute_hash(event)
    event.save(force_insert=True)
    AuditChainHead.objects.filter(pk=1).update(last_event_id=event.pk, last_hash=event.hash)
    return event
