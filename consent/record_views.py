"""The record of processing activities (GDPR Art. 30) as a page, a printable page for the
supervisory authority, a CSV and an XLSX file: all from the same rows
(``consent.processing_record``), for compliance and legal only (404 for anyone else).
Every export, the printable page included, is an audit event (``record.export``)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from consent.forms import RecordAsOfForm
from consent.permissions import check_record_reader
from consent.processing_record import COLUMNS, ProcessingRecord, processing_record
from consent.services.processing_activities import processing_record_exported
from portal.csv_export import csv_file_response, csv_text
from portal.xlsx_export import xlsx_response


def _record_for(request) -> tuple[RecordAsOfForm, ProcessingRecord | None]:
    """The as-of form and the record it asks for; ``None`` when the date is refused."""
    check_record_reader(request.user)
    form = RecordAsOfForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return form, None
    as_of = form.cleaned_data.get("as_of") if form.is_bound else None
    return form, processing_record(as_of=as_of)


def _filename(record: ProcessingRecord, extension: str) -> str:
    return f"records-of-processing-{record.moment.date().isoformat()}.{extension}"


def _as_of_text(record: ProcessingRecord) -> str:
    return record.as_of.isoformat() if record.as_of else ""


def _refused(request, form: RecordAsOfForm):
    """The page with the form's message on the date (400); nothing exported or recorded."""
    context = {"form": form, "record": None}
    return render(request, "consent/processing_record.html", context, status=400)


@login_required
@require_GET
def record_page(request):
    form, record = _record_for(request)
    if record is None:
        return _refused(request, form)
    return render(request, "consent/processing_record.html", {"form": form, "record": record})


@login_required
@require_GET
def record_print(request):
    form, record = _record_for(request)
    if record is None:
        return _refused(request, form)
    processing_record_exported(
        actor=request.user, file_format="print", as_of=_as_of_text(record), rows=len(record.rows)
    )
    return render(request, "consent/processing_record_print.html", {"record": record})


@login_required
@require_GET
def record_csv(request):
    form, record = _record_for(request)
    if record is None:
        return _refused(request, form)
    processing_record_exported(
        actor=request.user, file_format="csv", as_of=_as_of_text(record), rows=len(record.rows)
    )
    content = csv_text(COLUMNS, (row.as_cells() for row in record.rows))
    return csv_file_response(filename=_filename(record, "csv"), content=content)


@login_required
@require_GET
def record_xlsx(request):
    form, record = _record_for(request)
    if record is None:
        return _refused(request, form)
    processing_record_exported(
        actor=request.user, file_format="xlsx", as_of=_as_of_text(record), rows=len(record.rows)
    )
    return xlsx_response(
        filename=_filename(record, "xlsx"),
        title="Records of processing",
        columns=COLUMNS,
        rows=(row.as_cells() for row in record.rows),
    )
