"""A customer's footprint: every asset that holds them, every grant and export that reached them,
their consents and requests; and the Art. 15 GDPR access report built from it."""

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext

from consent.models import ConsentRecord
from consent.selectors import consent_history, current_consents, eligible_customers
from customers.models.access import AccessGrant
from customers.models.catalogue import AssetCustomer, Customer, DataAsset
from customers.models.exports import Export, ExportedCustomer, ExportedCustomerBlock
from customers.models.subject_requests import DataSubjectRequest


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


@dataclass(frozen=True)
class _Holdings:
    """The customer's memberships in the footprint's period, by asset id."""

    by_asset: dict[int, list[Membership]]
    since: datetime | None
    until: datetime

    def held_between(self, asset_id: int, start: datetime, end: datetime) -> bool:
        """Whether the asset held the customer at some moment from ``start`` to ``end``
        that lies within the period."""
        start = max(start, self.since) if self.since else start
        end = min(end, self.until)
        return start <= end and any(m.overlaps(start, end) for m in self.by_asset[asset_id])


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
      Exports record each customer they carried (``ExportedCustomerBlock``): one that did not
      carry this customer is left out, one that did is ``included``; an export from before
      those records existed is listed with ``included`` None (it may have carried them);
    * the customer's data subject requests.

    Nothing about any other customer is read or returned.
    """
    until = until or timezone.now()
    memberships = [m for m in _memberships(customer) if m.overlaps(since, until)]
    by_asset: dict[int, list[Membership]] = {}
    for membership in memberships:
        by_asset.setdefault(membership.asset.pk, []).append(membership)
    holdings = _Holdings(by_asset, since, until)
    grants = _grants_reaching(customer, holdings)
    exports = _exports_reaching(customer, holdings)

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


def _grants_reaching(customer: Customer, holdings: _Holdings) -> list[dict]:
    """Each grant on the holding assets usable while the asset held the customer, with
    whether the customer is eligible for its purpose now (one check per asset and purpose)."""
    grants = []
    candidates = (
        AccessGrant.objects.filter(
            asset_id__in=list(holdings.by_asset), created_at__lte=holdings.until
        )
        .select_related("user", "purpose", "asset")
        .order_by("created_at", "id")
    )
    if holdings.since:
        candidates = candidates.filter(expires_at__gte=holdings.since).exclude(
            revoked_at__lt=holdings.since
        )
    eligible_cache: dict[tuple[int, int], bool] = {}
    for grant in candidates:
        if not holdings.held_between(grant.asset_id, grant.created_at, _grant_end(grant)):
            continue
        key = (grant.asset_id, grant.purpose_id)
        if key not in eligible_cache:
            eligible_cache[key] = (
                eligible_customers(grant.asset, grant.purpose).filter(pk=customer.pk).exists()
            )
        grants.append({"grant": grant, "eligible_now": eligible_cache[key]})
    return grants


def _exports_carrying(customer: Customer, export_ids: list[str]) -> set[str]:
    """Which of ``export_ids`` recorded ``customer`` among the customers they carried: the
    one block of each export whose id range holds the customer (``ExportedCustomerBlock``,
    through its (export, first customer) index), and the per-customer rows exports wrote
    before blocks existed (``ExportedCustomer``). Two queries."""
    blocks = ExportedCustomerBlock.objects.filter(
        export_id__in=export_ids,
        first_customer_id__lte=customer.pk,
        last_customer_id__gte=customer.pk,
    ).values_list("export_id", "customer_ids")
    carried = {export_id for export_id, ids in blocks if customer.pk in ids}
    carried.update(
        ExportedCustomer.objects.filter(customer=customer, export_id__in=export_ids).values_list(
            "export_id", flat=True
        )
    )
    return carried


def _exports_reaching(customer: Customer, holdings: _Holdings) -> list[dict]:
    """Each export from a holding asset made while it held the customer, as the
    footprint's rows; one that recorded its customers without this one is left out."""
    exports_in_window = Export.objects.filter(
        asset_id__in=list(holdings.by_asset), created_at__lte=holdings.until
    )
    if holdings.since:
        exports_in_window = exports_in_window.filter(created_at__gte=holdings.since)
    made = [
        e
        for e in exports_in_window.select_related("grant__purpose", "package__request__purpose")
        if holdings.held_between(e.asset_id, e.created_at, e.created_at)
    ]
    carried = _exports_carrying(customer, [e.export_id for e in made])
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
                "asset_name": holdings.by_asset[export.asset_id][0].asset.name,
                "grant_id": export.grant_id,
                "package_id": export.package_id,
                "purpose": purpose.key,
                "rows": export.rows,
                "included": included,
            }
        )
    return exports


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
        "assets": [_membership_as_dict(m) for m in footprint.memberships],
        "current_consents": [
            {"purpose": s.purpose.key, "status": s.status, "effective_at": s.effective_at}
            for s in footprint.current_consents
        ],
        "consent_history": [_consent_record_as_dict(r) for r in footprint.consent_history],
        "grants": [
            _grant_as_dict(row["grant"], eligible_now=row["eligible_now"])
            for row in footprint.grants
        ],
        "exports": footprint.exports,
        "subject_requests": [_subject_request_as_dict(r) for r in footprint.subject_requests],
    }


