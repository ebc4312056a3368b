"""The sealer's heads outside the database: one line per sealed batch, a file per day.

After each batch it commits, the sealer appends ``position link time`` to
``heads-YYYY-MM-DD.log`` (the UTC day of writing) in ``AUDIT_ANCHOR_DIR``. A tamperer with
the database alone cannot cut the log's tail unnoticed: the lines name positions the
database no longer holds. One file per day, because the sealer runs every second and a
single file would grow by some 86,400 lines a day for ever: daily files can be archived
or compressed by age, and a verification that starts at a checkpoint skips every file
that ends before it by reading its last line only. ``heads.log``, the single file of
earlier versions, is read first.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.utils import timezone

LEGACY_HEADS_LOG = "heads.log"
_DAILY_GLOB = "heads-????-??-??.log"
# The longest line: a position of up to 19 digits, 64 hex digits, an ISO time, spaces.
_LONGEST_LINE = 128


def heads_file(directory: Path, moment: datetime) -> Path:
    """The file a head written at ``moment`` (aware) goes to: its UTC day's."""
    return directory / f"heads-{moment.astimezone(UTC):%Y-%m-%d}.log"


def append_head(directory: Path, position: int, link: str) -> None:
    """One line, ``position link time``, appended to today's file (UTC), a file only ever
    opened for append. The caller writes it after the batch committed, so a line never
    names a head that was rolled back."""
    directory.mkdir(parents=True, exist_ok=True)
    now = timezone.now()
    with open(heads_file(directory, now), "a", encoding="ascii") as file:
        file.write(f"{position} {link} {now.isoformat()}\n")


def heads_files(directory: Path | None = None) -> list[Path]:
    """Every heads file in ``directory`` (default ``AUDIT_ANCHOR_DIR``) in the order they
    were written: ``heads.log`` of earlier versions first, then the days in order."""
    directory = Path(directory or settings.AUDIT_ANCHOR_DIR)
    legacy = directory / LEGACY_HEADS_LOG
    daily = sorted(directory.glob(_DAILY_GLOB))
    return [legacy, *daily] if legacy.is_file() else daily


def recorded_heads(directory: Path | None = None, *, after: int = 0) -> Iterator[tuple[int, str]]:
    """The heads the sealer wrote outside the database, ``(position, link)``, in the order
    written (rising positions), as far as each file reached when this was called: a line
    appended later may name a batch committed after a verifier's snapshot. Read lazily:
    memory stays flat.

    ``after``: the caller checks only positions above it, so a file whose last line is at
    or below it is passed over unread (a daily check from the last checkpoint reads a day's
    file, not the year's). A line that cannot be read raises ``ValueError`` when reached: a
    head nobody can check must not pass silently."""
    sized = []
    for path in heads_files(directory):
        try:
            sized.append((path, path.stat().st_size))
        except FileNotFoundError:
            continue  # archived meanwhile
    return _heads_of(sized, after)


def _heads_of(sized: list[tuple[Path, int]], after: int) -> Iterator[tuple[int, str]]:
    for number, (path, size) in enumerate(sized, start=1):
        # Two sealers racing may append their lines in the other order (each appends after
        # its commit), so the newest file is always read in full; an older one is passed
        # over when its last line is at or before ``after``.
        try:
            if number < len(sized) and after:
                last = _last_position(path, size)
                if last is not None and last <= after:
                    continue
            yield from _head_lines(path, size)
        except FileNotFoundError:
            continue  # archived while the walk ran: a removed file is no alarm (docs)


def _last_position(path: Path, size: int) -> int | None:
    """The position on the last whole line within the first ``size`` bytes, or ``None``
    when there is none or it cannot be read (the file is then read in full)."""
    start = max(0, size - _LONGEST_LINE)
    with open(path, "rb") as file:
        file.seek(start)
        tail = file.read(size - start)
    lines = tail.split(b"\n")[:-1]  # what follows the last newline is not whole yet
    first = lines[-1].split(b" ", 1)[0] if lines else b""
    return int(first) if first.isdigit() else None


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
