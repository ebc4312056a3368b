"""Who may see which data asset and which customer: the one 404 rule of the catalogue.

An asset or customer a user may not see answers 404, never 403 (design.md, customers and
data assets). Access (requests, grants, records) and sharing both load what the user names
through these functions, so this module stands below both: it reads only the models and
the role rules of ``portal``.
"""

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from consent.models import DataCategory, Purpose
from customers.models.access import AccessGrant
from customers.models.catalogue import (
    Classification,
    Customer,
    DataAsset,
    DataAssetUserObjectPermission,
)
from portal import roles
from portal.compiled_queries import CompiledQuery
from portal.input_limits import as_id
from portal.models import User

# Who may ask: a signed-in user, an anonymous visitor, or nobody (a task).
AnyUser = User | AnonymousUser | None


def asset_list_for(user: AnyUser) -> QuerySet[DataAsset]:
    """The assets whose metadata ``user`` may see: the one answer to "may this user see it?".

    Every employee sees the catalogue, except ``restricted`` assets, which only their owner,
    compliance, legal and their grantees see (``granted_asset_ids``: an active grant whose
    permission is in place). A permission row left behind by an expired grant, before the
    beat job removes it, shows nothing: a late job must never extend access (design.md,
    grants point 5).
    """
    return assets_in_scope(catalogue_scope(user), getattr(user, "pk", None))


class Scope:
    """Which assets a person sees (``catalogue_scope``)."""

    NONE = "none"  # nobody signed in, a deactivated account
    EVERY = "every"  # compliance and legal (``sees_every_asset``)
    VISIBLE = "visible"  # everyone else: ``visible_to``


def catalogue_scope(user: AnyUser) -> str:
    """``user``'s ``Scope`` (a ``str``: ``Scope.NONE``, ``EVERY`` or ``VISIBLE``): the part
    of ``asset_list_for``'s rule that depends on who they are, not on their id (a list
    compiled once per scope takes the id as a value). Reads the user's groups (cached on
    the user); raises nothing."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Scope.NONE
    return Scope.EVERY if sees_every_asset(user) else Scope.VISIBLE


def assets_in_scope(
    scope: str, user_id: int | None = None, now: datetime | None = None
) -> QuerySet[DataAsset]:
    """The assets of ``scope`` (``catalogue_scope``): none, every one, or those visible to
    the person ``user_id`` at ``now`` (an aware datetime; default this moment), for
    ``Scope.VISIBLE`` (``ValueError`` without ``user_id``)."""
    assets = DataAsset.objects.all()
    if scope == Scope.NONE:
        return assets.none()
    if scope == Scope.EVERY:
        return assets
    if user_id is None:
        raise ValueError("The visible assets are someone's: give their id.")
    return assets.filter(visible_to(user_id, now=now))


def visible_to(user: User | int, *, through: str = "", now: datetime | None = None) -> Q:
    """``asset_list_for``'s condition for an active person (a ``User`` or their id) who
    does not see every asset (``sees_every_asset`` false), on an asset reached through
    ``through`` (``""`` on the asset itself, ``"asset__"`` from a grant): not restricted,
    owned by ``user``, or held through a grant active at ``now`` (an aware datetime;
    default this moment; ``granted_asset_ids``). Tested on the asset's own row, where a
    query joins it anyway, rather than as a list of every visible asset. Raises nothing:
    an unknown ``through`` fails when the query is built (Django's ``FieldError``)."""
    return (
        ~Q(**{f"{through}classification": Classification.RESTRICTED})
        | Q(**{f"{through}owner": user})
        | Q(**{f"{through}pk__in": granted_asset_ids(user, now=now)})
    )


def sees_every_asset(user: AnyUser) -> bool:
    """True when ``user`` (an active, signed-in person) sees every asset, restricted ones
    included: compliance and legal (design.md, roles). ``asset_list_for`` is the whole
    rule; this is its shortcut for reads that would only filter by it."""
    return roles.is_compliance_or_legal(user)


def active_grants(now: datetime | None = None) -> QuerySet[AccessGrant]:
    """Grants usable at ``now`` (an aware datetime; default this moment): not revoked and
    not past ``expires_at``. The one definition of "active" for every read that follows
    from a grant: an expired grant ends at its expiry, not when the beat job removes its
    permission rows (design.md, "every read checks the expiry itself")."""
    return AccessGrant.objects.filter(revoked_at__isnull=True, expires_at__gt=now or timezone.now())


def granted_asset_ids(user: User | int, *, now: datetime | None = None) -> QuerySet:
    """Ids (``asset_id`` values) of the assets ``user`` (a ``User`` or their id) holds a
    grant on, active at ``now`` (an aware datetime; default this moment), whose
    ``view_records`` object permission is still in place: the grantees of design.md's
    catalogue rule. A permission row alone (a grant that expired before the expiry job ran,
    or a permission given by hand in the admin) makes nothing visible; records read
    through ``get_grant_for_reading`` apply the same two checks."""
    permission_rows = DataAssetUserObjectPermission.objects.filter(
        user=user, content_object_id=OuterRef("asset_id"), permission__codename="view_records"
    )
    return active_grants(now).filter(user=user).filter(Exists(permission_rows)).values("asset_id")


def with_catalogue_details(assets: QuerySet[DataAsset]) -> QuerySet[DataAsset]:
    """Everything a catalogue row shows, in a fixed number of queries."""
    return assets.select_related("owner", "classified_by").prefetch_related(
        Prefetch("data_categories", queryset=DataCategory.objects.order_by("key")),
        Prefetch("collected_for", queryset=Purpose.objects.order_by("key")),
    )


def customer_list_for(user: AnyUser) -> QuerySet[Customer]:
    """The customers whose records ``user`` may look up one by one: compliance and legal.

    Customer records are confidential; everyone else reaches customers only through an
    approved grant on an asset, never by id.
    """
    if user is None or not user.is_active or not roles.is_compliance_or_legal(user):
        return Customer.objects.none()
    return Customer.objects.all()


def get_asset_for_user(user: AnyUser, pk: object) -> DataAsset:
    """The asset ``pk`` (an id, as typed) with its catalogue details, if ``user`` may see
    it (``asset_list_for``); raises ``Http404`` otherwise, a hidden asset and an id that is
    no id (``as_id``) included. One statement compiled once per scope (``CompiledQuery``:
    the asset's id, the reader's and the clock are its values), then the two prefetches."""
    asset_id = as_id(pk)
    scope = catalogue_scope(user)
    if asset_id is None or scope == Scope.NONE:
        raise Http404
    values: tuple[Any, ...] = (asset_id,)
    if scope == Scope.VISIBLE:
        values += (getattr(user, "pk", None), timezone.now())
    found = _ASSET_FOR_USER.objects(scope, values)
    if not found:
        raise Http404
    return found[0]


_ASSET_FOR_USER = CompiledQuery(
    lambda scope, values: with_catalogue_details(assets_in_scope(scope, *values[1:])).filter(
        pk=values[0]
    )
)


def get_customer_for_user(user: AnyUser, pk: object) -> Customer:
    """The customer ``pk`` (an id, as typed) if ``user`` may look customers up
    (``customer_list_for``); raises ``Http404`` otherwise."""
    return get_object_or_404(customer_list_for(user), pk=pk)
