"""Grant pages: the grant lists by scope, revoking, reading records and exporting them."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from customers.forms import GrantFilterForm, RevokeForm
from customers.permissions import get_grant_for_reading, get_grant_for_user
from customers.selectors.grants import grant_list_for, grant_pages
from customers.selectors.grants import grant_records as grant_records_selector
from customers.services import exports as exports_services
from customers.services import grants as grants_services
from customers.views.assets import PAGE_SIZE
from portal.csv_export import csv_response
from portal.errors import ApplicationError
from portal.pagination import OneReadPaginator, other_parameters
from portal.permissions import check_compliance_page
from portal.refusals import show_refusal
from portal.security import local_url

# The records page's column headings, as people read them (the CSV export's header row keeps
# the column names: a machine format).
RECORD_COLUMN_HEADINGS = {
    "id": pgettext_lazy("record column", "id"),
    "name": pgettext_lazy("record column", "name"),
    "email": pgettext_lazy("record column", "email"),
    "phone": pgettext_lazy("record column", "phone"),
    "organisation": pgettext_lazy("record column", "organisation"),
    "country": pgettext_lazy("record column", "country"),
}

GRANT_SCOPES = {
    "mine": _("My grants"),
    "owned": _("Grants on my assets"),
    "all": _("All grants"),
}


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
    page = Paginator(grant_pages(grants), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "customers/grant_list.html",
        {
            "page": page,
            "scope": scope,
            "title": GRANT_SCOPES[scope],
            "form": form if scope == "all" else None,
            "query": other_parameters(request),
            "revoke_form": RevokeForm(),
        },
    )


@login_required
@require_POST
def grant_revoke(request, pk):
    grant = get_grant_for_user(request.user, pk)
    form = RevokeForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("Give the reason for revoking this grant."))
    else:
        try:
            grants_services.grant_revoke(
                grant=grant, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ApplicationError as error:
            show_refusal(error, request=request)
        else:
            messages.success(
                request,
                gettext("Access of %(user)s to %(asset)s revoked.")
                % {"user": grant.user, "asset": grant.asset},
            )
    return redirect(local_url(request, request.POST.get("next"), default="customers:grant_list"))


@login_required
def grant_records(request, pk):
    grant = get_grant_for_reading(request.user, pk)
    columns, rows = grant_records_selector(grant)
    # Eligibility is decided over every customer of the asset: the page and its count are
    # one scan of them (OneReadPaginator), not two.
    page = OneReadPaginator(rows, 50).get_page(request.GET.get("page"))
    exports_services.records_viewed(
        grant=grant, actor=request.user, page_number=page.number, shown=len(page.object_list)
    )
    return render(
        request,
        "customers/grant_records.html",
        {
            "grant": grant,
            "columns": [RECORD_COLUMN_HEADINGS.get(column, column) for column in columns],
            "page": page,
        },
    )


@login_required
def grant_export(request, pk):
    grant = get_grant_for_reading(request.user, pk, export=True)
    batch = exports_services.grant_export_start(grant=grant, actor=request.user)
    return csv_response(
        filename=batch.filename,
        columns=batch.columns,
        rows=batch.rows,
        extra_headers={"X-Export-Id": batch.export_id, "X-Export-Rows": str(batch.count)},
    )
