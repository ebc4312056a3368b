"""The one CSV writer of the portal: every file it writes goes through ``safe_writer``.

Cells a spreadsheet would run as a formula are neutralised (OWASP, "CSV Injection"): a
cell starting with ``=``, ``+``, ``-``, ``@`` (and ``|``, ``%``) is prefixed with a single
quote by defusedcsv, a well-kept drop-in for the ``csv`` module; a cell starting with a
tab or a carriage return, which defusedcsv leaves alone, gets the same prefix and the same
escape (``|`` written ``\\|``) here.
defusedcsv leaves numbers (``7``, ``-12.5``) as they are: a number is not a formula.
Excel and LibreOffice show a quoted cell as text; the quote is visible in the cell.

Streaming: rows are written as they are read, never the whole file in memory.
"""

import csv
from collections.abc import Iterable, Iterator
from numbers import Number

# defusedcsv has no public per-cell function: ``_escape`` is what its own writer calls on
# every cell (defusedcsv==3.0.0 is pinned; the equivalence test fails if an upgrade changes it).
from defusedcsv.csv import _escape as defusedcsv_escape
from django.http import HttpResponse, StreamingHttpResponse

# The first characters that make a spreadsheet read a cell as a formula: defusedcsv's
# ("=", "+", "-", "@", "|", "%") and, from OWASP's list, a leading tab or carriage return,
# which defusedcsv leaves alone.
_DEFUSEDCSV_START = frozenset("=+-@|%")
_ALSO_FORMULA_START = frozenset("\t\r")


class _Line:
    """A file-like object whose ``write`` hands the line back instead of storing it."""

    def write(self, value: str) -> str:
        return value


def _safe_cell(value):
    """``value`` as a cell no spreadsheet runs: defusedcsv's own escape for a cell it would
    change, the same escape (quote prefix, "|" written "\\|") for a leading tab or carriage
    return, so one reading rule undoes every prefixed cell; anything else unchanged.

    Only cells that can start a formula reach defusedcsv's escape: an export quotes few
    cells, and calling it for every cell cost a large export a fifth of its rate.
    ``tests/customers/test_csv_injection.py`` checks the result equals defusedcsv's writer.
    """
    if value.__class__ is str:  # most cells: no ABC check for them
        text = value
    elif value is None or isinstance(value, Number):
        return value
    else:
        text = str(value)
    first = text[:1]
    if first in _DEFUSEDCSV_START:
        return defusedcsv_escape(text)
    if first in _ALSO_FORMULA_START:
        return "'" + text.replace("|", "\\|")
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
    never start a spreadsheet formula. The only CSV writer the portal uses."""
    return SafeWriter(file)


def csv_lines(columns: list[str], rows: Iterable[dict]) -> Iterator[str]:
    """The header line, then one line per row dict (values in ``columns`` order)."""
    writer = safe_writer(_Line())
    yield writer.writerow(columns)
    for row in rows:
        yield writer.writerow([row[column] for column in columns])


# Characters per piece handed to the response: one encode by Django and one socket write by
# the server per piece instead of per row (per-row pieces cost more than reading the rows).
CHUNK_CHARS = 64 * 1024


def csv_chunks(columns: list[str], rows: Iterable[dict], *, size: int = CHUNK_CHARS):
    """The lines of ``csv_lines`` joined into pieces of about ``size`` characters (at most
    ``size`` plus one line), so memory stays bounded whatever the number of rows."""
    buffer: list[str] = []
    length = 0
    for line in csv_lines(columns, rows):
        buffer.append(line)
        length += len(line)
        if length >= size:
            yield "".join(buffer)
            buffer, length = [], 0
    if buffer:
        yield "".join(buffer)


def csv_response(*, filename: str, columns: list[str], rows, extra_headers=None):
    """A streamed CSV download. ``rows`` is an iterable of dicts or a queryset of dicts
    (``.values()``), which is read with a server-side cursor in chunks."""
    if hasattr(rows, "iterator"):
        rows = rows.iterator(chunk_size=2000)
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
