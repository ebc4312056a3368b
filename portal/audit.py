"""The audit trail: ``audit_record`` appends one append-only ``AuditEvent``, sealed later.

Call it inside the transaction of the change it records, so the change and its trace
commit together or not at all. Request details (channel, request id, IP, API token) come
from ``AuditContextMiddleware``; commands and tasks set their channel with
``audit_channel``.
"""

import functools
import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii
from typing import Any

import structlog
from celery import current_app
from django.contrib.auth.models import AnonymousUser
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from portal.audit_actions import AuditAction
from portal.models import AuditChannel, AuditEvent, User

GENESIS_HASH = "0" * 64

# The request being served, with the ``audit_request_id`` the middleware below adds (an
# attribute ``HttpRequest`` does not declare, hence ``Any``).
_request: ContextVar[Any] = ContextVar("audit_request", default=None)
_channel: ContextVar[str] = ContextVar("audit_channel", default=AuditChannel.COMMAND)
_identity_withheld = ContextVar("audit_identity_withheld", default=False)


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

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> HttpResponse:
        header = request.headers.get("X-Request-ID", "")
        request.audit_request_id = header[:64] if header.isprintable() and header else ""
        request.audit_request_id = request.audit_request_id or uuid.uuid4().hex
        # One id for the request everywhere: audit rows, the security log, the JSON log
        # lines and the tasks it queues (django-structlog bound its own id before this).
        structlog.contextvars.bind_contextvars(request_id=request.audit_request_id)
        token = _request.set(request)
        try:
            response = self.get_response(request)
        finally:
            _request.reset(token)
        response["X-Request-ID"] = request.audit_request_id
        return response


def token_fingerprint(key: str) -> str:
    """The first 12 hex digits of SHA-256 over an API token's key: names the token in the
    audit trail and the admin's list without revealing it. Empty for no key."""
    return hashlib.sha256(key.encode()).hexdigest()[:12] if key else ""


@contextmanager
def identity_withheld() -> Iterator[None]:
    """Inside, nothing written is tied to the person making the request.

    For a confidential report (``incidents.services.reports.incident_report``): its audit events get
    no actor, address, request id or token fingerprint, and a time cut to the minute
    (``audit_record``); the history rows written meanwhile (the incident's, its timeline's,
    the notifications') get no user, as simple-history would otherwise take the request's;
    security log lines name nobody and no address; ``current_user`` is ``None``. Each of
    these would match the same person's named events and undo the confidentiality the
    reporter asked for (design.md: then only compliance and legal see who reported).
    """
    token = _identity_withheld.set(True)
    context = HistoricalRecords.context
    had_request = hasattr(context, "request")
    history_request = getattr(context, "request", None)
    if had_request:
        del context.request
    try:
        yield
    finally:
        _identity_withheld.reset(token)
        if had_request:
            context.request = history_request


def withheld_identity_when(flag: str) -> Callable:
    """Decorator of a service: runs it inside ``identity_withheld`` when its keyword
    argument ``flag`` is true (``confidential_reporter`` of an incident report)."""

    def decorate(service: Callable) -> Callable:
        @functools.wraps(service)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with identity_withheld() if kwargs.get(flag) else nullcontext():
                return service(*args, **kwargs)

        return wrapper

    return decorate


def _request_details() -> dict:
    request = _request.get()
    if request is None:
        return {"channel": _channel.get(), "request_id": "", "ip": None, "token_id": ""}
    channel = AuditChannel.API if request.path.startswith("/api/") else AuditChannel.WEB
    if request.path.startswith("/scim/"):
        channel = AuditChannel.SCIM
    if _identity_withheld.get():
        # The channel stays: web or API is shared by everyone and says nothing of who.
        return {"channel": channel, "request_id": "", "ip": None, "token_id": ""}
    return {
        "channel": channel,
        "request_id": request.audit_request_id,
        "ip": request.META.get("REMOTE_ADDR") or None,
        # Never the token itself: a fingerprint that identifies it in the admin's list.
        "token_id": token_fingerprint(getattr(getattr(request, "auth", None), "key", "")),
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


# One encoder for every event: building it per call costs as much as the hashing.
canonical_json = _encode = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), default=str
).encode
# The canonical text's template per tuple of field names: the names sorted as the encoder
# sorts keys, each followed by its value's JSON text.
_templates: dict[tuple[str, ...], tuple[tuple[str, ...], str]] = {}


def json_text(value: object) -> str:
    """``value`` as the canonical encoder writes it inside an object: the common kinds
    (text, none, whole numbers) without the encoder's per-call set-up, everything else by
    it. Equal to ``_encode(value)`` for every value."""
    if isinstance(value, str):
        return encode_basestring_ascii(value)
    if value is None:
        return "null"
    if type(value) is int:  # not a bool, which JSON writes as true or false
        return int.__repr__(value)
    return _encode(value)


