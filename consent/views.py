from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from consent import policies
from consent.api import package_response
from consent.countries import country_name, outside_eu_eea
from consent.forms import (
    ConsentImportForm,
    ConsentRecordForm,
    DeletionConfirmForm,
    LawfulBasisForm,
    SharingDecisionForm,
    SharingRequestForm,
    WithdrawalForwardedForm,
)
from consent.models import ConsentStatus, ImportJobStatus, TransferSafeguard
from consent.permissions import (
    get_import_job_for_user,
    get_sharing_request_for_download,
    get_sharing_request_for_user,
    get_withdrawal_for_user,
)
from consent.selectors import (
    active_purpose_for_key,
    consent_history,
    current_consents,
    import_job_list_for,
    lawful_basis_history,
    purposes_by_key,
)
from consent.services import packages as packages_services
from consent.services import recipient_deletion as recipient_deletion_services
from consent.services import records as records_services
from consent.services import sharing as sharing_services
from consent.services import withdrawal_forwarding as withdrawal_forwarding_services
from consent.services.import_jobs import (
    import_job_as_seen,
    import_job_errors_download,
    import_job_progress,
    import_job_submit,
)
from consent.services.lawful_basis import purpose_lawful_basis_change
from consent.services.sharing import TRANSFER_SAFEGUARD
from consent.sharing_selectors import (
    deletion_status_text,
    sharing_coverage,
    sharing_deletions_for,
    sharing_requests_of,
    sharing_withdrawals_open_for,
)
from customers.models.catalogue import class_word
from customers.visibility import get_customer_for_user
from portal.approvals import why_not_decider
from portal.csv_export import csv_file_response
from portal.display import number_text
from portal.errors import ApplicationError, CoverageRefusal
from portal.idempotency import ALREADY_SENT, create_once
from portal.models import ChainStatus
from portal.permissions import check_compliance_page
from portal.refusals import show_refusal

HISTORY_LIMIT = 500


@login_required
def purposes(request):
    """The purposes and the lawful basis each relies on; compliance changes one here, with a
    reason (404 for everyone else: the page exists for that work)."""
    check_compliance_page(request.user)
    form = LawfulBasisForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            purpose = purpose_lawful_basis_change(actor=request.user, **form.cleaned_data)
        except ApplicationError as error:
            show_refusal(error, form=form)
        else:
            messages.success(
                request,
                _("%(purpose)s now relies on %(basis)s.")
                % {"purpose": purpose.key, "basis": purpose.get_lawful_basis_display().lower()},
            )
            return redirect("consent:purposes")
    return render(
        request,
        "consent/purposes.html",
        {"form": form, "purposes": purposes_by_key(), "history": lawful_basis_history()},
        status=400 if form.is_bound else 200,
    )


def _customer_context(request, customer, form=None) -> dict:
    can_record = policies.may_record_consent(request.user)
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
    # Before the form is read: a refusal is a 403 whatever was posted.
    policies.require_may_record_consent(request.user)
    form = ConsentRecordForm(request.POST)
    if form.is_valid():
        try:
            records_services.consent_record(
                actor=request.user, customer=customer, **form.cleaned_data
            )
        except ApplicationError as error:
            show_refusal(error, form=form)
        else:
            data = form.cleaned_data
            if data["status"] == ConsentStatus.GRANTED:
                message = _("Recorded: granted %(purpose)s.")
            else:
                message = _("Recorded: withdrawn %(purpose)s.")
            messages.success(request, message % {"purpose": data["purpose"].key})
            return redirect("consent:customer_detail", pk=customer.pk)
    return render(
        request,
        "consent/customer_detail.html",
        _customer_context(request, customer, form=form),
        status=400,
    )


IMPORT_PAGE_ERRORS = 100  # bad rows shown on a page; the download holds them all
RECENT_JOBS = 10


