from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from consent.forms import CoverageForm
from consent.selectors import coverage_for
from customers import services
from customers.exports import csv_response
from customers.forms import (
    AccessRequestForm,
    AssetClassifyForm,
    AssetFilterForm,
    DecisionForm,
    GrantFilterForm,
    RevokeForm,
)
from customers.permissions import (
    get_access_request_for_user,
    get_asset_for_user,
    get_grant_for_reading,
    get_grant_for_user,
)
from customers.selectors import (
    access_requests_of,
    access_requests_waiting_for,
    asset_catalogue,
    asset_history,
    grant_list_for,
    other_active_grants_by_user,
)
from customers.selectors import grant_records as grant_records_selector
from portal import roles
from portal.approvals import why_not_decider
from portal.errors import ApplicationError, NotAllowed

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


def _detail_context(request, asset, classify_form=None):
    can_classify = roles.is_compliance(request.user)
    coverage_form = CoverageForm(request.GET or None)
    coverage = None
    if coverage_form.is_valid() and coverage_form.cleaned_data["purpose"]:
        coverage = coverage_for(asset, coverage_form.cleaned_data["purpose"])
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
    return context


@login_required
def asset_detail(request, pk):
    asset = get_asset_for_user(request.user, pk)
    return render(request, "customers/asset_detail.html", _detail_context(request, asset))


@login_required
@require_POST
def asset_classify(request, pk):
    asset = get_asset_for_user(request.user, pk)
    if not roles.is_compliance(request.user):
        raise PermissionDenied("Only a compliance officer can confirm or change a classification.")
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
            form.add_error(error.field, error.message)
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


# --- Access requests ---------------------------------------------------------------------


@login_required
def request_create(request):
    initial = {}
    if request.GET.get("asset", "").isdigit():
        initial["asset"] = request.GET["asset"]
    form = AccessRequestForm(request.POST or None, user=request.user, initial=initial)
    context = {"form": form, "coverage": None, "refusal": None}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if "check" in request.POST:
            # The no-JavaScript way to see the coverage before submitting.
            context["coverage"] = coverage_for(data["asset"], data["purpose"])
            return render(request, "customers/request_form.html", context)
        try:
            access_request = services.access_request_create(actor=request.user, **data)
        except services.CoverageRefusal as refusal:
            context["refusal"] = refusal
            return render(request, "customers/request_form.html", context, status=400)
        except ApplicationError as error:
            form.add_error(error.field, error.message)
        else:
            messages.success(
                request,
                f"Request sent: {access_request.eligible_at_request:,} of "
                f"{access_request.total_at_request:,} customers eligible. "
                "You will be notified of each decision.",
            )
            return redirect("customers:request_detail", pk=access_request.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "customers/request_form.html", context, status=status)


@login_required
def request_list(request):
    page = Paginator(access_requests_of(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "customers/request_list.html", {"page": page})


@login_required
def approvals_waiting(request):
    # Paginated: a compliance officer of a large company has hundreds of requests waiting.
    page = Paginator(access_requests_waiting_for(request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    other_grants = other_active_grants_by_user(r.requester_id for r in page.object_list)
    rows = [(r, other_grants.get(r.requester_id, [])) for r in page.object_list]
    return render(request, "customers/approvals.html", {"rows": rows, "page": page})


def _request_context(request, access_request, decision_form=None):
    open_step = next(
        (step for step in access_request.chain.steps.all() if step.status == "open"), None
    )
    can_decide = open_step is not None and not why_not_decider(request.user, open_step)
    return {
        "access_request": access_request,
        "steps": access_request.chain.steps.all(),
        "open_step": open_step,
        "can_decide": can_decide,
        "decision_form": decision_form or (DecisionForm() if can_decide else None),
        "can_withdraw": access_request.requester_id == request.user.pk
        and access_request.chain.status == "pending",
        "coverage": coverage_for(access_request.asset, access_request.purpose),
        "other_grants": other_active_grants_by_user([access_request.requester_id]).get(
            access_request.requester_id, []
        ),
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
        except NotAllowed as error:
            raise PermissionDenied(error.message) from error
        except ApplicationError as error:
            messages.error(request, error.message)
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
    except NotAllowed as error:
        raise PermissionDenied(error.message) from error
    except ApplicationError as error:
        messages.error(request, error.message)
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
    elif not roles.is_compliance(request.user):
        raise Http404("Only compliance sees every grant.")
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
        except NotAllowed as error:
            raise PermissionDenied(error.message) from error
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"Access of {grant.user} to {grant.asset} revoked.")
    return redirect(request.POST.get("next") if _safe_next(request) else "customers:grant_list")


def _safe_next(request) -> bool:
    from django.utils.http import url_has_allowed_host_and_scheme

    return url_has_allowed_host_and_scheme(
        request.POST.get("next"), allowed_hosts={request.get_host()}
    )


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
