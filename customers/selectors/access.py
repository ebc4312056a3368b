"""Access requests as their requester and deciders see them, and the alternatives offered when a
request is refused for lack of consent coverage."""

from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from consent.models import ConsentState, ConsentStatus, Purpose
from consent.selectors import coverage_for
from customers.models.access import AccessRequest
from customers.models.catalogue import AssetCustomer, DataAsset
from customers.visibility import asset_list_for
from portal import roles
from portal.approvals import open_steps_for, steps_with_deciders
from portal.models import User


def access_alternatives(user: User, asset: DataAsset, purpose: Purpose, *, limit: int = 5) -> dict:
    """What would work instead of a refused request: other purposes with their coverage on
    this asset, and other assets the user can see with coverage for this purpose."""
    nearby = Q(key__in=purpose.ancestor_keys) | Q(parent_id=purpose.parent_id)
    candidates = (
        Purpose.objects.filter(active=True)
        .filter(nearby | Q(pk__in=asset.collected_for.values("pk")))
        .exclude(pk=purpose.pk)
        .order_by("key")
    )
    purposes: list[dict[str, Any]] = []
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
    return Prefetch("chain__steps", queryset=steps_with_deciders())


def with_request_details(requests: QuerySet[AccessRequest]) -> QuerySet[AccessRequest]:
    """Everything a request's row shows, in a fixed number of queries."""
    return requests.select_related(
        "asset", "purpose", "requester", "chain", "grant"
    ).prefetch_related(steps_in_order())


def access_request_list_for(user: User) -> QuerySet[AccessRequest]:
    """Requests ``user`` may see: their own, those on assets they own, every request for
    compliance and legal, and those where they are a decider of a step."""
    requests = AccessRequest.objects.all()
    if not roles.is_compliance_or_legal(user):
        requests = requests.filter(Q(requester=user) | Q(asset__owner=user))
    return with_request_details(requests)


def access_requests_of(user: User) -> QuerySet[AccessRequest]:
    return with_request_details(AccessRequest.objects.filter(requester=user))


def access_requests_for_approvers() -> QuerySet[AccessRequest]:
    """Every access request with what its row in the approvals list shows (the loader this
    kind registers with ``portal.approvals``; the list filters it to the open steps)."""
    return with_request_details(AccessRequest.objects.all())


def access_requests_waiting_for(user: User) -> QuerySet[AccessRequest]:
    """Access requests with a step ``user`` may decide now (the engine's ``open_steps_for``),
    oldest first: what the request's loader lets a decider see."""
    return (
        access_requests_for_approvers()
        .filter(chain__in=open_steps_for(user).values("chain"))
        .order_by("created_at", "id")
    )


def assets_with_coverage_candidates(
    assets: QuerySet[DataAsset], purpose: Purpose
) -> QuerySet[DataAsset]:
    """Of ``assets``, those that may have eligible customers for ``purpose``: collected for
    it (or an ancestor) when its basis is not consent, or holding a customer with a current
    grant of consent for it or an ancestor. A cheap pre-filter before exact coverage."""
    consented = ConsentState.objects.filter(
        purpose__key__in=purpose.ancestor_keys, status=ConsentStatus.GRANTED
    ).values("customer_id")
    holding = AssetCustomer.objects.filter(customer_id__in=consented).values("asset_id")
    condition = Q(pk__in=holding)
    if not purpose.needs_consent:
        condition |= Q(collected_for__key__in=purpose.ancestor_keys)
    return assets.filter(condition).distinct().order_by("name")
