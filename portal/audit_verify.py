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
from django.utils.translation import gettext as _

from portal.audit import GENESIS_HASH, security_event
from portal.audit_checkpoint import public_key, signature_valid
from portal.audit_heads import recorded_heads
from portal.audit_seal import (
    HASH,
    ID,
    KEY_ID,
    POSITION,
    PREVIOUS_HASH,
    AuditKeyError,
    RowLinker,
    audit_keys,
    event_rows,
)
from portal.models import AuditChainHead, AuditEvent

# The largest position a range may name: PostgreSQL's bigint.
MAX_POSITION = 2**63 - 1


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


def range_error(
    from_position: int | None, to_position: int | None, from_checkpoint: bool = False
) -> tuple[str, str] | None:
    """What is wrong with a range to verify, as ``(parameter, message)``, or ``None``.

    Positions count from 1; ``to_position`` may not come before ``from_position``; a walk
    starts either at a position or at the newest checkpoint, not both."""
    for name, value in (("from_position", from_position), ("to_position", to_position)):
        if value is not None and not 1 <= value <= MAX_POSITION:
            return name, _("%(name)s must be a whole number from 1 to %(max)s.") % {
                "name": name,
                "max": MAX_POSITION,
            }
    if from_position is not None and to_position is not None and to_position < from_position:
        return (
            "to_position",
            _("to_position (%(to)s) is before from_position (%(from)s).")
            % {"to": to_position, "from": from_position},
        )
    if from_checkpoint and from_position is not None:
        return (
            "from_position",
            "from_position and from_checkpoint both say where to start: give one.",
        )
    return None


