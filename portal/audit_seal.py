"""The audit log's sealer: gives committed events their position and keyed link.

``audit_record`` only inserts; ``seal_pending`` (the beat task ``portal.tasks.audit_seal``,
every second) takes the committed, unsealed events in id order and gives each its
``position`` (1, 2, 3, ... with no gap) and its link: HMAC-SHA-256, with a key that is not
in the database (``AUDIT_KEYS``), over its canonical content, its id, position, key id and
the link before it (``previous_hash``). One sealer at a time: a PostgreSQL advisory lock.
After each batch the head (position, link, time) is appended to the day's heads file in
``AUDIT_ANCHOR_DIR`` (``portal.audit_heads``), outside the database, so a truncated tail
cannot go unnoticed.
"""

import hashlib
import hmac
import json
import queue
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from portal.audit import (
    HASHED_FIELDS,
    canonical_json,
    canonical_template,
    canonical_values,
    json_text,
)
from portal.audit_heads import append_head
from portal.models import AuditChainHead, AuditEvent

# What the link covers: the content, where the event sits, and which key sealed it.
LINKED_FIELDS = ("id", "position", "key_id", *HASHED_FIELDS)
ROW_NAMES = ("id", "position", "key_id", "hash", *HASHED_FIELDS)
DEVELOPMENT_KEY_ID = "dev"
# Any constant shared by every sealer: pg_try_advisory_xact_lock's key ("audit" in ASCII).
_SEALER_LOCK = 0x6175646974


class AuditKeyError(ValueError):
    """``AUDIT_KEYS`` is missing or malformed."""


def audit_keys() -> tuple[str, dict[str, bytes]]:
    """The current key id (the first in ``AUDIT_KEYS``) and every key by id.

    ``AUDIT_KEYS`` is ``id:secret[,id:secret...]``: the first seals new events, the others
    still verify events sealed before a rotation. Raises ``AuditKeyError`` when it is empty
    or an entry has no id or secret."""
    keys: dict[str, bytes] = {}
    for entry in str(settings.AUDIT_KEYS).split(","):
        key_id, _, secret = entry.strip().partition(":")
        if not key_id or not secret or len(key_id) > 32:
            raise AuditKeyError(
                "AUDIT_KEYS must be 'id:secret[,id:secret...]' (ids up to 32 characters): "
                "the audit log cannot be sealed or verified without it."
            )
        keys[key_id] = secret.encode()
    return next(iter(keys)), keys


def link_of(values: Mapping, key: bytes) -> str:
    """The keyed link of an event given as a mapping holding every name in
    ``LINKED_FIELDS`` (``previous_hash`` being the link before it): hex HMAC-SHA-256."""
    content = canonical_values(values, LINKED_FIELDS).encode()
    return hmac.new(key, content, hashlib.sha256).hexdigest()


def event_link(event: AuditEvent) -> str:
    """The link ``event`` (sealed) should carry, with the key its ``key_id`` names."""
    _, keys = audit_keys()
    return link_of({name: getattr(event, name) for name in LINKED_FIELDS}, keys[event.key_id])


# Where each value sits in the rows ``event_rows`` yields (``ROW_NAMES`` order).
ID, POSITION, KEY_ID, HASH = range(4)
PREVIOUS_HASH = ROW_NAMES.index("previous_hash")
# Columns that are text and never NULL: encoded by the json module's own C function.
_TEXT_COLUMNS = {
    "key_id", "created_at", "actor_label", "action", "target_type", "target_id",
    "target_label", "channel", "request_id", "token_id", "previous_hash",
}  # fmt: skip


def _column_encoder(name: str) -> Callable[[Any], str]:
    if name in _TEXT_COLUMNS:
        return encode_basestring_ascii
    if name in ("id", "position"):
        return int.__repr__
    if name == "detail":
        return canonical_json
    return json_text


