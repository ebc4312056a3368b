"""The one CSV writer of the portal: every file it writes goes through ``safe_writer`` or
the streaming functions below, which apply the same cell rule.

Cells a spreadsheet would run as a formula are neutralised (OWASP, "CSV Injection"): a
cell starting with ``=``, ``+``, ``-``, ``@`` (and ``|``, ``%``) is prefixed with a single
quote as defusedcsv (a well-kept drop-in for the ``csv`` module) does, ``|`` written
``\\|``; a cell starting with a tab or a carriage return, which defusedcsv leaves alone,
gets the same prefix and the same escape here.
defusedcsv leaves numbers (``7``, ``-12.5``) as they are: a number is not a formula.
Excel and LibreOffice show a quoted cell as text; the quote is visible in the cell.

Streaming: rows are written as they are read, never the whole file in memory. Large
exports hand rows over in batches (tuples streamed from the database): the batch is checked
column by column in C (one ``str.join`` and one regular-expression search per column), and
only a column holding a cell that can start a formula is rewritten cell by cell; then the
C ``csv`` writer writes the rows. ``tests/customers/test_csv_injection.py`` checks that the
output is byte for byte defusedcsv's writer's.
"""

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, islice
from numbers import Number
from operator import itemgetter

# defusedcsv has no public per-cell function: ``_escape`` is what its own writer calls on
# every cell (defusedcsv==3.0.0 is pinned; the equivalence test fails if an upgrade changes it).
from defusedcsv.csv import _escape as defusedcsv_escape
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse

from portal.streamed_rows import streamed_rows

# The first characters that make a spreadsheet read a cell as a formula: defusedcsv's
# ("=", "+", "-", "@", "|", "%") and, from OWASP's list, a leading tab or carriage return,
# which defusedcsv leaves alone.
_ALWAYS_QUOTED_START = frozenset("=+@|%\t\r")
# A cell starting with "-" is a formula unless it is a number: defusedcsv's own rule decides.
_NUMBER_OR_FORMULA_START = "-"
# A column's cells are joined with NUL (which no text cell read from PostgreSQL holds)
# after a leading NUL: a cell that can start a formula then shows as NUL followed by one of
# these characters, found in one C scan (the pattern starts with a literal, which the
# regular-expression engine looks for first). A NUL inside some other cell can only add a
# false alarm, which the per-cell rule then settles.
_FORMULA_AFTER_SEPARATOR = re.compile("\x00[=+\\-@|%\t\r]")
_LEFT_ALONE = frozenset({int, float, type(None)})
_NO_ROW = object()


class _Line:
    """A file-like object whose ``write`` hands the line back instead of storing it."""

    def write(self, value: str) -> str:
        return value


def _safe_cell(value):
    """``value`` as a cell no spreadsheet runs: the quote prefix ("|" written "\\|") for a
    cell starting with one of = + @ | % tab CR, defusedcsv's own escape for one starting
    with "-" (it leaves a number such as "-12.5" alone), anything else unchanged.

    For = + @ | % this is exactly defusedcsv's escape (its number rule cannot match a text
    starting with them), without its per-call regular expression and type checks, which
    cost a large export a fifth of its rate. ``tests/customers/test_csv_injection.py``
    checks the result equals defusedcsv's writer for every kind of cell.
    """
    if value.__class__ is str:  # most cells: no ABC check for them
        text = value
    elif value is None or isinstance(value, Number):
        return value
    else:
        text = str(value)
    first = text[:1]
    if first in _ALWAYS_QUOTED_START:
        return "'" + text.replace("|", "\\|")
    if first == _NUMBER_OR_FORMULA_START:
        return defusedcsv_escape(text)
    return text


def safe_cell(value):
    """``value`` as a cell no spreadsheet runs as a formula (see ``_safe_cell``); the XLSX
    writer (``portal/xlsx_export.py``) neutralises its cells with the same rule."""
    return _safe_cell(value)


class SafeWriter:
    """``csv.writer`` (Excel dialect) with formula cells neutralised; ``writerow`` returns
    what the file object's ``write`` returns (the line, for ``_Line``)."""

    def __init__(self, file):
        self._writer = csv.writer(file)

    def writerow(self, row: Iterable):
        return self._writer.writerow([_safe_cell(value) for value in row])


def safe_writer(file) -> SafeWriter:
    """A CSV writer (Excel dialect) on ``file`` (anything with ``write(str)``) whose cells
    never start a spreadsheet formula. The only CSV writer the portal uses row by row."""
    return SafeWriter(file)