def _membership_as_dict(membership: Membership) -> dict:
    """An asset that held the customer, its owner and classification, and for how long."""
    asset = membership.asset
    return {
        "id": asset.pk,
        "name": asset.name,
        "owner": asset.owner.get_username(),
        "owner_name": str(asset.owner),
        "classification": asset.effective_classification,
        "source_system": asset.source_system,
        "retention_date": asset.retention_date,
        "held_since": membership.since,
        "removed_at": membership.until,
    }


def _consent_record_as_dict(record: ConsentRecord) -> dict:
    """A consent record with its evidence and who recorded it."""
    return {
        "id": record.pk,
        "purpose": record.purpose.key,
        "status": record.status,
        "source": record.source,
        "evidence": record.evidence,
        "notice_version": record.notice_version,
        "effective_at": record.effective_at,
        "recorded_at": record.recorded_at,
        "recorded_by": record.recorded_by.get_username() if record.recorded_by else None,
    }


def _grant_as_dict(grant: AccessGrant, *, eligible_now: bool) -> dict:
    """A grant that could read the customer: who, on which asset, for what, until when."""
    return {
        "id": grant.pk,
        "asset": grant.asset_id,
        "asset_name": grant.asset.name,
        "user": grant.user.get_username(),
        "purpose": grant.purpose.key,
        "level": grant.level,
        "created_at": grant.created_at,
        "expires_at": grant.expires_at,
        "revoked_at": grant.revoked_at,
        "eligible_now": eligible_now,
    }


def _subject_request_as_dict(subject_request: DataSubjectRequest) -> dict:
    """One of the customer's data subject requests and where it stands."""
    return {
        "id": subject_request.pk,
        "reference": subject_request.reference,
        "type": subject_request.type,
        "status": subject_request.status,
        "received_on": subject_request.received_on,
        "due_on": subject_request.due_on,
        "closed_at": subject_request.closed_at,
    }


def access_report(customer: Customer) -> dict:
    """Everything the portal holds about ``customer`` (Art. 15), all time: one JSON document
    (nested: assets, consents with their evidence, grants, exports, requests), which keeps
    the structure a CSV would flatten and is machine-readable for the customer."""
    report = footprint_as_dict(customer_footprint(customer))
    report["generated_at"] = timezone.now()
    # Read by the customer: in the language of the person who makes the report.
    report["explanation"] = gettext(
        "Assets: the customer lists that held your data, their owner and since when. "
        "Consents: what you agreed to or withdrew, and the evidence. Grants: who could read "
        "the lists holding your data, for which purpose and until when. Exports: files made "
        "from those lists that included you (included: null means the export predates "
        "per-customer records and may have included you)."
    )
    return report
