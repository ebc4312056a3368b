"""Catalogue pages: the asset list, an asset's page, and the compliance forms on it
(classification, owner, collection purposes)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from consent.coverage_cache import cached_coverage_for
from consent.forms import CoverageForm
from customers import policies
from customers.forms import (
    AssetClassifyForm,
    AssetCollectionPurposesForm,
    AssetFilterForm,
    AssetOwnerForm,
)
from customers.models.catalogue import class_word
from customers.selectors.asset_history import asset_history_entries
from customers.selectors.catalogue import asset_catalogue
from customers.services import assets as assets_services
from customers.services.stewardship import asset_collection_purposes_change, asset_owner_change
from customers.visibility import get_asset_for_user
from portal.errors import ApplicationError
from portal.pagination import OneReadPaginator, other_parameters
from portal.refusals import show_refusal

PAGE_SIZE = 25


@login_required
def asset_list(request):
    form = AssetFilterForm(request.GET or None, user=request.user)
    filters = form.filters() if form.is_valid() else {}
    # A search matches most of the catalogue ("customers": 1,725 of 2,000 assets): the page
    # and its count are one scan of the matches (OneReadPaginator), not two.
    page = OneReadPaginator(asset_catalogue(request.user, **filters), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "customers/asset_list.html",
        {"form": form, "page": page, "query": other_parameters(request)},
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
        context["history"] = asset_history_entries(asset)
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
    policies.require_may_manage_asset(request.user, _("confirm or change a classification"))
    form = AssetClassifyForm(request.POST)
    if form.is_valid():
        try:
            assets_services.asset_classify(
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
                _("%(asset)s is now %(class)s, confirmed.")
                % {
                    "asset": asset.name,
                    "class": class_word(form.cleaned_data["classification"]),
                },
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
    policies.require_may_manage_asset(request.user, _("make this change"))
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
        service=asset_owner_change,
        done=lambda asset, data: (
            _("%(owner)s now owns %(asset)s.") % {"owner": data["owner"], "asset": asset.name}
        ),
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
        service=asset_collection_purposes_change,
        done=lambda asset, data: (
            _("Recorded what %(asset)s was collected for.") % {"asset": asset.name}
        ),
    )
