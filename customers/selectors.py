"""Reads of customers and data assets that involve a rule."""

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from consent.models import DataCategory, Purpose
from customers.models import (
    AssetCustomer,
    Classification,
    Customer,
    DataAsset,
    DataAssetUserObjectPermission,
)
from portal import roles


def asset_list_for(user) -> QuerySet[DataAsset]:
    """The assets whose metadata ``user`` may see: the one answer to "may this user see it?".

    Every employee sees the catalogue, except ``restricted`` assets, which only their owner,
    compliance, legal and the holders of an object permission on them see.
    """
    assets = DataAsset.objects.all()
    if user is None or not user.is_authenticated or not user.is_active:
        return assets.none()
    if roles.is_compliance_or_legal(user):
        return assets
    granted = DataAssetUserObjectPermission.objects.filter(user=user).values("content_object_id")
    return assets.filter(
        ~Q(classification=Classification.RESTRICTED) | Q(owner=user) | Q(pk__in=granted)
    )


def customer_count_subquery():
    """The number of customers of the outer asset, counted for the rows fetched only."""
    counts = (
        AssetCustomer.objects.filter(asset=OuterRef("pk"))
        .order_by()
        .values("asset")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


def with_catalogue_details(assets: QuerySet[DataAsset]) -> QuerySet[DataAsset]:
    """Everything a catalogue row shows, in a fixed number of queries."""
    return (
        assets.select_related("owner", "classified_by")
        .prefetch_related(
            Prefetch("data_categories", queryset=DataCategory.objects.order_by("key")),
            Prefetch("collected_for", queryset=Purpose.objects.order_by("key")),
        )
        .annotate(customer_count=customer_count_subquery())
    )


def asset_catalogue(
    user,
    *,
    q: str = "",
    classification: str = "",
    owner=None,
    category: DataCategory | None = None,
    confirmed: bool | None = None,
) -> QuerySet[DataAsset]:
    """The catalogue as ``user`` sees it, searched and filtered.

    ``category`` matches the category and its sub-categories (``user.contact`` finds assets
    holding ``user.contact.email``).
    """
    assets = asset_list_for(user)
    if q:
        assets = assets.filter(Q(name__icontains=q) | Q(description__icontains=q))
    if classification:
        assets = assets.filter(classification=classification)
    if owner is not None:
        assets = assets.filter(owner=owner)
    if category is not None:
        matching = DataCategory.objects.filter(
            Q(key=category.key) | Q(key__startswith=category.key + ".")
        )
        assets = assets.filter(
            pk__in=DataAsset.data_categories.through.objects.filter(
                datacategory__in=matching
            ).values("dataasset_id")
        )
    if confirmed is not None:
        assets = assets.filter(classification_confirmed=confirmed)
    return with_catalogue_details(assets).order_by("name")


def asset_owner_choices(user):
    """People who own at least one asset ``user`` can see, for the owner filter."""
    from django.contrib.auth import get_user_model

    return (
        get_user_model()
        .objects.filter(pk__in=asset_list_for(user).values("owner_id"))
        .order_by("first_name", "last_name", "username")
    )


def asset_history(asset: DataAsset):
    """The asset's row history, newest first, with who made each change."""
    return asset.history.select_related("history_user").order_by("-history_date", "-history_id")


def customer_list_for(user) -> QuerySet[Customer]:
    """The customers whose records ``user`` may look up one by one: compliance and legal.

    Customer records are confidential; everyone else reaches customers only through an
    approved grant on an asset, never by id.
    """
    if user is None or not user.is_active or not roles.is_compliance_or_legal(user):
        return Customer.objects.none()
    return Customer.objects.all()
