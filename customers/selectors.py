"""Reads of customers and data assets that involve a rule."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, F, Prefetch, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from consent.categories import record_columns
from consent.models import ConsentState, ConsentStatus, DataCategory, Purpose
from consent.selectors import consent_history, coverage_for, current_consents, eligible_customers
from customers.emails import normalise_email
from customers.models import (
    AccessGrant,
    AccessRequest,
    AssetCustomer,
    Customer,
    DataAsset,
)
from customers.visibility import (
    active_grants,
    asset_list_for,
    customer_list_for,
    with_catalogue_details,
)
from portal import roles
from portal.approvals import open_steps_for, steps_with_deciders
from portal.input_limits import as_id
from portal.models import User
from portal.site_calendar import add_months


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


def asset_history(asset: DataAsset) -> QuerySet[Any]:
    """The asset's row history, newest first, with who made each change."""
    return asset.history.select_related("history_user", "owner").order_by(
        "-history_date", "-history_id"
    )


# --- Access requests and grants --------------------------------------------------------


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


def grant_list_for(user: User) -> QuerySet[AccessGrant]:
    """Grants ``user`` may see: their own, those on assets they own, all for compliance."""
    grants = AccessGrant.objects.all()
    if not roles.is_compliance(user):
        grants = grants.filter(Q(user=user) | Q(asset__owner=user))
    return grants.select_related("asset", "purpose", "user", "revoked_by")


@dataclass(frozen=True)
class OtherGrant:
    asset_name: str
    purpose: str
    expires_at: datetime


@dataclass(frozen=True)
class OtherGrants:
    """A requester's active grants as an approver sees them: the latest few, and how many
    there are in all."""

    shown: Sequence[OtherGrant]
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.shown)


def other_active_grants_by_user(
    user_ids: Iterable[int], *, viewer: User, limit: int | None = None
) -> dict[int, OtherGrants]:
    """Active grants of each requester, for ``viewer`` deciding a new request: the latest
    ``limit`` of each (newest first) on assets the viewer may see, and how many there are
    in all. A grant on a restricted asset the viewer may not see is counted, never named.
    Two queries, whatever the number of grants."""
    active = active_grants().filter(user_id__in=set(user_ids))
    totals = active.order_by().values("user_id").annotate(n=Count("pk")).values_list("user_id", "n")
    named = (
        active.filter(asset__in=asset_list_for(viewer))
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=F("user_id"),
                order_by=[F("created_at").desc(), F("id").desc()],
            )
        )
        .order_by("user_id", "rank")
        .values_list("user_id", "asset__name", "purpose__key", "expires_at")
    )
    if limit is not None:
        named = named.filter(rank__lte=limit)
    shown: defaultdict[int, list[OtherGrant]] = defaultdict(list)
    for user_id, asset_name, purpose_key, expires_at in named:
        shown[user_id].append(OtherGrant(asset_name, purpose_key, expires_at))
    return {user_id: OtherGrants(shown[user_id], total) for user_id, total in totals}


NO_OTHER_GRANTS = OtherGrants((), 0)


def grant_records(grant: AccessGrant) -> tuple[list[str], QuerySet[Customer, dict[str, Any]]]:
    """The customers readable through ``grant`` right now: eligible for its purpose at
    this moment (the consent selectors, never a copy), only the allowed columns."""
    columns = record_columns(grant.asset)
    return columns, eligible_customers(grant.asset, grant.purpose).order_by("id").values(*columns)


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


# --- Data subject requests and retention -----------------------------------------------