def _import_context(job) -> dict:
    job = import_job_as_seen(job)
    errors = job.errors[:IMPORT_PAGE_ERRORS] if job else []
    return {
        "job": job,
        "page_errors": errors,
        "more_errors": (job.error_count - len(errors)) if job else 0,
        "progress": import_job_progress(job) if job else 0,
    }


@login_required
def consent_import(request):
    """Upload a CSV of consent records (compliance only): all rows or none. A short file is
    imported at once; a long one by a background job, whose page shows its progress."""
    # The page itself is the import form: a 403 for anyone who may not import.
    policies.require_may_import_consent(request.user)
    form = ConsentImportForm(request.POST or None, request.FILES or None)
    job = None
    status = 200
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = import_job_submit(actor=request.user, file=upload.file, name=upload.name)
        except ApplicationError as error:
            show_refusal(error, form=form)
            status = 400
        else:
            if not job.finished:
                return redirect("consent:import_job", pk=job.pk)
            if job.status == ImportJobStatus.DONE:
                messages.success(
                    request,
                    ngettext(
                        "Imported %(imported)s of %(rows)s row (%(already)s already recorded).",
                        "Imported %(imported)s of %(rows)s rows (%(already)s already recorded).",
                        job.rows_processed,
                    )
                    % {
                        "imported": number_text(job.imported),
                        "rows": number_text(job.rows_processed),
                        "already": number_text(job.already_recorded),
                    },
                )
                return redirect("consent:consent_import")
            status = 400
    elif request.method == "POST":
        status = 400
    context = {
        "form": form,
        "jobs": [
            import_job_as_seen(recent) for recent in import_job_list_for(request.user)[:RECENT_JOBS]
        ],
        "sync_max_rows": settings.CONSENT_IMPORT_SYNC_MAX_ROWS,
        **_import_context(job),
    }
    return render(request, "consent/consent_import.html", context, status=status)


@login_required
def import_job(request, pk):
    """One import job: status, rows checked of the total, the first errors. The page
    reloads itself (meta refresh, no script: the CSP allows none inline) until it ends."""
    job = get_import_job_for_user(request.user, pk)
    return render(request, "consent/import_job.html", _import_context(job))


@login_required
def import_job_errors(request, pk):
    """Every bad row of an import job, as CSV (the page shows only the first ones)."""
    job = get_import_job_for_user(request.user, pk)
    filename, content = import_job_errors_download(job=job, actor=request.user)
    return csv_file_response(filename=filename, content=content)


# --- External sharing --------------------------------------------------------------------

PAGE_SIZE = 25
SHARING_FORM_FIELDS = (
    "asset",
    "purpose",
    "recipient",
    "recipient_country",
    "justification",
    "agreement_reference",
    "agreement_end",
)


def _checked_form(request) -> tuple[SharingRequestForm, object]:
    """The form as typed so far, unbound, showing the chosen asset's categories, and the
    sharing coverage once asset and purpose are chosen: the no-JavaScript preview."""
    source = request.POST if request.method == "POST" else request.GET
    initial = {name: source.get(name) for name in SHARING_FORM_FIELDS if source.get(name)}
    initial["categories"] = source.getlist("categories")
    if request.method == "POST":
        initial["deletion_confirmation_required"] = "deletion_confirmation_required" in source
    form = SharingRequestForm(initial=initial, user=request.user)
    asset = form.asset
    purpose = active_purpose_for_key(initial.get("purpose", ""))
    coverage = sharing_coverage(asset, purpose) if asset and purpose else None
    return form, coverage