def _safe_column(column: Sequence) -> Sequence:
    """The cells of one column of a batch, neutralised by ``_safe_cell``: unchanged (the
    same object) when no cell can start a formula, which is found in C for a text column."""
    try:
        joined = "\x00" + "\x00".join(column)
    except TypeError:  # not all text: numbers and None pass, anything else by the rule
        if _LEFT_ALONE.issuperset(map(type, column)):
            return column
        return [_safe_cell(value) for value in column]
    if _FORMULA_AFTER_SEPARATOR.search(joined):
        return [_safe_cell(value) for value in column]
    return column


def safe_rows(batch: list[Sequence]) -> Iterable[Sequence]:
    """The rows of ``batch`` (sequences of cells, all of one length) with every cell
    neutralised as ``_safe_cell`` does; the batch itself when nothing needs it."""
    if not batch:
        return batch
    columns = list(zip(*batch, strict=True))
    safe = [_safe_column(column) for column in columns]
    if all(new is old for new, old in zip(safe, columns, strict=True)):
        return batch
    return zip(*safe, strict=True)


def csv_lines(columns: list[str], rows: Iterable[dict]) -> Iterator[str]:
    """The header line, then one line per row dict (values in ``columns`` order)."""
    writer = safe_writer(_Line())
    yield writer.writerow(columns)
    for row in rows:
        yield writer.writerow([row[column] for column in columns])


# Characters per piece handed to the response: one encode by Django and one socket write by
# the server per piece instead of per row (per-row pieces cost more than reading the rows).
CHUNK_CHARS = 64 * 1024
# Rows checked and written together (one column check per batch; the memory of a batch of
# a few thousand short rows is well under a megabyte).
BATCH_ROWS = 2000


def _as_sequences(columns: list[str], rows: Iterable) -> Iterator[Sequence]:
    """``rows`` as sequences in ``columns`` order: dicts are read by column (in C), tuples
    and lists are taken as they are."""
    rows = iter(rows)
    first = next(rows, _NO_ROW)
    if first is _NO_ROW:
        return rows
    rows = chain((first,), rows)
    if not isinstance(first, dict):
        return rows
    if len(columns) == 1:
        return ((row[columns[0]],) for row in rows)
    return map(itemgetter(*columns), rows)


def csv_chunks(
    columns: list[str], rows: Iterable, *, size: int = CHUNK_CHARS, batch_rows: int = BATCH_ROWS
) -> Iterator[str]:
    """The header line and one line per row (dicts keyed by column, or sequences in
    ``columns`` order), every cell neutralised, joined into pieces of at least ``size``
    characters (the last may be shorter), each batch of ``batch_rows`` rows written whole
    by the C writer (``writerows``), so a piece holds at most ``size`` characters plus one
    batch and memory stays bounded whatever the number of rows. The text is exactly
    ``csv_lines``'s."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_safe_cell(column) for column in columns])
    sequences = _as_sequences(columns, rows)
    try:
        while batch := list(islice(sequences, batch_rows)):
            writer.writerows(safe_rows(batch))
            if out.tell() >= size:
                yield out.getvalue()
                out.seek(0)
                out.truncate()
        if out.tell():
            yield out.getvalue()
    finally:
        # A download stopped early closes its rows at once: a stream from the database
        # (``portal.streamed_rows``) then cancels its statement and frees the connection.
        if hasattr(rows, "close"):
            rows.close()


def csv_response(*, filename: str, columns: list[str], rows, extra_headers=None):
    """A streamed CSV download. ``rows`` is an iterable of dicts or of sequences in
    ``columns`` order, or a queryset of either (``.values()``, ``.values_list()``), which is
    read as the database sends it (``portal.streamed_rows``: nothing else may use the
    database connection until the download ends, which a response being sent never does)."""
    if isinstance(rows, QuerySet):
        rows = streamed_rows(rows)
    response = StreamingHttpResponse(
        csv_chunks(columns, rows), content_type="text/csv; charset=utf-8"
    )
    return _as_download(response, filename, extra_headers)


def csv_text(columns: list[str], rows: Iterable[dict]) -> str:
    """The whole CSV file as one string (a sharing package is stored, not streamed)."""
    return "".join(csv_lines(columns, rows))


def csv_file_response(*, filename: str, content: str, extra_headers=None):
    """A CSV download of a file already made (by ``csv_text``)."""
    return _as_download(
        HttpResponse(content, content_type="text/csv; charset=utf-8"), filename, extra_headers
    )


def _as_download(response, filename: str, extra_headers):
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    for name, value in (extra_headers or {}).items():
        response[name] = value
    return response