def customer_search(user: User, q: str = "") -> QuerySet[Customer]:
    """Customers ``user`` may look up (compliance and legal), found by e-mail, name or id.

    A number matches the id exactly or the name/e-mail as text; anything else matches the
    name case-insensitively, or the e-mail as normalised when stored
    (``customers.emails.normalise_email``: ``Ola@BÜCHER.no`` finds ``ola@xn--bcher-kva.no``).
    """
    customers = customer_list_for(user)
    q = (q or "").strip()
    if q:
        condition = Q(name__icontains=q) | Q(email__icontains=normalise_email(q))
        if as_id(q) is not None:
            condition |= Q(pk=as_id(q))
        customers = customers.filter(condition)
    return customers.order_by("name", "id")


def subject_request_list_for(user: User | AnonymousUser | None) -> QuerySet:
    """Data subject requests ``user`` may see: compliance only (the requests name the
    customer and what they asked for; legal and owners see only their own tasks)."""
    from customers.models import DataSubjectRequest

    if user is None or not user.is_active or not roles.is_compliance(user):
        return DataSubjectRequest.objects.none()
    return DataSubjectRequest.objects.select_related(
        "customer", "verified_by", "closed_by", "created_by"
    ).prefetch_related("purposes", erasure_tasks_with_details())


def erasure_tasks_with_details() -> Prefetch:
    from customers.models import ErasureTask

    return Prefetch(
        "erasure_tasks",
        queryset=ErasureTask.objects.select_related("owner", "confirmed_by")
        .prefetch_related(Prefetch("assets", queryset=DataAsset.objects.order_by("name")))
        .order_by("id"),
    )


def erasure_tasks_of(user: User | AnonymousUser | None) -> QuerySet:
    """The erasure tasks ``user`` must carry out: those on the assets they own, only."""
    from customers.models import ErasureTask

    if user is None or not user.is_authenticated:
        return ErasureTask.objects.none()
    return (
        ErasureTask.objects.filter(owner=user)
        .select_related("request", "request__customer", "owner", "confirmed_by")
        .prefetch_related(Prefetch("assets", queryset=DataAsset.objects.order_by("name")))
        .order_by("confirmed_at", "request__due_on", "id")
    )


def subject_request_due_date(received_on: date, extension_months: int = 0) -> date:
    """One calendar month after receipt, plus the extension (GDPR Art. 12(3)).

    The month is counted to the same day of the next month, or its last day when there is
    no such day (EU Regulation 1182/71): received 31 January, due 28 (or 29) February.
    """
    return add_months(received_on, 1 + extension_months)


def assets_past_retention(*, today: date | None = None) -> QuerySet[DataAsset]:
    """Assets whose retention date has passed and whose deletion nobody has recorded yet:
    the compliance list at ``/retention/`` and the owners' weekly reminders read this."""
    today = today or timezone.localdate()
    return (
        DataAsset.objects.filter(retention_date__lt=today, retired_at__isnull=True)
        .select_related("owner")
        .order_by("retention_date", "name")
    )


def retention_list_for(user: User, *, today: date | None = None) -> QuerySet[DataAsset]:
    """Past-retention assets ``user`` acts on: all of them for compliance, their own for an
    owner."""
    assets = assets_past_retention(today=today)
    if roles.is_compliance(user):
        return assets
    return assets.filter(owner=user)


# The footprint ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Membership:
    """A period during which ``asset`` held the customer (``until`` None: still does)."""

    asset: DataAsset
    since: datetime
    until: datetime | None

    def overlaps(self, start: datetime | None, end: datetime | None) -> bool:
        return (end is None or self.since <= end) and (
            self.until is None or start is None or self.until >= start
        )


@dataclass
class Footprint:
    customer: Customer
    since: datetime | None
    until: datetime
    memberships: list[Membership]
    current_consents: list
    consent_history: list
    grants: list[dict]
    exports: list[dict]
    subject_requests: list

    @property
    def assets(self) -> list[DataAsset]:
        seen: dict[int, DataAsset] = {}
        for membership in self.memberships:
            seen.setdefault(membership.asset.pk, membership.asset)
        return list(seen.values())


