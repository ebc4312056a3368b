from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from consent.coverage_cache import cached_coverage_for
from consent.forms import CoverageForm
from customers import asset_stewardship, policies, services
from customers.forms import (
    AccessRequestForm,
    AssetClassifyForm,
    AssetCollectionPurposesForm,
    AssetFilterForm,
    AssetOwnerForm,
    CustomerSearchForm,
    DecisionForm,
    ErasureConfirmForm,
    FootprintPeriodForm,
    GrantFilterForm,
    RetentionDeleteForm,
    RetentionExtendForm,
    RevokeForm,
    SubjectRequestCloseForm,
    SubjectRequestExtendForm,
    SubjectRequestForm,
)
from customers.permissions import (
    get_access_request_for_user,
    get_customer_footprint_for_user,
    get_erasure_task_for_owner,
    get_grant_for_reading,
    get_grant_for_user,
    get_subject_request_for_user,
)
from customers.selectors import (
    NO_OTHER_GRANTS,
    access_requests_of,
    asset_catalogue,
    asset_history,
    erasure_tasks_of,
    grant_list_for,
    other_active_grants_by_user,
    retention_list_for,
    subject_request_list_for,
)
from customers.selectors import customer_footprint as customer_footprint_selector
from customers.selectors import customer_search as customer_search_selector
from customers.selectors import grant_records as grant_records_selector
from customers.visibility import get_asset_for_user, get_customer_for_user
from portal.approvals import approvals_waiting_for, why_not_decider
from portal.csv_export import csv_response
from portal.errors import ApplicationError, CoverageRefusal
from portal.idempotency import ALREADY_SENT, create_once
from portal.input_limits import as_id
from portal.permissions import check_compliance_page
from portal.refusals import show_refusal
from portal.security import local_url

PAGE_SIZE = 25