def verify_audit(
    *,
    anchor_dir: Path | None = None,
    public_key_file: Path | None = None,
    chunk_size: int = 5000,
    from_checkpoint: bool = False,
    from_position: int | None = None,
    to_position: int | None = None,
) -> AuditVerification:
    """Is the audit log intact? The one verification every door calls: ``manage.py
    verify_audit``, ``GET /api/audit/verify/``, the daily anchor job and the compliance
    health check.

    Walks the sealed events by position, streamed (a server-side cursor, ``chunk_size``
    rows a fetch: constant memory), and checks with the HMAC keys of ``AUDIT_KEYS`` and
    the heads and anchors written outside the database (``anchor_dir``, default
    ``AUDIT_ANCHOR_DIR``), each anchor's Ed25519 signature with the public key in
    ``public_key_file`` (default: that of ``AUDIT_SIGNING_KEY_FILE``; no signature check
    when neither is set). Where to walk: the whole log; ``from_checkpoint``, after the
    newest checkpoint (the frequent check of a long log); or ``from_position`` to
    ``to_position`` (both included, either open), the first event's link checked against
    the link stored before it, and the heads and checkpoints inside the range. A range
    that stops before the log's end does not check the end.

    Returns an ``AuditVerification`` whatever the log holds (``ok``, ``checked`` events,
    ``first_bad`` event id or ``None``, the ``reason`` in words); tampering, a missing key,
    an unreadable head file or a database error is an answer, never an exception. A log
    found broken is also a line in the security log. Raises ``ValueError`` only for a
    range ``range_error`` refuses. Source: the design's append-only audit trail (GDPR
    Art. 5(2) accountability, Art. 32 integrity)."""
    if problem := range_error(from_position, to_position, from_checkpoint):
        raise ValueError(problem[1])
    result = _verify(
        anchor_dir=anchor_dir,
        key_file=public_key_file,
        chunk_size=chunk_size,
        span=(from_checkpoint, from_position, to_position),
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
    *,
    anchor_dir: Path | None,
    key_file: Path | None,
    chunk_size: int,
    span: tuple[bool, int | None, int | None],
) -> AuditVerification:
    from_checkpoint, from_position, to_position = span
    try:
        _current, keys = audit_keys()
        signed_by = public_key(key_file)
        anchors = {a.event_id: a for a in audit_anchors(anchor_dir, key=signed_by)}
        walk = _Walk(RowLinker(keys), anchors, end=to_position)
        if from_checkpoint and anchors:
            newest = max(anchors.values(), key=lambda a: a.position)
            walk.begin(newest.position, newest.event_id, newest.hash)
        # The heads as far as written now, before the snapshot below: each names a batch
        # committed before it, so one the snapshot holds.
        walk.heads = recorded_heads(anchor_dir, after=max(walk.position, (from_position or 1) - 1))
        head, unsealed = _walk_in_one_snapshot(walk, chunk_size, from_position)
    except (AuditKeyError, ValueError, OSError) as error:
        return AuditVerification(ok=False, checked=0, reason=str(error))
    except DatabaseError as error:
        # An answer, not a server error: the API says what stopped the walk.
        return AuditVerification(
            ok=False,
            checked=0,
            reason=_("The audit log could not be read: %(error)s") % {"error": error},
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


def _walk_in_one_snapshot(
    walk: "_Walk", chunk_size: int, from_position: int | None
) -> tuple[tuple[int, str], int]:
    """Run ``walk`` over the sealed events after its start (up to its end); the head row
    and the number of unsealed events, all read in one snapshot."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            # One snapshot for the head and every event while writers and the sealer go on
            # (the isolation level can only be a transaction's first statement).
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        head = AuditChainHead.objects.filter(pk=1).values_list("last_event_id", "last_hash").first()
        if from_position and from_position > 1:
            # The range's first link is checked against the link stored before it; that
            # event itself is outside the range (an id of 0 and no link when it is gone).
            before = AuditEvent.objects.filter(position=from_position - 1)
            found = before.values_list("id", "hash").first()
            sealed_to = AuditChainHead.objects.filter(pk=1).values_list("last_position", flat=True)
            if found is None and from_position - 1 > (sealed_to.first() or 0):
                # A range that starts after the sealed log ends holds nothing yet: nothing
                # to check, and nothing missing (the whole-log walk checks the tail).
                walk.past_end = True
            event_id, link = found or (0, "")
            walk.begin(from_position - 1, event_id, link or "")
        where, params = "WHERE position > %s", [walk.position]
        if walk.end is not None:
            where, params = f"{where} AND position <= %s", [walk.position, walk.end]
        walk.run(event_rows(where, tuple(params), order="position", chunk_size=chunk_size))
        unsealed = AuditEvent.objects.filter(position__isnull=True).count()
    return head or (0, GENESIS_HASH), unsealed


class _Walk:
    """One pass over the sealed events in position order, from the start of the log or
    from a known event (``begin``) up to ``end`` (a position; ``None``: the log's end);
    stops at the first bad one (``bad`` = its id and the reason in words). ``heads`` are
    the heads written outside the database, set before the walk runs."""

    def __init__(
        self, linker: RowLinker, anchors: dict[int, AuditAnchor], *, end: int | None = None
    ) -> None:
        self.linker, self.anchors, self.end = linker, anchors, end
        self.heads: Iterator[tuple[int, str]] = iter(())
        self.checked = self.position = self.last_id = 0
        self.last_link = GENESIS_HASH
        self.seen_anchors: set[int] = set()
        self._next_head: tuple[int, str] | None | bool = False  # False: not read yet
        self.bad: tuple[int, str] | None = None
        self.past_end = False  # a range that starts after the sealed log's last position

    def begin(self, position: int, event_id: int, link: str) -> None:
        """Start after the event ``event_id`` at ``position`` whose link is ``link``: a
        (signed) checkpoint, taken as verified, or the event before a range."""
        self.position, self.last_id, self.last_link = position, event_id, link
        self.seen_anchors = {a.event_id for a in self.anchors.values() if a.position <= position}

    @property
    def next_head(self) -> tuple[int, str] | None:
        if self._next_head is False:
            self._next_head = next(self.heads, None)
        return self._next_head  # type: ignore[return-value]

    def run(self, rows: Iterator[tuple]) -> None:
        for row in rows:
            self.checked += 1
            self.bad = self._check(row)
            if self.bad is not None:
                return
            self.position, self.last_id, self.last_link = row[POSITION], row[ID], row[HASH]
            if self.next_head is not None and self.next_head[0] <= self.position:
                self._check_heads()
                if self.bad is not None:
                    return

    def _check(self, row: tuple) -> tuple[int, str] | None:
        event_id, previous_id = row[ID], self.last_id
        if row[POSITION] != self.position + 1:
            if previous_id:
                return event_id, _(
                    "Event #%(event)s sits at position %(position)s, not %(expected)s: events "
                    "were removed after #%(previous)s."
                ) % {
                    "event": event_id,
                    "position": row[POSITION],
                    "expected": self.position + 1,
                    "previous": previous_id,
                }
            return event_id, self._no_predecessor(event_id)
        if row[PREVIOUS_HASH] != self.last_link:
            if previous_id:
                return event_id, _(
                    "Event #%(event)s does not chain to #%(previous)s: events were removed "
                    "after #%(previous)s, reordered, or #%(previous)s was rewritten."
                ) % {"event": event_id, "previous": previous_id}
            return event_id, self._no_predecessor(event_id)
        if row[KEY_ID] not in self.linker.states:
            return event_id, _(
                "Event #%(event)s is sealed with key %(key)s, which AUDIT_KEYS "
                "does not hold: it was forged, or the key was dropped too early."
            ) % {"event": event_id, "key": repr(row[KEY_ID])}
        if not hmac.compare_digest(self.linker.link(row), row[HASH] or ""):
            return event_id, _(
                "Event #%(event)s was altered, inserted or forged: its content does not "
                "match its keyed link."
            ) % {"event": event_id}
        anchor = self.anchors.get(event_id)
        if anchor is not None:
            if (anchor.hash, anchor.position) != (row[HASH], row[POSITION]):
                return event_id, _(
                    "Event #%(event)s differs from the anchor of %(anchored_at)s "
                    "(%(file)s): the log was rewritten from there."
                ) % {"event": event_id, "anchored_at": anchor.anchored_at, "file": anchor.file}
            self.seen_anchors.add(event_id)
        return None

    def _no_predecessor(self, event_id: int) -> str:
        if self.position:
            return _(
                "Event #%(event)s follows position %(position)s, which is not in the log: "
                "events were removed."
            ) % {"event": event_id, "position": self.position}
        return _("Event #%(event)s does not start the log: earlier events were removed.") % {
            "event": event_id
        }

    def _check_heads(self) -> None:
        while self.next_head is not None and self.next_head[0] <= self.position:
            position, link = self.next_head
            if position == self.position and link != self.last_link:
                self.bad = (
                    self.last_id,
                    _(
                        "Event #%(event)s differs from the head the sealer wrote outside the "
                        "database for position %(position)s: the log was rewritten from there."
                    )
                    % {"event": self.last_id, "position": position},
                )
                return
            self._next_head = next(self.heads, None)

    def _check_range_end(self, end: int) -> None:
        """A range that stops before the log's end: what lies beyond is not this walk's,
        but every checkpoint inside it must have been met."""
        within = {a.event_id for a in self.anchors.values() if a.position <= end}
        missing = sorted(within - self.seen_anchors)
        if missing:
            anchor = self.anchors[missing[0]]
            self.bad = (
                anchor.event_id,
                _("Anchored event #%(event)s (%(file)s) is no longer at position %(position)s.")
                % {"event": anchor.event_id, "file": anchor.file, "position": anchor.position},
            )

    def check_end(self, head: tuple[int, str]) -> None:
        """After the last event: nothing the sealer, an anchor or the head row recorded
        may lie beyond it (a truncated tail)."""
        if self.past_end:
            return
        self._check_heads()  # those at or before the start, when nothing came after it
        if self.bad is not None:
            return
        if self.end is not None and self.position >= self.end:
            self._check_range_end(self.end)
            return
        missing = sorted(set(self.anchors) - self.seen_anchors)
        if missing:
            anchor = self.anchors[missing[0]]
            if anchor.position > self.position:
                reason = _(
                    "Events after #%(last)s were removed: the anchor of "
                    "%(anchored_at)s (%(file)s) names #%(event)s, which is gone."
                ) % {
                    "last": self.last_id,
                    "anchored_at": anchor.anchored_at,
                    "file": anchor.file,
                    "event": anchor.event_id,
                }
            else:
                reason = _("Anchored event #%(event)s (%(file)s) is no longer in the log.") % {
                    "event": anchor.event_id,
                    "file": anchor.file,
                }
            self.bad = anchor.event_id, reason
            return
        head_id, head_link = head
        if (head_id, head_link) != (self.last_id, self.last_link):
            if head_id > self.last_id:
                self.bad = (
                    head_id,
                    _("Events after #%(last)s were removed: the log's head names #%(head)s.")
                    % {"last": self.last_id, "head": head_id},
                )
            else:
                self.bad = (
                    self.last_id,
                    _(
                        "The log ends at #%(last)s but its head names #%(head)s: events "
                        "were sealed outside the sealer."
                    )
                    % {"last": self.last_id, "head": head_id},
                )
            return
        if self.next_head is not None:
            self.bad = (
                self.last_id,
                _(
                    "Events after #%(last)s were removed: the sealer recorded position "
                    "%(recorded)s outside the database, the log ends at %(end)s."
                )
                % {"last": self.last_id, "recorded": self.next_head[0], "end": self.position},
            )