def _memberships(customer: Customer) -> list[Membership]:
    """Every period an asset held the customer: the current rows, plus those removed
    (erasure, retention), read from the membership history with when they were removed."""
    current = AssetCustomer.objects.filter(customer=customer).select_related("asset__owner")
    periods = [Membership(row.asset, row.added_at, None) for row in current]
    removed = list(
        AssetCustomer.history.filter(customer_id=customer.pk, history_type="-").values_list(
            "asset_id", "added_at", "history_date"
        )
    )
    if removed:
        assets = DataAsset.objects.select_related("owner").in_bulk({row[0] for row in removed})
        periods += [
            Membership(assets[asset_id], added_at, removed_at)
            for asset_id, added_at, removed_at in removed
            if asset_id in assets
        ]
    return sorted(periods, key=lambda m: (m.asset.name, m.since))


def _grant_end(grant: AccessGrant) -> datetime:
    return min(grant.revoked_at, grant.expires_at) if grant.revoked_at else grant.expires_at


def customer_footprint(
    customer: Customer, *, since: datetime | None = None, until: datetime | None = None
) -> Footprint:
    """Everything the portal holds about one customer, for a period (default: all time).

    * assets: each asset that held the customer at any moment of the period, with its
      owner and classification, and since when (and until when, if removed);
    * consents: the current state per purpose and the full history (evidence, kept);
    * grants: every grant on those assets that was usable (created, not yet expired or
      revoked) while the asset held the customer, within the period; ``eligible_now`` says
      whether the customer is eligible for the grant's purpose at this moment (whether
      they were shown at a given read depends on their consent then);
    * exports: every export (``Export``: through a grant or a sharing package download)
      from those assets in that window.
      Exports record each customer they carried (``ExportedCustomer``): one that did not
      carry this customer is left out, one that did is ``included``; an export from before
      those records existed is listed with ``included`` None (it may have carried them);
    * the customer's data subject requests.

    Nothing about any other customer is read or returned.
    """
    from customers.models import DataSubjectRequest, Export, ExportedCustomer

    until = until or timezone.now()
    memberships = [m for m in _memberships(customer) if m.overlaps(since, until)]
    by_asset: dict[int, list[Membership]] = {}
    for membership in memberships:
        by_asset.setdefault(membership.asset.pk, []).append(membership)

    def windows_hit(asset_id: int, start: datetime, end: datetime) -> bool:
        start = max(start, since) if since else start
        end = min(end, until)
        return start <= end and any(m.overlaps(start, end) for m in by_asset[asset_id])

    grants = []
    candidates = (
        AccessGrant.objects.filter(asset_id__in=list(by_asset), created_at__lte=until)
        .select_related("user", "purpose", "asset")
        .order_by("created_at", "id")
    )
    if since:
        candidates = candidates.filter(expires_at__gte=since).exclude(revoked_at__lt=since)
    eligible_cache: dict[tuple[int, int], bool] = {}
    for grant in candidates:
        if not windows_hit(grant.asset_id, grant.created_at, _grant_end(grant)):
            continue
        key = (grant.asset_id, grant.purpose_id)
        if key not in eligible_cache:
            eligible_cache[key] = (
                eligible_customers(grant.asset, grant.purpose).filter(pk=customer.pk).exists()
            )
        grants.append({"grant": grant, "eligible_now": eligible_cache[key]})

    exports_in_window = Export.objects.filter(asset_id__in=list(by_asset), created_at__lte=until)
    if since:
        exports_in_window = exports_in_window.filter(created_at__gte=since)
    made = [
        e
        for e in exports_in_window.select_related("grant__purpose", "package__request__purpose")
        if windows_hit(e.asset_id, e.created_at, e.created_at)
    ]
    carried = set(
        ExportedCustomer.objects.filter(
            customer=customer, export_id__in=[e.export_id for e in made]
        ).values_list("export_id", flat=True)
    )
    exports = []
    for export in made:
        if export.export_id in carried:
            included = True
        elif export.customers_recorded:
            continue  # this export recorded its customers, and this one was not among them
        else:
            included = None
        purpose = export.purpose
        exports.append(
            {
                "export_id": export.export_id,
                "at": export.created_at,
                "by": export.actor_label,
                "asset_id": export.asset_id,
                "asset_name": by_asset[export.asset_id][0].asset.name,
                "grant_id": export.grant_id,
                "package_id": export.package_id,
                "purpose": purpose.key,
                "rows": export.rows,
                "included": included,
            }
        )

    return Footprint(
        customer=customer,
        since=since,
        until=until,
        memberships=memberships,
        current_consents=list(current_consents(customer)),
        consent_history=list(consent_history(customer)),
        grants=grants,
        exports=exports,
        subject_requests=list(
            DataSubjectRequest.objects.filter(customer=customer).order_by("received_on", "id")
        ),
    )


