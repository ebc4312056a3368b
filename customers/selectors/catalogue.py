"""The catalogue as a person browses it: search and filters over the assets they may see
(``customers.visibility``) and the owner choices; an asset's history is in ``asset_history``."""

from django.db.models import Q, QuerySet

from consent.models import DataCategory
from customers.models.catalogue import DataAsset
from customers.visibility import asset_list_for, with_catalogue_details
from portal.models import User


def asset_catalogue(
    user: User,
    *,
    q: str = "",
    classification: str = "",
    owner: User | None = None,
    category: DataCategory | None = None,
    confirmed: bool | None = None,
) -> QuerySet[DataAsset]:
    """The catalogue as ``user`` sees it, searched and filtered.

    ``category`` matches the category and its sub-categories (``user.contact`` finds assets
    holding ``user.contact.email``).
    """
    assets = asset_list_for(user)
    if q:
        assets = assets.filter(
            Q(name__icontains=q)
            | Q(description__icontains=q)
            | Q(owner__first_name__icontains=q)
            | Q(owner__last_name__icontains=q)
            | Q(owner__username__icontains=q)
        )
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


def asset_owner_choices(user: User) -> QuerySet[User]:
    """People who own at least one asset ``user`` can see: the values the owner filter
    accepts (an owner ``user`` cannot see owning anything is refused like an unknown id)."""
    from django.contrib.auth import get_user_model

    return (
        get_user_model()
        .objects.filter(pk__in=asset_list_for(user).values("owner_id"))
        .order_by("first_name", "last_name", "username")
    )
