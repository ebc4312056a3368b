"""Reads of the portal core that involve a rule: notifications, the audit log and its
verification."""

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet

from portal import roles
from portal.audit import GENESIS_HASH, HASHED_FIELDS, canonical_values, security_event
from portal.models import AuditChainHead, AuditEvent, Notification, User
from portal.site_calendar import start_of_day


def notification_list_for(user: User | AnonymousUser | None) -> QuerySet[Notification]:
    """The notifications ``user`` may see: their own, newest first. Nobody reads another's."""
    if user is None or not user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-id")


def notification_undelivered_list_for(user: User) -> QuerySet[Notification]:
    """Notifications whose e-mail has not gone out after at least one attempt: failed for
    good (``failed_at``) or still being retried. Compliance only (everyone else: none),
    failed first, then newest first; recipients joined for the page.

    A row never attempted yet is not undelivered, only queued (at most a sweep age old).
    """
    if not roles.is_compliance(user):
        return Notification.objects.none()
    return (
        Notification.objects.filter(sent_at__isnull=True, attempts__gte=1)
        .select_related("recipient")
        .order_by(F("failed_at").desc(nulls_last=True), "-created_at", "-id")
    )


def unread_notification_count(user: User) -> int:
    """One COUNT query on the (recipient, read_at) index; shown in every page's navigation."""
    return notification_list_for(user).filter(read_at__isnull=True).count()


# --- The audit log as compliance reads it ------------------------------------------------


def audit_event_list_for(
    user: User,
    *,
    actor: str = "",
    action: str = "",
    asset: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[AuditEvent]:
    """The audit events ``user`` may read, filtered, newest first. Only compliance reads
    the audit log; everyone else gets nothing.

    ``actor`` is a username (or ``system``/``anonymous``) as it was when the event was
    written; ``action`` matches the action and its sub-actions (``grant`` finds
    ``grant.create``); ``asset`` is a data asset's id; the dates are whole days in the
    site's time zone, both included.
    """
    if not roles.is_compliance(user):
        return AuditEvent.objects.none()
    events = AuditEvent.objects.all()
    if actor:
        events = events.filter(Q(actor_label__iexact=actor) | Q(actor__username__iexact=actor))
    if action:
        events = events.filter(Q(action=action) | Q(action__startswith=action + "."))
    if asset is not None:
        events = events.filter(asset_id=asset)
    if date_from:
        events = events.filter(created_at__gte=start_of_day(date_from))
    # The last day has no "day after" to count to (9999-12-31 + 1 day overflows); the form
    # keeps people within FILTER_DATE, this keeps any other caller from a server error.
    if date_to and date_to < date.max:
        events = events.filter(created_at__lt=start_of_day(date_to + timedelta(days=1)))
    return events.order_by("-id")


# --- Verification -------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditAnchor:
    """A chain head written outside the database by ``audit_anchor_write``."""

    event_id: int
    hash: str
    anchored_at: str
    file: str


@dataclass(frozen=True)
class AuditVerification:
    ok: bool
    checked: int
    first_bad: int | None = None
    reason: str = ""
    anchors: int = 0
    # The head the walk ended on, when intact: what an anchor may vouch for.
    last_id: int = 0
    last_hash: str = GENESIS_HASH


def audit_anchors(directory: Path | None = None) -> list[AuditAnchor]:
    """Every anchor file in ``AUDIT_ANCHOR_DIR``, oldest first. A file that cannot be read
    raises ``ValueError``: an anchor nobody can check must not pass silently."""
    directory = Path(directory or settings.AUDIT_ANCHOR_DIR)
    anchors = []
    for path in sorted(directory.glob("anchor-*.json")):
        try:
            data = json.loads(path.read_text())
            anchors.append(
                AuditAnchor(
                    event_id=int(data["event_id"]),
                    hash=str(data["hash"]),
                    anchored_at=str(data["anchored_at"]),
                    file=path.name,
                )
            )
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ValueError(f"Anchor file {path} cannot be read: {error}") from error
    return anchors


_ROW_NAMES = ("id", "hash", *HASHED_FIELDS)


def _event_rows(chunk_size: int) -> Iterator[dict]:
    """Every event's hashed values, in id order, streamed: constant memory however long
    the chain is (a server-side cursor on PostgreSQL).

    Raw rows, not the ORM: its per-value converters are two thirds of a verification, and
    they raise on a value a tamperer wrote past them (a month 13 in SQLite's text column),
    where the walk must report the event as altered instead. A value that cannot be decoded
    is handed on as stored; it then no longer matches the event's hash."""
    meta = AuditEvent._meta
    column_of = {field.attname: field.column for field in meta.concrete_fields if field.column}
    columns = []
    for name in _ROW_NAMES:
        column = connection.ops.quote_name(column_of[name])
        if name == "created_at" and connection.vendor == "postgresql":
            # PostgreSQL formats the time exactly as canonical_values does
            # (2026-11-25T12:22:05.000123Z).
            column = f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
        elif name == "created_at":
            # An expression has no declared type, so the driver's own datetime converter
            # (which raises on a month 13) leaves the stored text alone.
            column = f"CAST({column} AS TEXT)"
        columns.append(column)
    sql = f"SELECT {', '.join(columns)} FROM {connection.ops.quote_name(meta.db_table)} ORDER BY id"
    parse_time = connection.vendor != "postgresql"
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql)
        while rows := cursor.fetchmany(chunk_size):
            for row in rows:
                values = dict(zip(_ROW_NAMES, row, strict=True))
                values["detail"] = _decoded_json(values["detail"])
                if parse_time:
                    values["created_at"] = _stored_utc_time(values["created_at"])
                yield values


