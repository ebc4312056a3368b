"""Verification of the sealed audit log: every keyed link, every head written outside the
database, every anchor. ``verify_audit`` is the one walk every door calls."""

import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from portal.audit import GENESIS_HASH, security_event
from portal.audit_checkpoint import public_key, signature_valid
from portal.audit_seal import AuditKeyError, audit_keys, event_rows, link_of, recorded_heads
from portal.models import AuditChainHead, AuditEvent


@dataclass(frozen=True)
class AuditAnchor:
    """A log head written outside the database by ``audit_anchor_write``."""

    event_id: int
    hash: str
    anchored_at: str
    file: str
    position: int = 0

    @property
    def written_at(self) -> datetime | None:
        """``anchored_at`` as an aware datetime (a time without a zone is UTC, as the anchor
        job writes it), or ``None`` when the file's text is not an ISO 8601 time."""
        try:
            moment = datetime.fromisoformat(self.anchored_at)
        except (TypeError, ValueError):
            return None
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


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
    last_position: int = 0
    # Events written but not sealed yet (the sealer's backlog): not checked by this walk.
    unsealed: int = 0


def audit_anchors(
    directory: Path | None = None, *, key: Ed25519PublicKey | None = None
) -> list[AuditAnchor]:
    """Every anchor file in ``AUDIT_ANCHOR_DIR`` naming a sealed position, oldest first.

    With a public ``key``, each must carry a valid Ed25519 signature (a signed
    checkpoint). Files without a ``position`` were written before the log was keyed: the
    upgrade verified them with the old chain (migration ``0012``), so they are passed over.
    A file that cannot be read, or whose signature is missing or wrong, raises
    ``ValueError``: an anchor nobody can check must not pass silently."""
    directory = Path(directory or settings.AUDIT_ANCHOR_DIR)
    anchors = []
    for path in sorted(directory.glob("anchor-*.json")):
        try:
            data = json.loads(path.read_text())
            if "position" not in data:
                continue
            anchor = AuditAnchor(
                event_id=int(data["event_id"]),
                hash=str(data["hash"]),
                anchored_at=str(data["anchored_at"]),
                file=path.name,
                position=int(data["position"]),
            )
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ValueError(f"Anchor file {path} cannot be read: {error}") from error
        if key is not None and not signature_valid(key, data, str(data.get("signature", ""))):
            raise ValueError(
                f"Checkpoint {path.name} is not signed by the audit signing key: it was forged "
                "or rewritten."
            )
        anchors.append(anchor)
    return anchors


def verify_audit(
    *,
    anchor_dir: Path | None = None,
    public_key_file: Path | None = None,
    chunk_size: int = 5000,
    from_checkpoint: bool = False,
) -> AuditVerification:
    """Is the audit log intact? The one verification every door calls: ``manage.py
    verify_audit``, ``GET /api/audit/verify/`` and the daily anchor job.

    Walks the sealed events by position, streamed (constant memory), and checks with the
    HMAC keys of ``AUDIT_KEYS`` and the heads and anchors written outside the database
    (``anchor_dir``, default ``AUDIT_ANCHOR_DIR``), each anchor's Ed25519 signature with
    the public key in ``public_key_file`` (default: that of ``AUDIT_SIGNING_KEY_FILE``; no
    signature check when neither is set). ``from_checkpoint``: start after the newest
    checkpoint instead of at the first event (the daily check of a long log).

    Returns an ``AuditVerification`` whatever the log holds (``ok``, ``checked`` events,
    ``first_bad`` event id or ``None``, the ``reason`` in words); tampering, a missing key,
    an unreadable head file or a database error is an answer, never an exception. A log
    found broken is also a line in the security log. Source: the design's append-only
    audit trail (GDPR Art. 5(2) accountability, Art. 32
    integrity)."""
    result = _verify(
        anchor_dir=anchor_dir,
        key_file=public_key_file,
        chunk_size=chunk_size,
        from_checkpoint=from_checkpoint,
    )
    if not result.ok:
        security_event(
            "audit.verification_failed",
            first_bad=result.first_bad,
            checked=result.checked,
            reason=result.reason,
        )
    return result


def _verify(
    *, anchor_dir: Path | None, key_file: Path | None, chunk_size: int, from_checkpoint: bool
) -> AuditVerification:
    try:
        _, keys = audit_keys()
        signed_by = public_key(key_file)
        anchors = {a.event_id: a for a in audit_anchors(anchor_dir, key=signed_by)}
        heads = recorded_heads(anchor_dir)
        start = (
            max(anchors.values(), key=lambda a: a.position) if from_checkpoint and anchors else None
        )
        walk = _Walk(keys, anchors, heads, start=start)
        head, unsealed = _walk_in_one_snapshot(walk, chunk_size)
    except (AuditKeyError, ValueError, OSError) as error:
        return AuditVerification(ok=False, checked=0, reason=str(error))
    except DatabaseError as error:
        # An answer, not a server error: the API says what stopped the walk.
        return AuditVerification(
            ok=False, checked=0, reason=f"The audit log could not be read: {error}"
        )
    if walk.bad is None:
        walk.check_end(head)
    if walk.bad is not None:
        first_bad, reason = walk.bad
        return AuditVerification(
            ok=False,
            checked=walk.checked,
            first_bad=first_bad,
            reason=reason,
            anchors=len(anchors),
            unsealed=unsealed,
        )
    return AuditVerification(
        ok=True,
        checked=walk.checked,
        anchors=len(anchors),
        last_id=walk.last_id,
        last_hash=walk.last_link,
        last_position=walk.position,
        unsealed=unsealed,
    )