class RowLinker:
    """Links of events given as rows (``ROW_NAMES`` order), for the sealer and the
    verification, which compute one per event: the canonical text straight from the
    row's columns, each by the encoder its column type allows, and the HMAC from a copy
    of the key's prepared state. Byte for byte ``link_of`` of the same values (a test holds
    it to that); a value of an unexpected type (a tampered SQLite cell) takes
    ``link_of``'s own way."""

    def __init__(self, keys: Mapping[str, bytes]) -> None:
        self.states = {
            key_id: hmac.new(key, digestmod=hashlib.sha256) for key_id, key in keys.items()
        }
        order, self.template = canonical_template(LINKED_FIELDS)
        self.plan = [(_column_encoder(name), ROW_NAMES.index(name)) for name in order]

    def link(self, row: Sequence) -> str:
        """Hex HMAC-SHA-256 of ``row`` under the key its ``key_id`` names (``KeyError``
        when ``AUDIT_KEYS`` does not hold it)."""
        state = self.states[row[KEY_ID]].copy()
        try:
            text = self.template % tuple([encode(row[index]) for encode, index in self.plan])
        except TypeError:
            text = canonical_values(dict(zip(ROW_NAMES, row, strict=True)), LINKED_FIELDS)
        state.update(text.encode())
        return state.hexdigest()


def event_rows(
    where: str = "", params: tuple = (), *, order: str, chunk_size: int = 5000
) -> Iterator[tuple]:
    """Events' raw values as tuples in ``ROW_NAMES`` order, ``detail`` decoded, streamed
    in ``order`` with a server-side cursor on PostgreSQL: constant memory however long
    the log is.

    Raw rows, not the ORM: its per-value converters are two thirds of a verification, and
    they raise on a value a tamperer wrote past them (a month 13 in SQLite's text column),
    where the walk must report the event as altered instead. A value that cannot be decoded
    is handed on as stored; it then no longer matches the event's link."""
    sql = _rows_sql(where, order)
    parse_time = connection.vendor != "postgresql"
    detail = ROW_NAMES.index("detail")
    created_at = ROW_NAMES.index("created_at")
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        chunks = (
            _fetched_ahead(cursor, chunk_size) if not parse_time else _fetched(cursor, chunk_size)
        )
        for rows in chunks:
            for row in rows:
                values = list(row)
                values[detail] = _decoded_json(values[detail])
                if parse_time:
                    values[created_at] = _stored_utc_time(values[created_at])
                yield tuple(values)


def _fetched(cursor: Any, chunk_size: int) -> Iterator[list]:
    while rows := cursor.fetchmany(chunk_size):
        yield rows


def _fetched_ahead(cursor: Any, chunk_size: int) -> Iterator[list]:
    """The cursor's rows a chunk at a time, the next chunk fetched by a thread while the
    caller works on this one: PostgreSQL reads and sends a chunk while Python checks the
    last, a third off a verification on two cores. The caller uses the connection for
    nothing else meanwhile; a database error reaches the caller; leaving early stops the
    thread before the cursor closes."""
    ahead: queue.Queue = queue.Queue(maxsize=1)
    done = threading.Event()

    def hand_over(item: object) -> None:
        while not done.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def fetch() -> None:
        try:
            while not done.is_set():
                rows = cursor.fetchmany(chunk_size)
                hand_over(rows)
                if not rows:
                    return
        except Exception as error:  # noqa: BLE001 - handed to the caller, raised there
            hand_over(error)

    thread = threading.Thread(target=fetch, name="audit-rows", daemon=True)
    thread.start()
    try:
        while rows := ahead.get():
            if isinstance(rows, Exception):
                raise rows
            yield rows
    finally:
        done.set()
        thread.join()


def _rows_sql(where: str, order: str) -> str:
    meta = AuditEvent._meta
    column_of = {field.attname: field.column for field in meta.concrete_fields if field.column}
    columns = []
    for name in ROW_NAMES:
        column = connection.ops.quote_name(column_of[name])
        if name == "created_at" and connection.vendor == "postgresql":
            # Exactly as canonical_values formats it (2026-11-25T12:22:05.000123Z).
            column = f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
        elif name == "created_at":
            # An expression has no declared type, so the driver's datetime converter (which
            # raises on a month 13) leaves the stored text alone.
            column = f"CAST({column} AS TEXT)"
        columns.append(column)
    table = connection.ops.quote_name(meta.db_table)
    return f"SELECT {', '.join(columns)} FROM {table} {where} ORDER BY {order}"


_json_decoder = json.JSONDecoder()


def _decoded_json(stored: object) -> object:
    if not isinstance(stored, str):
        return stored  # psycopg decodes jsonb itself
    try:
        # raw_decode: json.loads without its two whitespace scans (jsonb's text has none).
        value, end = _json_decoder.raw_decode(stored)
    except ValueError:
        return stored
    return value if end == len(stored) else stored