@login_required
def asset_list(request):
    form = AssetFilterForm(request.GET or None, user=request.user)
    filters = form.filters() if form.is_valid() else {}
    page = Paginator(asset_catalogue(request.user, **filters), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "customers/asset_list.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


def _detail_context(request, asset, classify_form=None, owner_form=None, purposes_form=None):
    can_classify = policies.may_manage_asset(request.user)
    coverage_form = CoverageForm(request.GET or None)
    coverage = None
    if coverage_form.is_valid() and coverage_form.cleaned_data["purpose"]:
        coverage = cached_coverage_for(asset, coverage_form.cleaned_data["purpose"])
    context = {
        "asset": asset,
        "can_classify": can_classify,
        "coverage_form": coverage_form,
        "coverage": coverage,
    }
    if can_classify:
        context["classify_form"] = classify_form or AssetClassifyForm(
            initial={"classification": asset.classification}
        )
        context["history"] = asset_history(asset)[:50]
        context["owner_form"] = owner_form or AssetOwnerForm()
        context["purposes_form"] = purposes_form or AssetCollectionPurposesForm(
            initial={"purposes": list(asset.collected_for.values_list("key", flat=True))}
        )
    return context


@login_required
def asset_detail(request, pk):
    asset = get_asset_for_user(request.user, pk)
    return render(request, "customers/asset_detail.html", _detail_context(request, asset))


@login_required
@require_POST
def asset_classify(request, pk):
    asset = get_asset_for_user(request.user, pk)
    # Before the form is read: a refusal is a 403 whatever was posted.
    policies.require_may_manage_asset(request.user, "confirm or change a classification")
    form = AssetClassifyForm(request.POST)
    if form.is_valid():
        try:
            services.asset_classify(
                asset=asset,
                actor=request.user,
                classification=form.cleaned_data["classification"],
                reason=form.cleaned_data["reason"],
            )
        except ApplicationError as error:
            show_refusal(error, form=form)
        else:
            messages.success(
                request,
                f"{asset.name} is now {form.cleaned_data['classification']}, confirmed.",
            )
            return redirect("customers:asset_detail", pk=asset.pk)
    return render(
        request,
        "customers/asset_detail.html",
        _detail_context(request, asset, classify_form=form),
        status=400,
    )


def _compliance_change(request, pk, *, form_class, context_key, service, done):
    """An asset page's compliance form: posted, validated, handed to ``service``; the page
    again with the form's errors (400) when the input or the rule says no."""
    asset = get_asset_for_user(request.user, pk)
    policies.require_may_manage_asset(request.user, "make this change")
    form = form_class(request.POST)
    if form.is_valid():
        try:
            service(actor=request.user, asset=asset, **form.cleaned_data)
        except ApplicationError as error:
            show_refusal(error, form=form)
        else:
            messages.success(request, done(asset, form.cleaned_data))
            return redirect("customers:asset_detail", pk=asset.pk)
    context = _detail_context(request, asset, **{context_key: form})
    return render(request, "customers/asset_detail.html", context, status=400)


@login_required
@require_POST
def asset_owner(request, pk):
    """Compliance makes another active user the asset's owner, with a reason."""
    return _compliance_change(
        request,
        pk,
        form_class=AssetOwnerForm,
        context_key="owner_form",
        service=asset_stewardship.asset_owner_change,
        done=lambda asset, data: f"{data['owner']} now owns {asset.name}.",
    )


@login_required
@require_POST
def asset_collected_for(request, pk):
    """Compliance records what the asset's data was collected for, with a reason."""
    return _compliance_change(
        request,
        pk,
        form_class=AssetCollectionPurposesForm,
        context_key="purposes_form",
        service=asset_stewardship.asset_collection_purposes_change,
        done=lambda asset, data: f"Recorded what {asset.name} was collected for.",
    )


# --- Access requests ---------------------------------------------------------------------


@login_required
def request_create(request):
    initial = {}
    if as_id(request.GET.get("asset")) is not None:
        initial["asset"] = request.GET["asset"]
    form = AccessRequestForm(request.POST or None, user=request.user, initial=initial)
    context = {"form": form, "coverage": None, "refusal": None}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if "check" in request.POST:
            # The no-JavaScript way to see the coverage before submitting.
            context["coverage"] = cached_coverage_for(data["asset"], data["purpose"])
            return render(request, "customers/request_form.html", context)
        try:
            access_request, url = create_once(
                request,
                lambda: services.access_request_create(actor=request.user, **data),
                url=lambda created: reverse("customers:request_detail", args=[created.pk]),
            )
        except CoverageRefusal as refusal:
            context["refusal"] = refusal
            return render(request, "customers/request_form.html", context, status=400)
        except ApplicationError as error:
            show_refusal(error, form=form)
        else:
            if access_request is None:
                messages.info(request, ALREADY_SENT)
            else:
                messages.success(
                    request,
                    f"Request sent: {access_request.eligible_at_request:,} of "
                    f"{access_request.total_at_request:,} customers eligible. "
                    "You will be notified of each decision.",
                )
            return redirect(url)
    status = 400 if request.method == "POST" else 200
    return render(request, "customers/request_form.html", context, status=status)


@login_required
def request_list(request):
    page = Paginator(access_requests_of(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "customers/request_list.html", {"page": page})


@login_required
def approvals_waiting(request):
    # One list of every kind of request (access, external sharing), oldest first, read
    # from the approval engine a page at a time: a compliance officer of a large company
    # has hundreds waiting.
    page = Paginator(approvals_waiting_for(request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    # The latest five of each requester: 25 requesters with a dozen grants each made the
    # page render 300 grants; the request's own page lists them all.
    other_grants = other_active_grants_by_user(
        [waiting.request.requester_id for waiting in page.object_list],
        viewer=request.user,
        limit=5,
    )
    rows = [
        (waiting, other_grants.get(waiting.request.requester_id, NO_OTHER_GRANTS))
        for waiting in page.object_list
    ]
    return render(request, "customers/approvals.html", {"rows": rows, "page": page})


def _request_context(request, access_request, decision_form=None):
    open_step = access_request.chain.open_step
    can_decide = open_step is not None and not why_not_decider(request.user, open_step)
    return {
        "access_request": access_request,
        "steps": access_request.chain.steps.all(),
        "open_step": open_step,
        "can_decide": can_decide,
        "decision_form": decision_form or (DecisionForm() if can_decide else None),
        "can_withdraw": access_request.requester_id == request.user.pk
        and access_request.chain.status == "pending",
        "coverage": cached_coverage_for(access_request.asset, access_request.purpose),
        "other_grants": other_active_grants_by_user(
            [access_request.requester_id], viewer=request.user
        ).get(access_request.requester_id, NO_OTHER_GRANTS),
    }


@login_required
def request_detail(request, pk):
    access_request = get_access_request_for_user(request.user, pk)
    return render(
        request, "customers/request_detail.html", _request_context(request, access_request)
    )


@login_required
@require_POST
def request_decide(request, pk):
    access_request = get_access_request_for_user(request.user, pk)
    form = DecisionForm(request.POST)
    approve = request.POST.get("decision") == "approve"
    if form.is_valid():
        try:
            services.access_request_decide(
                access_request=access_request,
                actor=request.user,
                approve=approve,
                reason=form.cleaned_data["reason"],
            )
        except ApplicationError as error:
            show_refusal(error, request=request)
        else:
            messages.success(request, "Approved." if approve else "Denied.")
        return redirect("customers:request_detail", pk=access_request.pk)
    return render(
        request,
        "customers/request_detail.html",
        _request_context(request, access_request, decision_form=form),
        status=400,
    )


@login_required
@require_POST
def request_withdraw(request, pk):
    access_request = get_access_request_for_user(request.user, pk)
    try:
        services.access_request_withdraw(access_request=access_request, actor=request.user)
    except ApplicationError as error:
        show_refusal(error, request=request)
    else:
        messages.success(request, "Request withdrawn.")
    return redirect("customers:request_detail", pk=access_request.pk)


# --- Grants ------------------------------------------------------------------------------

GRANT_SCOPES = {"mine": "My grants", "owned": "Grants on my assets", "all": "All grants"}


@login_required
def grant_list(request, scope="mine"):
    grants = grant_list_for(request.user)
    if scope == "mine":
        grants = grants.filter(user=request.user)
    elif scope == "owned":
        grants = grants.filter(asset__owner=request.user)
    else:
        check_compliance_page(request.user)
    form = GrantFilterForm(request.GET or None, user=request.user)
    if form.is_valid():
        grants = form.apply(grants)
    page = Paginator(grants.order_by("-created_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "customers/grant_list.html",
        {
            "page": page,
            "scope": scope,
            "title": GRANT_SCOPES[scope],
            "form": form if scope == "all" else None,
            "query": query.urlencode(),
            "revoke_form": RevokeForm(),
        },
    )


@login_required
@require_POST
def grant_revoke(request, pk):
    grant = get_grant_for_user(request.user, pk)
    form = RevokeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the reason for revoking this grant.")
    else:
        try:
            services.grant_revoke(
                grant=grant, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ApplicationError as error:
            show_refusal(error, request=request)
        else:
            messages.success(request, f"Access of {grant.user} to {grant.asset} revoked.")
    return redirect(local_url(request, request.POST.get("next"), default="customers:grant_list"))


@login_required
def grant_records(request, pk):
    grant = get_grant_for_reading(request.user, pk)
    columns, rows = grant_records_selector(grant)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    services.records_viewed(
        grant=grant, actor=request.user, page_number=page.number, shown=len(page.object_list)
    )
    return render(
        request,
        "customers/grant_records.html",
        {"grant": grant, "columns": columns, "page": page},
    )


@login_required
def grant_export(request, pk):
    grant = get_grant_for_reading(request.user, pk, export=True)
    batch = services.grant_export_start(grant=grant, actor=request.user)
    return csv_response(
        filename=batch.filename,
        columns=batch.columns,
        rows=batch.rows,
        extra_headers={"X-Export-Id": batch.export_id, "X-Export-Rows": str(batch.count)},
    )


# --- Data subject requests and retention -----------------------------------------------


@login_required
def customer_search(request):
    """Find a customer by e-mail, name or id (compliance only; 404 for everyone else)."""
    check_compliance_page(request.user)
    form = CustomerSearchForm(request.GET or None)
    page = None
    if form.is_valid() and form.cleaned_data["q"]:
        found = customer_search_selector(request.user, form.cleaned_data["q"])
        page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "customers/customer_search.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


@login_required
def customer_footprint(request, pk):
    customer = get_customer_footprint_for_user(request.user, pk)
    form = FootprintPeriodForm(request.GET or None)
    period = form.period() if form.is_valid() else {}
    footprint = customer_footprint_selector(customer, **period)
    return render(
        request,
        "customers/customer_footprint.html",
        {"customer": customer, "form": form, "footprint": footprint},
        status=400 if form.is_bound and not form.is_valid() else 200,
    )


@login_required
def subject_request_list(request):
    check_compliance_page(request.user)
    requests = subject_request_list_for(request.user).order_by("status", "due_on", "id")
    page = Paginator(requests, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "customers/subject_request_list.html",
        {"page": page, "today": timezone.localdate()},
    )


@login_required
def subject_request_create(request):
    check_compliance_page(request.user)
    initial = {"customer": request.GET["customer"]} if request.GET.get("customer") else {}
    form = SubjectRequestForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            data["customer"] = get_customer_for_user(request.user, data["customer"])
        except Http404:
            form.add_error("customer", "Unknown customer.")
        else:
            try:
                subject_request, url = create_once(
                    request,
                    lambda: services.subject_request_create(actor=request.user, **data),
                    url=lambda created: reverse(
                        "customers:subject_request_detail", args=[created.pk]
                    ),
                )
            except ApplicationError as error:
                show_refusal(error, form=form)
            else:
                if subject_request is None:
                    messages.info(request, ALREADY_SENT)
                else:
                    messages.success(
                        request,
                        f"{subject_request.reference} registered; "
                        f"due {subject_request.due_on:%d %b %Y}.",
                    )
                return redirect(url)
    status = 400 if request.method == "POST" else 200
    return render(request, "customers/subject_request_form.html", {"form": form}, status=status)


def _subject_request_context(subject_request, **forms) -> dict:
    return {
        "subject_request": subject_request,
        "tasks": subject_request.erasure_tasks.all(),
        "extend_form": forms.get("extend_form") or SubjectRequestExtendForm(),
        "close_form": forms.get("close_form") or SubjectRequestCloseForm(),
        "today": timezone.localdate(),
    }


@login_required
def subject_request_detail(request, pk):
    subject_request = get_subject_request_for_user(request.user, pk)
    return render(
        request,
        "customers/subject_request_detail.html",
        _subject_request_context(subject_request),
    )


def _subject_request_action(request, pk, form_class, form_name, call, done):
    """POST handler shared by extend and close: validate, call the service, redirect; a
    refusal re-renders the page with the message and changes nothing."""
    subject_request = get_subject_request_for_user(request.user, pk)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            call(subject_request, form.cleaned_data)
        except ApplicationError as error:
            show_refusal(error, form=form)
        else:
            messages.success(request, done)
            return redirect("customers:subject_request_detail", pk=subject_request.pk)
    return render(
        request,
        "customers/subject_request_detail.html",
        _subject_request_context(subject_request, **{form_name: form}),
        status=400,
    )


@login_required
@require_POST
def subject_request_extend(request, pk):
    return _subject_request_action(
        request,
        pk,
        SubjectRequestExtendForm,
        "extend_form",
        lambda sr, data: services.subject_request_extend(
            actor=request.user, subject_request=sr, **data
        ),
        "Deadline extended.",
    )


@login_required
@require_POST
def subject_request_close(request, pk):
    return _subject_request_action(
        request,
        pk,
        SubjectRequestCloseForm,
        "close_form",
        lambda sr, data: services.subject_request_close(
            actor=request.user, subject_request=sr, **data
        ),
        "Request answered.",
    )


@login_required
def subject_request_report(request, pk):
    """The access report as a JSON download (see README: why JSON)."""
    subject_request = get_subject_request_for_user(request.user, pk)
    report = services.subject_request_report(actor=request.user, subject_request=subject_request)
    response = JsonResponse(report, json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = (
        f'attachment; filename="{subject_request.reference}-report.json"'
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
def erasure_task_list(request):
    tasks = erasure_tasks_of(request.user)
    page = Paginator(tasks, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "customers/erasure_task_list.html",
        {"page": page, "confirm_form": ErasureConfirmForm()},
    )


@login_required
@require_POST
def erasure_task_confirm(request, pk):
    task = get_erasure_task_for_owner(request.user, pk)
    form = ErasureConfirmForm(request.POST)
    if form.is_valid():
        try:
            services.erasure_task_confirm(
                actor=request.user, task=task, note=form.cleaned_data["note"]
            )
        except ApplicationError as error:
            show_refusal(error, request=request)
        else:
            messages.success(request, f"Erasure for {task.request.reference} confirmed.")
    else:
        messages.error(request, "The note is too long.")
    return redirect("customers:erasure_task_list")


@login_required
def retention_list(request):
    """Assets past their retention date: all for compliance, their own for an owner."""
    assets = retention_list_for(request.user)
    page = Paginator(assets, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "customers/retention_list.html",
        {
            "page": page,
            "extend_form": RetentionExtendForm(),
            "delete_form": RetentionDeleteForm(),
        },
    )


def _retention_action(request, pk, form_class, call, done):
    asset = get_asset_for_user(request.user, pk)
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(e for errs in form.errors.values() for e in errs))
        return redirect("customers:retention_list")
    try:
        call(asset, form.cleaned_data)
    except ApplicationError as error:
        show_refusal(error, request=request)
    else:
        messages.success(request, done.format(asset=asset.name))
    return redirect("customers:retention_list")


@login_required
@require_POST
def retention_extend(request, pk):
    return _retention_action(
        request,
        pk,
        RetentionExtendForm,
        lambda asset, data: services.asset_retention_extend(
            actor=request.user, asset=asset, **data
        ),
        "New retention date recorded for {asset}.",
    )


@login_required
@require_POST
def retention_delete(request, pk):
    return _retention_action(
        request,
        pk,
        RetentionDeleteForm,
        lambda asset, data: services.asset_retention_delete(
            actor=request.user, asset=asset, **data
        ),
        "Deletion of {asset} recorded; the portal holds none of its customers now.",
    )
