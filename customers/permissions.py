"""Per-object loaders: an object the user may not see is a 404, never a 403."""

from django.shortcuts import get_object_or_404

from customers.models import Customer, DataAsset
from customers.selectors import asset_list_for, customer_list_for, with_catalogue_details


def get_asset_for_user(user, pk) -> DataAsset:
    return get_object_or_404(with_catalogue_details(asset_list_for(user)), pk=pk)


def get_customer_for_user(user, pk) -> Customer:
    return get_object_or_404(customer_list_for(user), pk=pk)
