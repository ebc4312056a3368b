"""The state the record of processing activities is computed from (``consent.processing_record``):
the activities, purposes and assets as they are now (live rows) or as they stood at a moment
(their django-simple-history rows, many-to-many fields included), the grants in force and the
sharing requests approved by then. Plain values; a fixed number of queries each."""

from dataclasses import dataclass
from datetime import date, datetime

from django.utils.translation import gettext as _

from consent.models import ProcessingActivity, Purpose, SharingRequest, TransferSafeguard
from consent.services.sharing import TRANSFER_SAFEGUARD
from customers.models.access import AccessGrant
from customers.models.catalogue import DataAsset
from portal.models import ChainStatus


@dataclass(frozen=True)
class ActivityState:
    id: int
    name: str
    description: str
    joint_controllers: str
    data_subject_categories: str
    security_measures: str
    purpose_ids: frozenset[int]


@dataclass(frozen=True)
class AssetState:
    id: int
    name: str
    retention_date: date | None
    category_ids: frozenset[int]
    purpose_ids: frozenset[int]


@dataclass(frozen=True)
class GrantState:
    """A grant in force: who holds it, on what, for which purpose, until when."""

    request_id: int
    asset_id: int
    purpose_id: int
    holder: str
    label: str


@dataclass(frozen=True)
class PurposeState:
    key: str
    lawful_basis: str


def live_activities() -> list[ActivityState]:
    activities = ProcessingActivity.objects.prefetch_related("purposes").order_by("name")
    return [_activity(a, frozenset(p.pk for p in a.purposes.all())) for a in activities]


def _activity(row: ProcessingActivity, purpose_ids: frozenset[int]) -> ActivityState:
    return ActivityState(
        id=row.pk,
        name=row.name,
        description=row.description,
        joint_controllers=row.joint_controllers,
        data_subject_categories=row.data_subject_categories,
        security_measures=row.security_measures,
        purpose_ids=purpose_ids,
    )


def live_assets() -> list[AssetState]:
    assets = DataAsset.objects.filter(retired_at__isnull=True).values_list(
        "id", "name", "retention_date"
    )
    categories = _pairs(DataAsset.data_categories.through, "dataasset_id", "datacategory_id")
    purposes = _pairs(DataAsset.collected_for.through, "dataasset_id", "purpose_id")
    return [
        AssetState(
            id=pk,
            name=name,
            retention_date=retention,
            category_ids=frozenset(categories.get(pk, ())),
            purpose_ids=frozenset(purposes.get(pk, ())),
        )
        for pk, name, retention in assets
    ]


def _pairs(through: type, source: str, target: str) -> dict[int, set[int]]:
    """``{source id: target ids}`` of a many-to-many table, read in one query."""
    result: dict[int, set[int]] = {}
    for source_id, target_id in through.objects.values_list(source, target):  # type: ignore[attr-defined]
        result.setdefault(source_id, set()).add(target_id)
    return result


def live_purposes() -> dict[int, PurposeState]:
    return {
        pk: PurposeState(key, basis)
        for pk, key, basis in Purpose.objects.values_list("id", "key", "lawful_basis")
    }


def _latest_history(model: type, moment: datetime) -> list:
    """The latest historical row of each object at ``moment``, objects deleted by then left
    out. simple-history's ``latest_of_each`` keeps every row of an object that share its
    latest ``history_date`` (a save and its many-to-many change in the same instant): the
    last written of them (highest ``history_id``) is the state."""
    rows = model.history.filter(history_date__lte=moment).latest_of_each()  # type: ignore[attr-defined]
    latest = {row.id: row for row in sorted(rows, key=lambda row: row.history_id)}
    return [row for row in latest.values() if row.history_type != "-"]