def _decoded_json(stored: object) -> object:
    if not isinstance(stored, str):
        return stored  # psycopg decodes jsonb itself
    try:
        return json.loads(stored)
    except ValueError:
        return stored


def _stored_utc_time(stored: object) -> object:
    """SQLite's text ``2026-11-25 12:22:05.000123`` (UTC) as an aware datetime, or the text
    itself when it is no time at all."""
    if not isinstance(stored, str):
        return stored
    try:
        return datetime.fromisoformat(stored).replace(tzinfo=UTC)
    except ValueError:
        return stored


def verify_audit(*, anchor_dir: Path | None = None, chunk_size: int = 5000) -> AuditVerification:
    """Is the audit trail intact? The one verification every door calls: ``manage.py
    verify_audit``, ``GET /api/audit/verify/`` and the daily anchor job.

    Returns an ``AuditVerification`` whatever the chain holds (``ok``, ``checked`` events,
    ``first_bad`` event id or ``None``, the ``reason`` in words, the number of ``anchors``);
    tampering is an answer, never an exception. A chain found broken is also a line in the
    security log. Source: the design's append-only, hash-chained audit trail (GDPR
    Art. 5(2) accountability, Art. 32 integrity)."""
    result = _verify_audit_chain(anchor_dir=anchor_dir, chunk_size=chunk_size)
    if not result.ok:
        security_event(
            "audit.verification_failed",
            first_bad=result.first_bad,
            checked=result.checked,
            reason=result.reason,
        )
    return result


def _verify_audit_chain(*, anchor_dir: Path | None, chunk_size: int) -> AuditVerification:
    """Walk the whole chain in id order and say whether it is intact.

    Each event must hash to its stored ``hash`` (nothing altered) and name its predecessor's
    hash as ``previous_hash`` (nothing removed or inserted), the first one the genesis hash;
    the last one must be the chain head; every anchored head must still be in the chain with
    its hash (nothing truncated from the end). ``first_bad`` is the id of the first event
    that fails, or of the missing anchored event.
    """
    try:
        anchors = {anchor.event_id: anchor for anchor in audit_anchors(anchor_dir)}
    except ValueError as error:
        return AuditVerification(ok=False, checked=0, reason=str(error))
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            # One snapshot for the head and every event while writers go on appending (the
            # isolation level can only be set as a transaction's first statement).
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        head = AuditChainHead.objects.filter(pk=1).values_list(
            "last_event_id", "last_hash"
        ).first() or (0, GENESIS_HASH)
        walk = _walk(anchors, chunk_size)
    if not walk.ok:
        # Always the one public result type: the API serialises every field of it (a
        # ``_Walk`` lacks ``anchors`` and answered 500 on exactly the chains it exists for).
        return AuditVerification(
            ok=False,
            checked=walk.checked,
            first_bad=walk.first_bad,
            reason=walk.reason,
            anchors=len(anchors),
        )
    return _check_end(walk, head, anchors)