def canonical_template(fields: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """The names of ``fields`` sorted as the canonical encoder sorts keys, and the
    ``%``-template of the canonical text with one ``%s`` per value in that order."""
    try:
        return _templates[fields]
    except KeyError:
        order = tuple(sorted(fields))
        names = (encode_basestring_ascii(name).replace("%", "%%") for name in order)
        template = "{" + ",".join(f"{name}:%s" for name in names) + "}"
        _templates[fields] = order, template
        return order, template


def canonical_values(values: Mapping, fields: tuple[str, ...] = HASHED_FIELDS) -> str:
    """The exact text that is hashed, from a mapping holding every name in ``fields``:
    the JSON object of those names, keys sorted, no spaces, non-ASCII escaped, times as
    UTC with microseconds (``2026-11-25T12:22:05.000123Z``). Byte for byte what
    ``json.dumps(..., sort_keys=True, separators=(",", ":"), default=str)`` writes for
    the same mapping, its time formatted first (a test holds it to that); built from a
    template, which halves its time, paid once per event by the sealer and the
    verification."""
    order, template = canonical_template(fields)
    texts = [json_text(values[name]) for name in order]
    created_at = values["created_at"]
    if isinstance(created_at, datetime):
        # 2026-11-25T12:22:05.000123Z (isoformat is several times faster than strftime).
        text = created_at.astimezone(UTC).isoformat(timespec="microseconds")
        texts[order.index("created_at")] = '"' + text.removesuffix("+00:00") + 'Z"'
    return template % tuple(texts)


def _action_value(action: AuditAction | str) -> str:
    """The stored value of ``action``; ``ValueError`` when it is not an ``AuditAction``."""
    try:
        return AuditAction(action).value
    except ValueError:
        raise ValueError(
            f"{action!r} is not an audit action: add it to portal.audit_actions.AuditAction."
        ) from None


def current_user() -> User | None:
    """The signed-in user of the request being served, or ``None`` (commands, tasks).

    For the few events written from signal receivers, which are not handed an actor.
    ``None`` while the identity is withheld (``identity_withheld``)."""
    if _identity_withheld.get():
        return None
    request = _request.get()
    user = getattr(request, "user", None)
    return user if getattr(user, "is_authenticated", False) else None


def _describe_target(target: object) -> tuple[str, str, str]:
    if target is None:
        return "", "", ""
    if isinstance(target, models.Model):
        meta = target._meta
        return f"{meta.app_label}.{meta.model_name}", str(target.pk), str(target)[:255]
    raise TypeError("An audit target is a model instance or None.")


def audit_record(
    *,
    actor: User | None,
    action: AuditAction,
    target: models.Model | None = None,
    asset_id: int | None = None,
    detail: dict | None = None,
    channel: str | None = None,
    actor_label: str | None = None,
) -> AuditEvent:
    """Append one event to the log, in the caller's transaction.

    A plain INSERT: no row is locked and no chain is computed here, so writers never wait
    for one another (a transaction that stays open delays nobody). The sealer
    (``portal.audit_seal.seal_pending``) later gives the committed event its position and
    keyed link; until then its ``position`` and ``hash`` are empty.

    ``actor`` is the user who acted, or ``None`` for the system (``actor_label`` names who
    else, e.g. ``anonymous`` for a failed login). ``detail`` must be small and
    JSON-serialisable; it must never hold a password, a token or customer records.
    Inside ``identity_withheld`` the event has no actor (label ``confidential``), no
    request details, and its time is cut to the minute. ``action`` is a member (or the
    value) of ``AuditAction``; anything else raises ``ValueError`` before anything is
    written, so the list of actions stays the whole list.
    """
    action_value = _action_value(action)

    target_type, target_id, target_label = _describe_target(target)
    if asset_id is None and target_type == "customers.dataasset":
        asset_id = int(target_id)
    details = _request_details()
    if channel:
        details["channel"] = channel
    user = actor if getattr(actor, "is_authenticated", False) else None
    created_at = timezone.now()
    if _identity_withheld.get():
        # No actor, and the time to the minute: the chain needs a time, compliance's filters
        # and clocks need no more than the minute, and an exact instant would be matched to
        # the same person's events and requests (their logins, the web server's log).
        user, actor_label = None, actor_label or "confidential"
        created_at = created_at.replace(second=0, microsecond=0)
    detail_text = json.dumps(detail or {}, default=str)
    values = {
        "created_at": created_at,
        "actor_id": user.pk if user else None,
        "actor_label": user.get_username() if user else (actor_label or "system"),
        "action": action_value,
        "target_type": target_type,
        "target_id": target_id,
        "target_label": target_label,
        "asset_id": asset_id,
        "detail": detail_text,
        **details,
    }
    event = _insert(values)
    event.detail = json.loads(detail_text)  # as stored: tuples are lists, times are text
    if user:
        AuditEvent.actor.field.set_cached_value(event, user)
    return event


# The columns ``audit_record`` writes; the seal columns stay empty (``previous_hash`` and
# ``key_id`` are filled by the sealer too, their columns take no NULL).
_INSERTED = (
    "created_at", "actor_id", "actor_label", "action", "target_type", "target_id",
    "target_label", "asset_id", "detail", "channel", "request_id", "ip", "token_id",
)  # fmt: skip
_insert_sql: dict[str, str] = {}


def _insert(values: dict) -> AuditEvent:
    """One INSERT of an unsealed event through Django's cursor (so query counts and the
    debug log see it), its SQL built once: the ORM's per-save compilation, model set-up
    and signals cost more than the INSERT itself, and a request pays for them on every
    audited change (docs/audit-trail.md, benchmark)."""
    db = connections[DEFAULT_DB_ALIAS]  # looked up once: each proxy access costs a lookup
    ops, returning = db.ops, db.features.can_return_columns_from_insert
    sql = _insert_sql.get(db.vendor)
    if sql is None:
        columns = ", ".join(ops.quote_name(name) for name in _INSERTED)
        json_mark = "%s::jsonb" if db.vendor == "postgresql" else "%s"
        marks = ", ".join(json_mark if name == "detail" else "%s" for name in _INSERTED)
        table = ops.quote_name(AuditEvent._meta.db_table)
        sql = f"INSERT INTO {table} ({columns}, previous_hash, key_id) VALUES ({marks}, '', '')"
        sql = _insert_sql[db.vendor] = sql + (" RETURNING id" if returning else "")
    params = {**values, "created_at": ops.adapt_datetimefield_value(values["created_at"])}
    params["ip"] = ops.adapt_ipaddressfield_value(values["ip"])
    with db.cursor() as cursor:
        cursor.execute(sql, [params[name] for name in _INSERTED])
        if returning:
            pk = cursor.fetchone()[0]
        else:
            pk = ops.last_insert_id(cursor, AuditEvent._meta.db_table, "id")
    row = {**values, "id": pk, "previous_hash": "", "hash": None, "position": None, "key_id": ""}
    return AuditEvent.from_db(db.alias, _ATTNAMES, [row[name] for name in _ATTNAMES])


_ATTNAMES = [field.attname for field in AuditEvent._meta.concrete_fields]


# --- The security log -----------------------------------------------------------------------

security_log = logging.getLogger("portal.security")
logger = logging.getLogger(__name__)

# Whatever a caller passes, these never reach the log: a field whose name holds one of these
# words is dropped, so a careless ``security_event(..., password=...)`` logs nothing secret.
_SECRET_WORDS = ("password", "token", "secret", "key", "otp", "code", "credential")


def security_event(
    event: str, *, user: User | AnonymousUser | None = None, username: str = "", **fields: object
) -> None:
    """One line in the ``portal.security`` log: the event, who, from where, and ``fields``.

    For what an operator watches for (lockouts, failed second factors, refusals of objects
    that exist, a broken audit chain). Fields named like a secret are dropped, values are
    cut to 200 characters; the request's id and IP come from ``AuditContextMiddleware``.
    """
    request = _request.get()
    name = user.get_username() if user is not None and user.is_authenticated else username
    if _identity_withheld.get():
        request, name = None, ""
    safe = {
        key: str(value)[:200]
        for key, value in fields.items()
        if not any(word in key.lower() for word in _SECRET_WORDS)
    }
    context = {
        "user": name or "anonymous",
        "ip": request.META.get("REMOTE_ADDR", "") if request is not None else "",
        "request_id": getattr(request, "audit_request_id", ""),
        **safe,
    }
    security_log.warning(
        "%s %s", event, " ".join(f"{key}={value!r}" for key, value in context.items())
    )


# The misuse signals' evaluation (incidents), named rather than imported: the core and the
# apps that refuse requests stand below incidents.
MISUSE_SIGNALS_TASK = "incidents.tasks.evaluate_misuse_signals"


def misuse_signals_evaluate_soon() -> None:
    """Queue the misuse signals' evaluation once the current transaction commits (at once
    outside one), so a refusal that completes a pattern raises its alert within seconds
    instead of at the next beat run. A broker that is down is logged, never raised: the
    refusal stands and the beat job reads the event later."""

    def queue() -> None:
        try:
            current_app.tasks[MISUSE_SIGNALS_TASK].delay()
        except Exception as error:  # noqa: BLE001 - any broker failure: the beat job catches up
            logger.warning("Could not queue the misuse signals' evaluation: %s", error)

    transaction.on_commit(queue)
