"""The audit log's sealer: gives committed events their position and keyed link.

``audit_record`` only inserts; ``seal_pending`` (the beat task ``portal.tasks.audit_seal``,
every second) takes the committed, unsealed events in id order and gives each its
``position`` (1, 2, 3, ... with no gap) and its link: HMAC-SHA-256, with a key that is not
in the database (``AUDIT_KEYS``), over its canonical content, its id, position, key id and
the link before it (``previous_hash``). One sealer at a time: a PostgreSQL advisory lock.
After each batch the head (position, link, time) is appended to ``heads.log`` in
``AUDIT_ANCHOR_DIR``, outside the database, so a truncated tail cannot go unnoticed.
"""

import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from portal.audit import HASHED_FIELDS, canonical_values
from portal.models import AuditChainHead, AuditEvent

# What the link covers: the content, where the event sits, and which key sealed it.
LINKED_FIELDS = ("id", "position", "key_id", *HASHED_FIELDS)
ROW_NAMES = ("id", "position", "key_id", "hash", *HASHED_FIELDS)
DEVELOPMENT_KEY_ID = "dev"
# Any constant shared by every sealer: pg_try_advisory_xact_lock's key ("audit" in ASCII).
_SEALER_LOCK = 0x6175646974
HEADS_LOG = "heads.log"


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


def event_rows(
    where: str = "", params: tuple = (), *, order: str, chunk_size: int = 5000
) -> Iterator[dict]:
    """Events' raw values (``ROW_NAMES``), streamed in ``order`` with a server-side cursor
    on PostgreSQL: constant memory however long the log is.

    Raw rows, not the ORM: its per-value converters are two thirds of a verification, and
    they raise on a value a tamperer wrote past them (a month 13 in SQLite's text column),
    where the walk must report the event as altered instead. A value that cannot be decoded
    is handed on as stored; it then no longer matches the event's link."""
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
    sql = f"SELECT {', '.join(columns)} FROM {table} {where} ORDER BY {order}"
    parse_time = connection.vendor != "postgresql"
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(chunk_size):
            for row in rows:
                values = dict(zip(ROW_NAMES, row, strict=True))
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


@dataclass(frozen=True)
class SealResult:
    sealed: int
    position: int
    link: str


def seal_pending(*, batch_size: int = 5000, heads_dir: Path | None = None) -> SealResult:
    """Seal every committed, unsealed event, in batches of ``batch_size``, in id order.

    Returns how many were sealed and the head they ended on. When another sealer holds
    the lock, returns at once with ``sealed=0`` (it does the work). Each batch commits on
    its own and its head is appended to ``heads.log`` in ``heads_dir`` (default
    ``AUDIT_ANCHOR_DIR``). Raises ``AuditKeyError`` without a key: nothing is sealed then.
    """
    key_id, keys = audit_keys()
    directory = Path(heads_dir or settings.AUDIT_ANCHOR_DIR)
    total = 0
    while True:
        with transaction.atomic():
            if not _sealer_lock():
                # Another sealer is at work; what it has done so far is the head.
                done = AuditChainHead.objects.filter(pk=1).first() or AuditChainHead()
                return SealResult(sealed=total, position=done.last_position, link=done.last_hash)
            head = _head()
            count = _seal_batch(head, key_id, keys[key_id], batch_size)
        total += count
        if count:
            _append_head(directory, head)
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


def _seal_batch(head: AuditChainHead, key_id: str, key: bytes, batch_size: int) -> int:
    rows = list(event_rows("WHERE position IS NULL", order=f"id LIMIT {int(batch_size)}"))
    if not rows:
        return 0
    position, link = head.last_position, head.last_hash
    sealed = []
    for values in rows:
        position += 1
        values["position"], values["key_id"], values["previous_hash"] = position, key_id, link
        link = link_of(values, key)
        sealed.append((values["id"], position, key_id, values["previous_hash"], link))
    _write_seals(sealed)
    head.last_event_id, head.last_position, head.last_hash = rows[-1]["id"], position, link
    head.save(update_fields=["last_event_id", "last_position", "last_hash"])
    return len(rows)


def _write_seals(sealed: list[tuple]) -> None:
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            values = ", ".join(["(%s::bigint, %s::bigint, %s, %s, %s)"] * len(sealed))
            cursor.execute(
                f"UPDATE {table} AS e SET position = v.position, key_id = v.key_id, "
                "previous_hash = v.previous_hash, hash = v.hash "
                f"FROM (VALUES {values}) AS v(id, position, key_id, previous_hash, hash) "
                "WHERE e.id = v.id",
                [value for row in sealed for value in row],
            )
        else:
            cursor.executemany(
                f"UPDATE {table} SET position = %s, key_id = %s, previous_hash = %s, hash = %s "
                "WHERE id = %s",
                [(*row[1:], row[0]) for row in sealed],
            )


def _append_head(directory: Path, head: AuditChainHead) -> None:
    """One line per batch, ``position link time``, to a file only ever opened for append.
    Written after the batch committed: a line never names a head that was rolled back."""
    directory.mkdir(parents=True, exist_ok=True)
    line = f"{head.last_position} {head.last_hash} {timezone.now().isoformat()}\n"
    with open(directory / HEADS_LOG, "a", encoding="ascii") as file:
        file.write(line)


def recorded_heads(directory: Path | None = None) -> Iterator[tuple[int, str]]:
    """The heads the sealer wrote outside the database, ``(position, link)``, in the order
    written (rising positions), as far as the file reached when this was called: a line
    appended later may name a batch committed after a verifier's snapshot. Read lazily:
    memory stays flat. A line that cannot be read raises ``ValueError`` when reached: a
    head nobody can check must not pass silently."""
    path = Path(directory or settings.AUDIT_ANCHOR_DIR) / HEADS_LOG
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return iter(())
    return _head_lines(path, size)


def _head_lines(path: Path, size: int) -> Iterator[tuple[int, str]]:
    with open(path, "rb") as file:
        for number, raw in enumerate(file, start=1):
            size -= len(raw)
            if size < 0:
                return
            parts = raw.decode("ascii", errors="replace").split()
            if len(parts) != 3 or not parts[0].isdigit() or len(parts[1]) != 64:
                raise ValueError(f"Line {number} of {path} cannot be read: {raw!r}")
            yield int(parts[0]), parts[1]


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
