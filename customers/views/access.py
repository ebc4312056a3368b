"""Access request pages: asking for access, one's own requests, a request's page with its
decision form, and the approvals waiting for the viewer."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from consent.coverage_cache import cached_coverage_for
from customers.forms import AccessRequestForm, DecisionForm
from customers.permissions import get_access_request_for_user
from customers.selectors.access import access_request_pages, access_requests_of
from customers.selectors.grants import NO_OTHER_GRANTS, other_active_grants_by_user
from customers.services import access as access_services
from customers.views.assets import PAGE_SIZE
from portal.approvals import approvals_waiting_for, why_not_decider
from portal.display import number_text
from portal.errors import ApplicationError, CoverageRefusal
from portal.idempotency import ALREADY_SENT, create_once
from portal.input_limits import as_id
from portal.pagination import OneReadPaginator
from portal.query_plans import keeps_plans
from portal.refusals import show_refusal


@login_required
def request_create(request):
    initial = {}
    if as_id(request.GET.get("asset")) is not None:
        initial["asset"] = request.GET["asset"]
    form = AccessRequestForm(request.POST or None, user=request.user, initial=initial)
    context = {"form": form, "coverage": None, "refusal": None}
    if request.method == "POST" and "check" in request.POST:
        return _check_coverage(request, form, context)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            access_request, url = create_once(
                request,
                lambda: access_services.access_request_create(actor=request.user, **data),
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
                    ngettext(
                        "Request sent: %(eligible)s of %(total)s customer eligible. "
                        "You will be notified of each decision.",
                        "Request sent: %(eligible)s of %(total)s customers eligible. "
                        "You will be notified of each decision.",
                        access_request.total_at_request,
                    )
                    % {
                        "eligible": number_text(access_request.eligible_at_request),
                        "total": number_text(access_request.total_at_request),
                    },
                )
            return redirect(url)
    status = 400 if request.method == "POST" else 200
    return render(request, "customers/request_form.html", context, status=status)


def _check_coverage(request, form, context):
    """The no-JavaScript "Check coverage" button: how many customers of the chosen asset may
    be used for the chosen purpose, before the rest of the form is filled in.

    Only the asset and the purpose are needed; the other fields keep what was typed and show
    no error yet. Without both, the form is shown with its errors. Nothing is saved.
    """
    form.is_valid()
    chosen = form.cleaned_data
    if "asset" not in chosen or "purpose" not in chosen:
        return render(request, "customers/request_form.html", context, status=400)
    context["form"] = AccessRequestForm(initial=request.POST.dict(), user=request.user)
    context["coverage"] = cached_coverage_for(chosen["asset"], chosen["purpose"])
    context["coverage_purpose"] = chosen["purpose"]
    return render(request, "customers/request_form.html", context)


@login_required
def request_list(request):
    requests = access_request_pages(access_requests_of(request.user))
    page = Paginator(requests, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "customers/request_list.html", {"page": page})


@login_required
@keeps_plans  # every statement finds rows by the reader or by id: one plan serves all
def approvals_waiting(request):
    # One list of every kind of request (access, external sharing), oldest first, read
    # from the approval engine a page at a time: a compliance officer of a large company
    # has hundreds waiting, joined to their chains and sorted: the page and its count are
    # one scan of them (OneReadPaginator), not two.
    page = OneReadPaginator(approvals_waiting_for(request.user), PAGE_SIZE).get_page(
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
            access_services.access_request_decide(
                access_request=access_request,
                actor=request.user,
                approve=approve,
                reason=form.cleaned_data["reason"],
            )
        except ApplicationError as error:
            show_refusal(error, request=request)
        else:
            messages.success(request, _("Approved.") if approve else _("Denied."))
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
        access_services.access_request_withdraw(access_request=access_request, actor=request.user)
    except ApplicationError as error:
        show_refusal(error, request=request)
    else:
        messages.success(request, _("Request withdrawn."))
    return redirect("customers:request_detail", pk=access_request.pk)