def _m2m_at(history_rows: list, through_attr: str, target_attr: str) -> dict[int, set[int]]:
    """``{object id: target ids}`` of a many-to-many field as saved with ``history_rows``."""
    if not history_rows:
        return {}
    through = getattr(history_rows[0], through_attr).model
    by_history = {row.history_id: row.id for row in history_rows}
    result: dict[int, set[int]] = {row.id: set() for row in history_rows}
    pairs = through.objects.filter(history_id__in=by_history).values_list(
        "history_id", f"{target_attr}_id"
    )
    for history_id, target_id in pairs:
        result[by_history[history_id]].add(target_id)
    return result


def activities_at(moment: datetime) -> list[ActivityState]:
    rows = sorted(_latest_history(ProcessingActivity, moment), key=lambda row: row.name)
    purposes = _m2m_at(rows, "purposes", "purpose")
    return [_activity(row, frozenset(purposes[row.id])) for row in rows]


def assets_at(moment: datetime) -> list[AssetState]:
    rows = [
        row
        for row in _latest_history(DataAsset, moment)
        if row.retired_at is None or row.retired_at > moment
    ]
    categories = _m2m_at(rows, "data_categories", "datacategory")
    purposes = _m2m_at(rows, "collected_for", "purpose")
    return [
        AssetState(
            id=row.id,
            name=row.name,
            retention_date=row.retention_date,
            category_ids=frozenset(categories[row.id]),
            purpose_ids=frozenset(purposes[row.id]),
        )
        for row in rows
    ] + _assets_without_history(moment)


def _assets_without_history(moment: datetime) -> list[AssetState]:
    """Assets loaded in bulk with no history row at all (``seed_scale``, an import): as they
    are now, from their creation on; the record cannot know their past."""
    loaded = DataAsset.objects.filter(created_at__lte=moment).exclude(
        pk__in=DataAsset.history.values("id")
    )
    ids = set(loaded.values_list("pk", flat=True))
    return [asset for asset in live_assets() if asset.id in ids] if ids else []


def purposes_at(moment: datetime) -> dict[int, PurposeState]:
    purposes = live_purposes()  # a purpose created later keeps its key, basis as now
    for row in _latest_history(Purpose, moment):
        purposes[row.id] = PurposeState(row.key, row.lawful_basis)
    return purposes


def grants_at(moment: datetime) -> list[GrantState]:
    """Grants in force at ``moment``: created, not yet expired and not revoked by then. Read
    as plain values: at scale size some 10,000 are in force."""
    rows = (
        AccessGrant.objects.filter(created_at__lte=moment, expires_at__gt=moment)
        .exclude(revoked_at__lte=moment)
        .order_by("pk")
        .values_list(
            "request_id",
            "asset_id",
            "purpose_id",
            "expires_at",
            "user__first_name",
            "user__last_name",
            "user__username",
            "asset__name",
        )
    )
    grants = []
    for request_id, asset_id, purpose_id, expires, first, last, username, asset in rows:
        holder = f"{first} {last}".strip() or username  # as User.__str__
        label = _("%(holder)s on %(asset)s until %(day)s") % {
            "holder": holder,
            "asset": asset,
            "day": expires.date().isoformat(),
        }
        grants.append(GrantState(request_id, asset_id, purpose_id, holder, label))
    return grants


def sharing_at(moment: datetime) -> list[SharingRequest]:
    """Sharing requests approved by ``moment`` (the chain's final decision)."""
    return list(
        SharingRequest.objects.filter(
            chain__status=ChainStatus.APPROVED, chain__decided_at__lte=moment
        )
        .select_related("chain", "asset")
        .prefetch_related("chain__steps")
        .order_by("pk")
    )


def safeguard_of(sharing_request: SharingRequest) -> str:
    """The transfer safeguard legal named when approving, in words; empty when none."""
    for step in sharing_request.chain.steps.all():
        value = step.inputs.get(TRANSFER_SAFEGUARD)
        if value in TransferSafeguard.values:
            return str(TransferSafeguard(value).label)
    return ""
