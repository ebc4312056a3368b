"""Data subject request pages (compliance): customer search and footprint, the requests with
their extension, closing and access report, and the owners' erasure tasks."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from customers.forms import (
    CustomerSearchForm,
    ErasureConfirmForm,
    FootprintPeriodForm,
    SubjectRequestCloseForm,
    SubjectRequestExtendForm,
    SubjectRequestForm,
)
from customers.permissions import (
    get_customer_footprint_for_user,
    get_erasure_task_for_owner,
    get_subject_request_for_user,
)
from customers.selectors.customer_search import (
    customer_search as customer_search_selector,
)
from customers.selectors.footprint import customer_footprint as customer_footprint_selector
from customers.selectors.subject_requests import erasure_tasks_of, subject_request_list_for
from customers.services import subject_requests as subject_requests_services
from customers.views.assets import PAGE_SIZE
from customers.visibility import get_customer_for_user
from portal.display import date_text
from portal.errors import ApplicationError
from portal.idempotency import ALREADY_SENT, create_once
from portal.pagination import SortedUpToCapPaginator, other_parameters
from portal.permissions import check_compliance_page
from portal.refusals import show_refusal

# The most matches a customer search sorts by name; past it they are listed by id, and the
# page asks for more of the name, the e-mail address or the id.
CUSTOMER_SEARCH_SORTED_MAX = 1_000


@login_required
def customer_search(request):
    """Find a customer by e-mail, name or id (compliance only; 404 for everyone else)."""
    check_compliance_page(request.user)
    form = CustomerSearchForm(request.GET or None)
    page = None
    if form.is_valid() and form.cleaned_data["q"]:
        found = customer_search_selector(request.user, form.cleaned_data["q"])
        # Sorted by name up to a thousand matches; a broader search is listed by id (read
        # in the primary key's order until the page is full, where the matches are many)
        # and says so.
        page = SortedUpToCapPaginator(
            found, PAGE_SIZE, cap=CUSTOMER_SEARCH_SORTED_MAX, indexed_order=("id",)
        ).get_page(request.GET.get("page"))
    return render(
        request,
        "customers/customer_search.html",
        {"form": form, "page": page, "query": other_parameters(request)},
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
            form.add_error("customer", _("Unknown customer."))
        else:
            try:
                subject_request, url = create_once(
                    request,
                    lambda: subject_requests_services.subject_request_create(
                        actor=request.user, **data
                    ),
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
                        _("%(reference)s registered; due %(date)s.")
                        % {
                            "reference": subject_request.reference,
                            "date": date_text(subject_request.due_on),
                        },
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
        lambda sr, data: subject_requests_services.subject_request_extend(
            actor=request.user, subject_request=sr, **data
        ),
        _("Deadline extended."),
    )


@login_required
@require_POST
def subject_request_close(request, pk):
    return _subject_request_action(
        request,
        pk,
        SubjectRequestCloseForm,
        "close_form",
        lambda sr, data: subject_requests_services.subject_request_close(
            actor=request.user, subject_request=sr, **data
        ),
        _("Request answered."),
    )


@login_required
def subject_request_report(request, pk):
    """The access report as a JSON download (see docs/subject-requests.md: why JSON)."""
    subject_request = get_subject_request_for_user(request.user, pk)
    report = subject_requests_services.subject_request_report(
        actor=request.user, subject_request=subject_request
    )
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
            subject_requests_services.erasure_task_confirm(
                actor=request.user, task=task, note=form.cleaned_data["note"]
            )
        except ApplicationError as error:
            show_refusal(error, request=request)
        else:
            messages.success(
                request,
                _("Erasure for %(reference)s confirmed.") % {"reference": task.request.reference},
            )
    else:
        messages.error(request, _("The note is too long."))
    return redirect("customers:erasure_task_list")