def footprint_as_dict(footprint: Footprint) -> dict:
    """The footprint as plain data: the API's answer and the body of the access report."""
    customer = footprint.customer
    return {
        "customer": {
            "id": customer.pk,
            "name": customer.name,
            "email": customer.email,
            "phone": customer.phone,
            "organisation": customer.organisation,
            "country": customer.country,
            "created_at": customer.created_at,
        },
        "period": {"since": footprint.since, "until": footprint.until},
        "assets": [
            {
                "id": m.asset.pk,
                "name": m.asset.name,
                "owner": m.asset.owner.get_username(),
                "owner_name": str(m.asset.owner),
                "classification": m.asset.effective_classification,
                "source_system": m.asset.source_system,
                "retention_date": m.asset.retention_date,
                "held_since": m.since,
                "removed_at": m.until,
            }
            for m in footprint.memberships
        ],
        "current_consents": [
            {"purpose": s.purpose.key, "status": s.status, "effective_at": s.effective_at}
            for s in footprint.current_consents
        ],
        "consent_history": [
            {
                "id": r.pk,
                "purpose": r.purpose.key,
                "status": r.status,
                "source": r.source,
                "evidence": r.evidence,
                "notice_version": r.notice_version,
                "effective_at": r.effective_at,
                "recorded_at": r.recorded_at,
                "recorded_by": r.recorded_by.get_username() if r.recorded_by else None,
            }
            for r in footprint.consent_history
        ],
        "grants": [
            {
                "id": row["grant"].pk,
                "asset": row["grant"].asset_id,
                "asset_name": row["grant"].asset.name,
                "user": row["grant"].user.get_username(),
                "purpose": row["grant"].purpose.key,
                "level": row["grant"].level,
                "created_at": row["grant"].created_at,
                "expires_at": row["grant"].expires_at,
                "revoked_at": row["grant"].revoked_at,
                "eligible_now": row["eligible_now"],
            }
            for row in footprint.grants
        ],
        "exports": footprint.exports,
        "subject_requests": [
            {
                "id": r.pk,
                "reference": r.reference,
                "type": r.type,
                "status": r.status,
                "received_on": r.received_on,
                "due_on": r.due_on,
                "closed_at": r.closed_at,
            }
            for r in footprint.subject_requests
        ],
    }


def access_report(customer: Customer) -> dict:
    """Everything the portal holds about ``customer`` (Art. 15), all time: one JSON document
    (nested: assets, consents with their evidence, grants, exports, requests), which keeps
    the structure a CSV would flatten and is machine-readable for the customer."""
    report = footprint_as_dict(customer_footprint(customer))
    report["generated_at"] = timezone.now()
    report["explanation"] = (
        "Assets: the customer lists that held your data, their owner and since when. "
        "Consents: what you agreed to or withdrew, and the evidence. Grants: who could read "
        "the lists holding your data, for which purpose and until when. Exports: files made "
        "from those lists that included you (included: null means the export predates "
        "per-customer records and may have included you)."
    )
    return report
