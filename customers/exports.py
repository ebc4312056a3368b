"""Streaming CSV: rows are written as they are read, never the whole file in memory."""

import csv
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse


class _Line:
    """A file-like object whose ``write`` hands the line back instead of storing it."""

    def write(self, value: str) -> str:
        return value


def csv_lines(columns: list[str], rows: Iterable[dict]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(columns)
    for row in rows:
        yield writer.writerow([row[column] for column in columns])


def csv_response(*, filename: str, columns: list[str], rows, extra_headers=None):
    """A streamed CSV download. ``rows`` should be a queryset of dicts (``.values()``); it
    is read with a server-side cursor in chunks."""
    if hasattr(rows, "iterator"):
        rows = rows.iterator(chunk_size=2000)
    response = StreamingHttpResponse(csv_lines(columns, rows), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    for name, value in (extra_headers or {}).items():
        response[name] = value
    return response