@login_required
def sharing_create(request):
    if request.method != "POST" or "check" in request.POST:
        form, coverage = _checked_form(request)
        context = {"form": form, "coverage": coverage, "refusal": None}
        return render(request, "consent/sharing_form.html", context)
    form = SharingRequestForm(request.POST, user=request.user)
    context = {"form": form, "coverage": None, "refusal": None}
    if form.is_valid():
        try:
            sharing_request, url = create_once(
                request,
                lambda: sharing_services.sharing_request_create(
                    actor=request.user, **form.cleaned_data
                ),
                url=lambda created: reverse("consent:sharing_detail", args=[created.pk]),
            )
        except CoverageRefusal as refusal:
            context["refusal"] = refusal
        except ApplicationError as error:
            show_refusal(error, form=form)
        else:
            if sharing_request is None:
                messages.info(request, ALREADY_SENT)
            else:
                messages.success(
                    request,
                    ngettext(
                        "Sharing request sent: %(eligible)s of %(total)s customer may be "
                        "shared. The owner, compliance and legal decide; you are notified of "
                        "each decision.",
                        "Sharing request sent: %(eligible)s of %(total)s customers may be "
                        "shared. The owner, compliance and legal decide; you are notified of "
                        "each decision.",
                        sharing_request.total_at_request,
                    )
                    % {
                        "eligible": number_text(sharing_request.eligible_at_request),
                        "total": number_text(sharing_request.total_at_request),
                    },
                )
            return redirect(url)
    return render(request, "consent/sharing_form.html", context, status=400)


