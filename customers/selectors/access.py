"""Access requests as their requester and deciders see them, and the alternatives offered when a
request is refused for lack of consent coverage."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from consent.models import ConsentState, ConsentStatus, Purpose
from consent.selectors import coverage_for
from customers.models.access import AccessRequest, LevelRow
from customers.models.catalogue import AssetCustomer, DataAsset
from customers.visibility import asset_list_for
from portal import roles
from portal.approval_rows import PersonRow, StepRows, person_fields, someone_from, steps_by_chain
from portal.approvals import open_steps_for, steps_with_deciders
from portal.compiled_queries import CompiledQuery
from portal.languages import choice_label
from portal.models import ChainStatus, User
from portal.pagination import PagedRows, Ref
from portal.paths import object_path


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
    """Every access request with what its page shows."""
    return with_request_details(AccessRequest.objects.all())


@dataclass(frozen=True)
class ChainRow:
    """A request's approval chain as its row shows it."""

    pk: int
    status: str
    summary: str
    steps: StepRows

    def get_status_display(self) -> str:
        return choice_label(ChainStatus, self.status)


@dataclass(frozen=True)
class AccessRequestRow(LevelRow):
    """An access request as the lists show it (my requests, the approvals list, the API),
    from plain values: the same names a template or serializer reads from the model
    (``asset.name``, ``purpose.key``, ``chain.steps.all``...)."""

    pk: int
    asset: Ref
    purpose: Ref
    requester: PersonRow
    requester_id: int
    justification: str
    level: str
    duration_days: int
    created_at: datetime
    eligible_at_request: int
    total_at_request: int
    chain_id: int
    chain: ChainRow
    grant: Ref | None

    @property
    def status(self) -> str:
        return self.chain.status

    def get_absolute_url(self) -> str:
        """The path of the request's page, as ``AccessRequest.get_absolute_url`` gives it."""
        return object_path("customers:request_detail", self.pk)


REQUEST_ROW_FIELDS = (
    "pk",
    "asset_id",
    "asset__name",
    "purpose_id",
    "purpose__key",
    "requester_id",
    *person_fields("requester"),
    "justification",
    "level",
    "duration_days",
    "created_at",
    "eligible_at_request",
    "total_at_request",
    "chain_id",
    "chain__status",
    "chain__summary",
    "grant__id",
)


def access_request_rows(requests: QuerySet[AccessRequest]) -> list[AccessRequestRow]:
    """The rows of ``requests`` (a page, in its order): two queries of plain values (the
    requests, then their steps), whatever the number of rows."""
    return _access_request_rows(list(requests.prefetch_related(None).values(*REQUEST_ROW_FIELDS)))


def _access_request_rows(values: list[dict[str, Any]]) -> list[AccessRequestRow]:
    """``access_request_rows`` of the requests' values (``REQUEST_ROW_FIELDS``), in order."""
    steps = steps_by_chain(v["chain_id"] for v in values)
    return [
        AccessRequestRow(
            pk=v["pk"],
            asset=Ref(v["asset_id"], v["asset__name"]),
            purpose=Ref(v["purpose_id"], v["purpose__key"]),
            requester=someone_from(v, "requester"),
            requester_id=v["requester_id"],
            justification=v["justification"],
            level=v["level"],
            duration_days=v["duration_days"],
            created_at=v["created_at"],
            eligible_at_request=v["eligible_at_request"],
            total_at_request=v["total_at_request"],
            chain_id=v["chain_id"],
            chain=ChainRow(
                v["chain_id"],
                v["chain__status"],
                v["chain__summary"],
                steps.get(v["chain_id"], StepRows()),
            ),
            grant=None if v["grant__id"] is None else Ref(v["grant__id"], str(v["grant__id"])),
        )
        for v in values
    ]


def access_request_pages(requests: QuerySet[AccessRequest]) -> PagedRows[AccessRequestRow]:
    """``requests`` newest first, read a page at a time as plain rows."""
    return PagedRows(requests.order_by("-created_at", "-id"), access_request_rows)


def access_requests_on_chains(chain_ids: list[int]) -> list[AccessRequestRow]:
    """The access requests on these approval chains, as rows: the loader this kind
    registers with ``portal.approvals`` for the approvals list."""
    rows = _REQUESTS_ON_CHAINS.rows(None, sorted(set(chain_ids)))
    return _access_request_rows([dict(zip(REQUEST_ROW_FIELDS, row, strict=True)) for row in rows])


# The approvals list's statement for a page's requests, compiled once per number of chains.
_REQUESTS_ON_CHAINS = CompiledQuery(
    lambda shape, chain_ids: AccessRequest.objects.filter(chain_id__in=chain_ids).values_list(
        *REQUEST_ROW_FIELDS
    )
)


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