@dataclass
class _Walk:
    ok: bool
    checked: int
    last_id: int = 0
    last_hash: str = GENESIS_HASH
    seen_anchors: frozenset[int] = frozenset()
    first_bad: int | None = None
    reason: str = ""


def _walk(anchors: dict[int, AuditAnchor], chunk_size: int) -> _Walk:
    sha256 = hashlib.sha256
    expected_previous = GENESIS_HASH
    before_previous = None  # the hash two events back, to recognise an insertion
    previous_id = 0
    checked = 0
    seen_anchors = set()
    for values in _event_rows(chunk_size):
        event_id, stored_hash = values["id"], values["hash"]
        checked += 1
        if values["previous_hash"] != expected_previous:
            if before_previous is not None and values["previous_hash"] == before_previous:
                return _Walk(
                    ok=False,
                    checked=checked,
                    first_bad=previous_id,
                    reason=f"Event #{previous_id} was inserted: #{event_id} chains to the "
                    "event before it.",
                )
            if previous_id:
                reason = (
                    f"Event #{event_id} does not chain to #{previous_id}: events were removed "
                    f"after #{previous_id}, or #{previous_id} was rewritten with a new hash."
                )
            else:
                reason = f"Event #{event_id} does not start the chain: earlier events were removed."
            return _Walk(ok=False, checked=checked, first_bad=event_id, reason=reason)
        if sha256(canonical_values(values).encode()).hexdigest() != stored_hash:
            return _Walk(
                ok=False,
                checked=checked,
                first_bad=event_id,
                reason=f"Event #{event_id} was altered: its content no longer matches its hash.",
            )
        anchor = anchors.get(event_id)
        if anchor is not None:
            if anchor.hash != stored_hash:
                return _Walk(
                    ok=False,
                    checked=checked,
                    first_bad=event_id,
                    reason=f"Event #{event_id} differs from the anchor of {anchor.anchored_at} "
                    f"({anchor.file}): the chain was rewritten from there.",
                )
            seen_anchors.add(event_id)
        before_previous, expected_previous, previous_id = expected_previous, stored_hash, event_id
    return _Walk(
        ok=True,
        checked=checked,
        last_id=previous_id,
        last_hash=expected_previous,
        seen_anchors=frozenset(seen_anchors),
    )


def _check_end(walk: _Walk, head: tuple[int, str], anchors: dict) -> AuditVerification:
    missing = sorted(set(anchors) - walk.seen_anchors)
    if missing:
        anchor = anchors[missing[0]]
        if anchor.event_id > walk.last_id:
            reason = (
                f"Events after #{walk.last_id} were removed: the anchor of {anchor.anchored_at} "
                f"({anchor.file}) names #{anchor.event_id}, which is gone."
            )
        else:
            reason = f"Anchored event #{anchor.event_id} ({anchor.file}) is no longer in the chain."
        return AuditVerification(
            ok=False,
            checked=walk.checked,
            first_bad=anchor.event_id,
            reason=reason,
            anchors=len(anchors),
        )
    head_id, head_hash = head
    if (head_id, head_hash) != (walk.last_id, walk.last_hash):
        if head_id > walk.last_id:
            first_bad = head_id
            reason = f"Events after #{walk.last_id} were removed: the chain head names #{head_id}."
        else:
            first_bad = walk.last_id
            reason = (
                f"The chain ends at #{walk.last_id} but its head names #{head_id}: events were "
                "written outside audit_record."
            )
        return AuditVerification(
            ok=False,
            checked=walk.checked,
            first_bad=first_bad,
            reason=reason,
            anchors=len(anchors),
        )
    return AuditVerification(
        ok=True,
        checked=walk.checked,
        anchors=len(anchors),
        last_id=walk.last_id,
        last_hash=walk.last_hash,
    )