def _stored_utc_time(stored: object) -> object:
    """SQLite's text ``2026-11-25 12:22:05.000123`` (UTC) as an aware datetime, or the text
    itself when it is no time at all."""
    if not isinstance(stored, str):
        return stored
    try:
        return datetime.fromisoformat(stored).replace(tzinfo=UTC)
    except ValueError:
        return stored


@dataclass(frozen=True)
class SealResult:
    sealed: int
    position: int
    link: str


def seal_pending(*, batch_size: int = 5000, heads_dir: Path | None = None) -> SealResult:
    """Seal every committed, unsealed event, in batches of ``batch_size``, in id order.

    Returns how many were sealed and the head they ended on. When another sealer holds
    the lock, returns at once with ``sealed=0`` (it does the work). Each batch commits on
    its own and its head is appended to the day's heads file in ``heads_dir`` (default
    ``AUDIT_ANCHOR_DIR``). Raises ``AuditKeyError`` without a key: nothing is sealed then.
    """
    key_id, keys = audit_keys()
    linker = RowLinker({key_id: keys[key_id]})
    directory = Path(heads_dir or settings.AUDIT_ANCHOR_DIR)
    total = 0
    while True:
        with transaction.atomic():
            if not _sealer_lock():
                # Another sealer is at work; what it has done so far is the head.
                done = AuditChainHead.objects.filter(pk=1).first() or AuditChainHead()
                return SealResult(sealed=total, position=done.last_position, link=done.last_hash)
            head = _head()
            count = _seal_batch(head, key_id, linker, batch_size)
        total += count
        if count:
            append_head(directory, head.last_position, head.last_hash)
        if count < batch_size:
            return SealResult(sealed=total, position=head.last_position, link=head.last_hash)


def _sealer_lock() -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite: the write lock lets one transaction write at a time anyway
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_SEALER_LOCK])
        return bool(cursor.fetchone()[0])


def _head() -> AuditChainHead:
    head, _ = AuditChainHead.objects.get_or_create(pk=1)
    return head


def _seal_batch(head: AuditChainHead, key_id: str, linker: RowLinker, batch_size: int) -> int:
    rows = event_rows("WHERE position IS NULL", order=f"id LIMIT {int(batch_size)}")
    position, link, last_id = head.last_position, head.last_hash, 0
    sealed = []
    for row in rows:
        position += 1
        values = list(row)
        values[POSITION], values[KEY_ID], values[PREVIOUS_HASH] = position, key_id, link
        previous, link, last_id = link, linker.link(values), row[ID]
        sealed.append((last_id, position, key_id, previous, link))
    if not sealed:
        return 0
    _write_seals(sealed)
    head.last_event_id, head.last_position, head.last_hash = last_id, position, link
    head.save(update_fields=["last_event_id", "last_position", "last_hash"])
    return len(sealed)


def _write_seals(sealed: list[tuple]) -> None:
    """Write a batch's seals, ``(id, position, key_id, previous_hash, hash)`` each: on
    PostgreSQL one UPDATE joined to the batch passed as five arrays (``unnest``), so the
    statement and its parameters stay five whatever the batch size; a VALUES list of
    25,000 placeholders cost more to build and parse than the sealing itself."""
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {table} AS e SET position = v.position, key_id = v.key_id, "
                "previous_hash = v.previous_hash, hash = v.hash "
                "FROM unnest(%s::bigint[], %s::bigint[], %s::varchar[], %s::varchar[], "
                "%s::varchar[]) AS v(id, position, key_id, previous_hash, hash) "
                # Only unsealed rows: the join reads the small partial index of the
                # unsealed, never the whole log.
                "WHERE e.id = v.id AND e.position IS NULL",
                [list(column) for column in zip(*sealed, strict=True)],
            )
        else:
            cursor.executemany(
                f"UPDATE {table} SET position = %s, key_id = %s, previous_hash = %s, hash = %s "
                "WHERE id = %s",
                [(*row[1:], row[0]) for row in sealed],
            )


def seal_lag_seconds() -> float:
    """How long the oldest unsealed event has waited (seconds since its ``created_at``),
    0.0 when everything is sealed: the sealer's lag, for the health check and metrics."""
    oldest = (
        AuditEvent.objects.filter(position__isnull=True)
        .order_by("id")
        .values_list("created_at", flat=True)
        .first()
    )
    return max(0.0, (timezone.now() - oldest).total_seconds()) if oldest else 0.0