@login_required
def sharing_list(request):
    page = Paginator(sharing_requests_of(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "consent/sharing_list.html", {"page": page})


def _safeguard_of(steps) -> str:
    """The transfer safeguard legal named when approving, in words; empty when none."""
    for step in steps:
        value = step.inputs.get(TRANSFER_SAFEGUARD)
        if value in TransferSafeguard.values:
            return TransferSafeguard(value).label
    return ""


def _sharing_context(request, sharing_request, decision_form=None) -> dict:
    user = request.user
    steps = list(sharing_request.chain.steps.all())
    open_step = sharing_request.chain.open_step
    can_decide = open_step is not None and not why_not_decider(user, open_step)
    safeguard_required = bool(open_step and open_step.requirement == TRANSFER_SAFEGUARD)
    safeguard = _safeguard_of(steps)
    package = getattr(sharing_request, "package", None)
    is_requester = sharing_request.requester_id == user.pk
    approved = sharing_request.chain.status == ChainStatus.APPROVED
    can_confirm_deletion = (
        policies.may_record_recipient_deletion(user)
        and approved
        and not sharing_request.deletion_confirmed_at
    )
    return {
        "sharing_request": sharing_request,
        "steps": steps,
        "open_step": open_step,
        "can_decide": can_decide,
        "safeguard_required": safeguard_required,
        "decision_form": decision_form
        or (SharingDecisionForm(safeguard_required=safeguard_required) if can_decide else None),
        "transfer_safeguard": safeguard,
        "can_withdraw": is_requester and sharing_request.chain.status == ChainStatus.PENDING,
        "coverage": sharing_coverage(sharing_request.asset, sharing_request.purpose),
        "country_name": country_name(sharing_request.recipient_country),
        "classification": class_word(sharing_request.classification_at_request),
        "outside_eu_eea": outside_eu_eea(sharing_request.recipient_country),
        "package": package,
        "is_requester": is_requester,
        "withdrawals": list(package.withdrawals.all()) if package else [],
        "can_forward": policies.may_forward_withdrawal(user, sharing_request),
        "forward_form": WithdrawalForwardedForm(),
        "deletion_status": deletion_status_text(sharing_request),
        "can_confirm_deletion": can_confirm_deletion,
        "deletion_form": DeletionConfirmForm() if can_confirm_deletion else None,
    }


@login_required
def sharing_detail(request, pk):
    sharing_request = get_sharing_request_for_user(request.user, pk)
    return render(
        request, "consent/sharing_detail.html", _sharing_context(request, sharing_request)
    )


@login_required
@require_POST
def sharing_decide(request, pk):
    sharing_request = get_sharing_request_for_user(request.user, pk)
    open_step = sharing_request.chain.open_step
    required = bool(open_step and open_step.requirement == TRANSFER_SAFEGUARD)
    form = SharingDecisionForm(request.POST, safeguard_required=required)
    approve = request.POST.get("decision") == "approve"
    if form.is_valid():
        try:
            sharing_services.sharing_request_decide(
                sharing_request=sharing_request,
                actor=request.user,
                approve=approve,
                reason=form.cleaned_data["reason"],
                transfer_safeguard=form.cleaned_data.get("transfer_safeguard", ""),
            )
        except ApplicationError as error:
            show_refusal(error, form=form)
        else:
            messages.success(request, _("Approved.") if approve else _("Denied."))
            return redirect("consent:sharing_detail", pk=sharing_request.pk)
    return render(
        request,
        "consent/sharing_detail.html",
        _sharing_context(request, sharing_request, decision_form=form),
        status=400,
    )


@login_required
@require_POST
def sharing_withdraw(request, pk):
    sharing_request = get_sharing_request_for_user(request.user, pk)
    try:
        sharing_services.sharing_request_withdraw(
            sharing_request=sharing_request, actor=request.user
        )
    except ApplicationError as error:
        show_refusal(error, request=request)
    else:
        messages.success(request, _("Sharing request withdrawn."))
    return redirect("consent:sharing_detail", pk=sharing_request.pk)


@login_required
def sharing_package(request, pk):
    """The package, for its requester only (404 for anyone else); 410 once gone."""
    sharing_request = get_sharing_request_for_download(request.user, pk)
    try:
        download = packages_services.sharing_package_download(
            sharing_request=sharing_request, actor=request.user
        )
    except packages_services.PackageGone as gone:
        context = {"sharing_request": sharing_request, "message": gone.message}
        return render(request, "consent/sharing_gone.html", context, status=410)
    return package_response(download)


@login_required
def sharing_withdrawals(request):
    """Withdrawals to forward (GDPR Art. 19): own sharing requests; compliance: all."""
    page = Paginator(sharing_withdrawals_open_for(request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = [(w, WithdrawalForwardedForm(auto_id=f"id_{w.pk}_%s")) for w in page.object_list]
    return render(request, "consent/sharing_withdrawals.html", {"page": page, "rows": rows})


@login_required
@require_POST
def sharing_withdrawal_forwarded(request, pk, withdrawal_pk):
    sharing_request = get_sharing_request_for_user(request.user, pk)
    withdrawal = get_withdrawal_for_user(request.user, sharing_request, withdrawal_pk)
    form = WithdrawalForwardedForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say how the recipient was told."))
    else:
        try:
            withdrawal_forwarding_services.sharing_withdrawal_forwarded(
                withdrawal=withdrawal, actor=request.user, note=form.cleaned_data["note"]
            )
        except ApplicationError as error:
            show_refusal(error, request=request)
        else:
            messages.success(
                request,
                _("Customer #%(id)s: marked forwarded.") % {"id": withdrawal.customer_id},
            )
    if request.POST.get("next") == "list":
        return redirect("consent:sharing_withdrawals")
    return redirect("consent:sharing_detail", pk=sharing_request.pk)


@login_required
def sharing_deletions(request):
    """Deletion status of shared data: own sharing requests; compliance: all."""
    page = Paginator(sharing_deletions_for(request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = [(r, deletion_status_text(r)) for r in page.object_list]
    return render(request, "consent/sharing_deletions.html", {"page": page, "rows": rows})


@login_required
@require_POST
def sharing_deletion_confirm(request, pk):
    sharing_request = get_sharing_request_for_user(request.user, pk)
    form = DeletionConfirmForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say where the recipient's confirmation is kept."))
    else:
        try:
            recipient_deletion_services.sharing_deletion_confirm(
                sharing_request=sharing_request,
                actor=request.user,
                evidence=form.cleaned_data["evidence"],
            )
        except ApplicationError as error:
            show_refusal(error, request=request)
        else:
            messages.success(request, _("The recipient's deletion is recorded."))
    return redirect("consent:sharing_detail", pk=sharing_request.pk)
