from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from consent.forms import CoverageForm
from consent.selectors import coverage_for
from customers import services
from customers.forms import AssetClassifyForm, AssetFilterForm
from customers.permissions import get_asset_for_user
from customers.selectors import asset_catalogue, asset_history
from portal import roles
from portal.errors import ApplicationError

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
