"""The record of processing activities (GDPR Art. 30) as a page, a printable page for the
supervisory authority, a CSV and an XLSX file: all from the same rows
(``consent.processing_record``), for compliance and legal only (404 for anyone else).
Every export, the printable page included, is an audit event (``record.export``)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from consent.forms import ProcessingActivityForm, RecordAsOfForm
from consent.models import ProcessingActivity
from consent.permissions import check_record_reader
from consent.policies import may_edit_record
from consent.processing_record import COLUMNS, ProcessingRecord, processing_record
from consent.services.processing_activities import (
    processing_activity_save,
    processing_record_exported,
)
from portal.csv_export import csv_file_response, csv_text
from portal.errors import ApplicationError
from portal.permissions import check_compliance_page
from portal.refusals import show_refusal
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
    context = {"form": form, "record": record, "can_edit": may_edit_record(request.user)}
    return render(request, "consent/processing_record.html", context)


def _exported(request, file_format: str) -> tuple[ProcessingRecord | None, HttpResponse | None]:
    """The record for an export in ``file_format`` (``print``, ``csv``, ``xlsx``), its export
    recorded in the audit trail; or the refusal page when the date is refused (nothing
    recorded then)."""
    form, record = _record_for(request)
    if record is None:
        return None, _refused(request, form)
    processing_record_exported(
        actor=request.user,
        file_format=file_format,
        as_of=_as_of_text(record),
        rows=len(record.rows),
    )
    return record, None


@login_required
@require_GET
def record_print(request):
    record, refused = _exported(request, "print")
    if record is None:
        return refused
    return render(request, "consent/processing_record_print.html", {"record": record})


@login_required
@require_GET
def record_csv(request):
    record, refused = _exported(request, "csv")
    if record is None:
        return refused
    content = csv_text(COLUMNS, (row.as_cells() for row in record.rows))
    return csv_file_response(filename=_filename(record, "csv"), content=content)


@login_required
@require_GET
def record_xlsx(request):
    record, refused = _exported(request, "xlsx")
    if record is None:
        return refused
    return xlsx_response(
        filename=_filename(record, "xlsx"),
        title=_("Records of processing"),
        columns=COLUMNS,
        rows=(row.as_cells() for row in record.rows),
    )


@login_required
def activity_edit(request, pk=None):
    """Name a processing activity and map it to its purposes, or change one: compliance only
    (404 for everyone else, legal included: legal reads the record, compliance keeps it)."""
    check_compliance_page(request.user)
    activity = get_object_or_404(ProcessingActivity, pk=pk) if pk is not None else None
    initial = None
    if activity is not None:
        initial = {
            field: getattr(activity, field)
            for field in ProcessingActivityForm.base_fields
            if field != "purposes"
        } | {"purposes": list(activity.purposes.all())}
    form = ProcessingActivityForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = processing_activity_save(
                actor=request.user, activity=activity, **form.cleaned_data
            )
        except ApplicationError as error:
            show_refusal(error, form=form)
        else:
            messages.success(
                request, _("Saved the processing activity %(name)s.") % {"name": saved.name}
            )
            return redirect("consent:record")
    context = {"form": form, "activity": activity}
    status = 400 if form.is_bound else 200
    return render(request, "consent/processing_activity_form.html", context, status=status)
