from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from consent import services
from consent.forms import ConsentImportForm, ConsentRecordForm
from consent.selectors import consent_history, current_consents
from customers.permissions import get_customer_for_user
from portal import roles
from portal.errors import ApplicationError

HISTORY_LIMIT = 500


def _customer_context(request, customer, form=None) -> dict:
    can_record = roles.is_compliance(request.user)
    history = list(consent_history(customer)[: HISTORY_LIMIT + 1])
    context = {
        "customer": customer,
        "current": current_consents(customer),
        "history": history[:HISTORY_LIMIT],
        "history_truncated": len(history) > HISTORY_LIMIT,
        "can_record": can_record,
    }
    if can_record:
        context["form"] = form or ConsentRecordForm()
    return context


@login_required
def customer_detail(request, pk):
    """Compliance and legal only (404 for everyone else): customer records are confidential."""
    customer = get_customer_for_user(request.user, pk)
    return render(request, "consent/customer_detail.html", _customer_context(request, customer))


@login_required
@require_POST
def customer_consent_record(request, pk):
    customer = get_customer_for_user(request.user, pk)
    if not roles.is_compliance(request.user):
        raise PermissionDenied("Only a compliance officer can record consent.")
    form = ConsentRecordForm(request.POST)
    if form.is_valid():
        try:
            services.consent_record(actor=request.user, customer=customer, **form.cleaned_data)
        except ApplicationError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            data = form.cleaned_data
            messages.success(request, f"Recorded: {data['status']} {data['purpose'].key}.")
            return redirect("consent:customer_detail", pk=customer.pk)
    return render(
        request,
        "consent/customer_detail.html",
        _customer_context(request, customer, form=form),
        status=400,
    )


@login_required
def consent_import(request):
    """Upload a CSV of consent records (compliance only): all rows or none."""
    if not roles.is_compliance(request.user):
        raise PermissionDenied("Only a compliance officer can import consent records.")
    form = ConsentImportForm(request.POST or None, request.FILES or None)
    report = None
    status = 200
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            report = services.consent_import(actor=request.user, file=upload.file, name=upload.name)
        except services.ImportRejected as rejected:
            report = rejected.report
            status = 400
        else:
            messages.success(
                request,
                f"Imported {report.imported:,} of {report.rows:,} rows "
                f"({report.already_recorded:,} already recorded).",
            )
            return redirect("consent:consent_import")
    elif request.method == "POST":
        status = 400
    return render(
        request, "consent/consent_import.html", {"form": form, "report": report}, status=status
    )