def _walk_in_one_snapshot(walk: "_Walk", chunk_size: int) -> tuple[tuple[int, str], int]:
    """Run ``walk`` over the sealed events after its start; the head row and the number of
    unsealed events, all read in one snapshot."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            # One snapshot for the head and every event while writers and the sealer go on
            # (the isolation level can only be a transaction's first statement).
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        head = AuditChainHead.objects.filter(pk=1).values_list("last_event_id", "last_hash").first()
        rows = event_rows(
            "WHERE position > %s", (walk.position,), order="position", chunk_size=chunk_size
        )
        walk.run(rows)
        unsealed = AuditEvent.objects.filter(position__isnull=True).count()
    return head or (0, GENESIS_HASH), unsealed


class _Walk:
    """One pass over the sealed events in position order; stops at the first bad one
    (``bad`` = its id and the reason in words)."""

    def __init__(
        self,
        keys: dict[str, bytes],
        anchors: dict[int, AuditAnchor],
        heads: Iterator[tuple[int, str]],
        *,
        start: AuditAnchor | None = None,
    ) -> None:
        self.keys, self.anchors, self.heads = keys, anchors, heads
        self.checked = self.position = self.last_id = 0
        self.last_link = GENESIS_HASH
        self.seen_anchors: set[int] = set()
        if start is not None:
            # From a (signed) checkpoint: what it vouches for is taken as verified.
            self.position, self.last_id, self.last_link = start.position, start.event_id, start.hash
            self.seen_anchors = {
                a.event_id for a in anchors.values() if a.position <= start.position
            }
        self.next_head = next(heads, None)
        self.bad: tuple[int, str] | None = None

    def run(self, rows: Iterator[dict]) -> None:
        for values in rows:
            self.checked += 1
            self.bad = self._check(values)
            if self.bad is not None:
                return
            self.position, self.last_id, self.last_link = (
                values["position"],
                values["id"],
                values["hash"],
            )
            self._check_heads()
            if self.bad is not None:
                return

    def _check(self, values: dict) -> tuple[int, str] | None:
        event_id, previous_id = values["id"], self.last_id
        if values["position"] != self.position + 1:
            if previous_id:
                return event_id, (
                    f"Event #{event_id} sits at position {values['position']}, not "
                    f"{self.position + 1}: events were removed after #{previous_id}."
                )
            return (
                event_id,
                f"Event #{event_id} does not start the log: earlier events were removed.",
            )
        if values["previous_hash"] != self.last_link:
            if previous_id:
                return event_id, (
                    f"Event #{event_id} does not chain to #{previous_id}: events were removed "
                    f"after #{previous_id}, reordered, or #{previous_id} was rewritten."
                )
            return (
                event_id,
                f"Event #{event_id} does not start the log: earlier events were removed.",
            )
        key = self.keys.get(values["key_id"])
        if key is None:
            return event_id, (
                f"Event #{event_id} is sealed with key {values['key_id']!r}, which AUDIT_KEYS "
                "does not hold: it was forged, or the key was dropped too early."
            )
        if not hmac.compare_digest(link_of(values, key), values["hash"] or ""):
            return event_id, (
                f"Event #{event_id} was altered, inserted or forged: its content does not "
                "match its keyed link."
            )
        anchor = self.anchors.get(event_id)
        if anchor is not None:
            if (anchor.hash, anchor.position) != (values["hash"], values["position"]):
                return event_id, (
                    f"Event #{event_id} differs from the anchor of {anchor.anchored_at} "
                    f"({anchor.file}): the log was rewritten from there."
                )
            self.seen_anchors.add(event_id)
        return None

    def _check_heads(self) -> None:
        while self.next_head is not None and self.next_head[0] <= self.position:
            position, link = self.next_head
            if position == self.position and link != self.last_link:
                self.bad = (
                    self.last_id,
                    (
                        f"Event #{self.last_id} differs from the head the sealer wrote outside the "
                        f"database for position {position}: the log was rewritten from there."
                    ),
                )
                return
            self.next_head = next(self.heads, None)

    def check_end(self, head: tuple[int, str]) -> None:
        """After the last event: nothing the sealer, an anchor or the head row recorded
        may lie beyond it (a truncated tail)."""
        self._check_heads()  # those at or before the start, when nothing came after it
        if self.bad is not None:
            return
        missing = sorted(set(self.anchors) - self.seen_anchors)
        if missing:
            anchor = self.anchors[missing[0]]
            if anchor.position > self.position:
                reason = (
                    f"Events after #{self.last_id} were removed: the anchor of "
                    f"{anchor.anchored_at} ({anchor.file}) names #{anchor.event_id}, "
                    "which is gone."
                )
            else:
                reason = (
                    f"Anchored event #{anchor.event_id} ({anchor.file}) is no longer in the log."
                )
            self.bad = anchor.event_id, reason
            return
        head_id, head_link = head
        if (head_id, head_link) != (self.last_id, self.last_link):
            if head_id > self.last_id:
                self.bad = (
                    head_id,
                    (
                        f"Events after #{self.last_id} were removed: "
                        f"the log's head names #{head_id}."
                    ),
                )
            else:
                self.bad = (
                    self.last_id,
                    (
                        f"The log ends at #{self.last_id} but its head names #{head_id}: events "
                        "were sealed outside the sealer."
                    ),
                )
            return
        if self.next_head is not None:
            self.bad = (
                self.last_id,
                (
                    f"Events after #{self.last_id} were removed: the sealer recorded position "
                    f"{self.next_head[0]} outside the database, the log ends at {self.position}."
                ),
            )
