"""The XLSX writer (openpyxl): one sheet of rows for a download, its cells neutralised by the
CSV writer's rule, so a cell that would start a formula is text in both files."""

from collections.abc import Iterable
from io import BytesIO

from django.http import HttpResponse
from openpyxl import Workbook

from portal.csv_export import safe_cell

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_bytes(*, title: str, columns: list[str], rows: Iterable[dict]) -> bytes:
    """A workbook of one sheet named ``title`` (at most 31 characters, as Excel allows): the
    header row ``columns``, then one row per dict, values in ``columns`` order."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.append(columns)
    for row in rows:
        sheet.append([safe_cell(row[column]) for column in columns])
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xlsx_response(*, filename: str, title: str, columns: list[str], rows: Iterable[dict]):
    """A download of ``xlsx_bytes``, not kept by caches (``Cache-Control: no-store``)."""
    response = HttpResponse(
        xlsx_bytes(title=title, columns=columns, rows=rows), content_type=XLSX_CONTENT_TYPE
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
