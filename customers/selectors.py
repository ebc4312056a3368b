"""Reads of customers and data assets that involve a rule."""

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from consent.models import DataCategory, Purpose
from customers.models import (
    AccessGrant,
    AccessRequest,
    AssetCustomer,
    Classification,
    Customer,
    DataAsset,
    DataAssetUserObjectPermission,
)
from portal import roles
from portal.approvals import open_steps_for
from portal.models import ApprovalStep


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


# --- Access requests and grants --------------------------------------------------------


def access_alternatives(user, asset: DataAsset, purpose: Purpose, *, limit: int = 5) -> dict:
    """What would work instead of a refused request: other purposes with their coverage on
    this asset, and other assets the user can see with coverage for this purpose."""
    from consent.selectors import coverage_for

    nearby = Q(key__in=purpose.ancestor_keys) | Q(parent_id=purpose.parent_id)
    candidates = (
        Purpose.objects.filter(active=True)
        .filter(nearby | Q(pk__in=asset.collected_for.values("pk")))
        .exclude(pk=purpose.pk)
        .order_by("key")
    )
    purposes = []
    for candidate in candidates:
        coverage = coverage_for(asset, candidate)
        if coverage.eligible:
            purposes.append(
                {"purpose": candidate.key, "eligible": coverage.eligible, "total": coverage.total}
            )
    purposes.sort(key=lambda row: (-row["eligible"], row["purpose"]))

    assets = []
    visible = asset_list_for(user).exclude(pk=asset.pk)
    for other in assets_with_coverage_candidates(visible, purpose)[: limit * 4]:
        coverage = coverage_for(other, purpose)
        if coverage.eligible:
            assets.append(
                {
                    "id": other.pk,
                    "name": other.name,
                    "eligible": coverage.eligible,
                    "total": coverage.total,
                }
            )
        if len(assets) == limit:
            break
    return {"purposes": purposes[:limit], "assets": assets}


def steps_in_order() -> Prefetch:
    return Prefetch(
        "chain__steps",
        queryset=ApprovalStep.objects.select_related("decided_by", "approver").order_by("position"),
    )


def access_request_list_for(user) -> QuerySet[AccessRequest]:
    """Requests ``user`` may see: their own, those on assets they own, every request for
    compliance and legal, and those where they are a decider of a step."""
    requests = AccessRequest.objects.all()
    if not roles.is_compliance_or_legal(user):
        requests = requests.filter(Q(requester=user) | Q(asset__owner=user))
    return requests.select_related(
        "asset", "purpose", "requester", "chain", "grant"
    ).prefetch_related(steps_in_order())


def access_requests_of(user) -> QuerySet[AccessRequest]:
    return (
        AccessRequest.objects.filter(requester=user)
        .select_related("asset", "purpose", "requester", "chain", "grant")
        .prefetch_related(steps_in_order())
    )


def access_requests_waiting_for(user) -> QuerySet[AccessRequest]:
    # Two steps on purpose: the ids of the chains waiting for the user (a few hundred at
    # most, from the open-step index), then their requests by chain id. As one statement,
    # a join to the steps or an IN subquery, PostgreSQL joined all 25,000 requests with
    # their related rows before keeping the few waiting ones (the subquery's tables and
    # the select_related joins exceed its join-reordering limit): 180 ms instead of 5.
    chain_ids = list(open_steps_for(user).order_by().values_list("chain_id", flat=True))
    return (
        AccessRequest.objects.filter(chain_id__in=chain_ids)
        .select_related("asset", "purpose", "requester", "chain", "grant")
        .prefetch_related(steps_in_order())
        .order_by("created_at", "id")
    )


def active_grants() -> QuerySet[AccessGrant]:
    return AccessGrant.objects.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


def grant_list_for(user) -> QuerySet[AccessGrant]:
    """Grants ``user`` may see: their own, those on assets they own, all for compliance."""
    grants = AccessGrant.objects.all()
    if not roles.is_compliance(user):
        grants = grants.filter(Q(user=user) | Q(asset__owner=user))
    return grants.select_related("asset", "purpose", "user", "revoked_by")


def other_active_grants_by_user(user_ids) -> dict[int, list[AccessGrant]]:
    """Active grants of each requester, for approvers deciding a new request."""
    result: dict[int, list[AccessGrant]] = {}
    for grant in active_grants().filter(user_id__in=set(user_ids)).select_related("asset"):
        result.setdefault(grant.user_id, []).append(grant)
    return result


# Which customer field each data category releases (data minimisation: a records page or an
# export shows only the columns of the asset's categories, plus the customer's id).
CATEGORY_COLUMNS = [
    ("user.name", "name"),
    ("user.contact.email", "email"),
    ("user.contact.phone_number", "phone"),
    ("user.contact.organization", "organisation"),
    ("user.workplace", "organisation"),
    ("user.contact.address.country", "country"),
]


def record_columns(asset: DataAsset) -> list[str]:
    """The customer columns the asset's data categories cover, in a fixed order.

    A category covers a column when it is the column's category or an ancestor of it
    (``user.contact`` covers e-mail and phone).
    """
    keys = [category.key for category in asset.data_categories.all()]
    columns = ["id"]
    for column_key, field in CATEGORY_COLUMNS:
        covered = any(column_key == key or column_key.startswith(key + ".") for key in keys)
        if covered and field not in columns:
            columns.append(field)
    return columns


def grant_records(grant: AccessGrant):
    """The customers readable through ``grant`` right now: eligible for its purpose at
    this moment (the consent selectors, never a copy), only the allowed columns."""
    from consent.selectors import eligible_customers

    columns = record_columns(grant.asset)
    return columns, eligible_customers(grant.asset, grant.purpose).order_by("id").values(*columns)


def customer_list_for(user) -> QuerySet[Customer]:
    """The customers whose records ``user`` may look up one by one: compliance and legal.

    Customer records are confidential; everyone else reaches customers only through an
    approved grant on an asset, never by id.
    """
    if user is None or not user.is_active or not roles.is_compliance_or_legal(user):
        return Customer.objects.none()
    return Customer.objects.all()


def assets_with_coverage_candidates(assets: QuerySet[DataAsset], purpose: Purpose):
    """Of ``assets``, those that may have eligible customers for ``purpose``: collected for
    it (or an ancestor) when its basis is not consent, or holding a customer with a current
    grant of consent for it or an ancestor. A cheap pre-filter before exact coverage."""
    from consent.models import ConsentState, ConsentStatus

    consented = ConsentState.objects.filter(
        purpose__key__in=purpose.ancestor_keys, status=ConsentStatus.GRANTED
    ).values("customer_id")
    holding = AssetCustomer.objects.filter(customer_id__in=consented).values("asset_id")
    condition = Q(pk__in=holding)
    if not purpose.needs_consent:
        condition |= Q(collected_for__key__in=purpose.ancestor_keys)
    return assets.filter(condition).distinct().order_by("name")
