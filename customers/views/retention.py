"""Retention pages: assets past their retention period, extended with a reason or deleted by
their owner."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from customers.forms import RetentionDeleteForm, RetentionExtendForm
from customers.selectors.retention import retention_list_for
from customers.services import retention as retention_services
from customers.views.assets import PAGE_SIZE
from customers.visibility import get_asset_for_user
from portal.errors import ApplicationError
from portal.refusals import show_refusal


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
        messages.success(request, done % {"asset": asset.name})
    return redirect("customers:retention_list")


@login_required
@require_POST
def retention_extend(request, pk):
    return _retention_action(
        request,
        pk,
        RetentionExtendForm,
        lambda asset, data: retention_services.asset_retention_extend(
            actor=request.user, asset=asset, **data
        ),
        _("New retention date recorded for %(asset)s."),
    )


@login_required
@require_POST
def retention_delete(request, pk):
    return _retention_action(
        request,
        pk,
        RetentionDeleteForm,
        lambda asset, data: retention_services.asset_retention_delete(
            actor=request.user, asset=asset, **data
        ),
        _("Deletion of %(asset)s recorded; the portal holds none of its customers now."),
    )
