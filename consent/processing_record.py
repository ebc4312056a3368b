"""The record of processing activities (GDPR Art. 30(1)), computed from what the portal knows.

One row per ``ProcessingActivity``, with the columns of Art. 30(1)(a)-(g): the controller and
DPO (settings ``RECORD_CONTROLLER``, ``RECORD_DPO_CONTACT``), the purposes and their lawful
bases, the categories of data subjects and of personal data, the recipients, the transfers to
third countries with their safeguard, the time limits for erasure and the security measures.

What the activity covers: the assets collected for one of its purposes, the grants under one
of them and the approved sharing requests for one of them. A purpose covers its descendants
(``marketing`` covers ``marketing.communications.email``), as consent does.

As of a date: the activities, purposes and assets are read from their row history
(django-simple-history, many-to-many fields included) as they stood at the end of that day
in the site's time zone; grants and sharing approvals carry their own dates (created,
expired, revoked; decided), so they are read from their rows. Today's record reads the live
rows. Both paths feed the same row builder, in a fixed number of queries whatever the number
of assets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from consent.countries import country_name, outside_eu_eea
from consent.models import (
    DataCategory,
    LawfulBasis,
    ProcessingActivity,
    Purpose,
    SharingRequest,
    TransferSafeguard,
    key_and_ancestors,
)
from consent.services.sharing import TRANSFER_SAFEGUARD
from customers.models.access import AccessGrant
from customers.models.catalogue import DataAsset
from portal.models import ChainStatus

# Art. 30(1)(g): the general description of the security measures, when the activity names
# none of its own: the controls every asset in the portal is under.
DEFAULT_SECURITY_MEASURES = (
    "Access only through justified, approved and time-limited grants; "
    "every asset classified, restricted assets need-to-know; "
    "consent checked at every read and export; "
    "tamper-evident audit trail of every view, export and decision; "
    "two-factor sign-in for compliance, legal and administrators; "
    "external sharing only under an agreement approved by legal."
)

# The columns of the record, in Art. 30(1) order; the API, CSV, XLSX and page share them.
COLUMNS = [
    "name",
    "description",
    "controller",
    "dpo",
    "joint_controllers",
    "purposes",
    "lawful_bases",
    "data_subjects",
    "data_categories",
    "recipients",
    "transfers",
    "erasure_limits",
    "security_measures",
]
LIST_COLUMNS = frozenset(
    {
        "purposes",
        "lawful_bases",
        "data_subjects",
        "data_categories",
        "recipients",
        "transfers",
        "erasure_limits",
    }
)


@dataclass(frozen=True)
class Evidence:
    """A row the record was computed from, with the page that shows it."""

    label: str
    url: str


@dataclass(frozen=True)
class _Activity:
    id: int
    name: str
    description: str
    joint_controllers: str
    data_subject_categories: str
    security_measures: str
    purpose_ids: frozenset[int]


@dataclass(frozen=True)
class _Asset:
    id: int
    name: str
    retention_date: date | None
    category_ids: frozenset[int]
    purpose_ids: frozenset[int]


@dataclass(frozen=True)
class _Grant:
    """A grant in force: who holds it, on what, for which purpose, until when."""

    request_id: int
    asset_id: int
    purpose_id: int
    holder: str
    label: str


@dataclass(frozen=True)
class _Purpose:
    key: str
    lawful_basis: str


@dataclass
class RecordRow:
    """One activity's row. List cells are sorted, so two runs compare equal."""

    activity_id: int
    name: str
    description: str
    controller: str
    dpo: str
    joint_controllers: str
    purposes: list[str]
    lawful_bases: list[str]
    data_subjects: list[str]
    data_categories: list[str]
    recipients: list[str]
    transfers: list[str]
    erasure_limits: list[str]
    security_measures: str
    assets: list[Evidence] = field(default_factory=list)
    grants: list[Evidence] = field(default_factory=list)
    sharing: list[Evidence] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """The row as plain data, in ``COLUMNS`` (the API's fields)."""
        return {column: getattr(self, column) for column in COLUMNS}

    def as_cells(self) -> dict[str, str]:
        """The row for a spreadsheet: list cells joined with "; "."""
        return {
            column: "; ".join(value) if column in LIST_COLUMNS else value
            for column, value in ((c, getattr(self, c)) for c in COLUMNS)
        }


@dataclass
class RecordGaps:
    """What compliance has to close before the record is complete."""

    uncovered_purposes: list[str] = field(default_factory=list)
    activities_without_basis: list[str] = field(default_factory=list)
    unsafe_transfers: list[Evidence] = field(default_factory=list)
    past_retention: list[Evidence] = field(default_factory=list)

    @property
    def count(self) -> int:
        return (
            len(self.uncovered_purposes)
            + len(self.activities_without_basis)
            + len(self.unsafe_transfers)
            + len(self.past_retention)
        )


@dataclass
class ProcessingRecord:
    """The record as it stood at ``moment`` (``as_of`` is the day asked for, or None)."""

    as_of: date | None
    moment: datetime
    rows: list[RecordRow]
    gaps: RecordGaps
    controller: str = ""
    dpo: str = ""


def end_of_day(day: date) -> datetime:
    """The last moment of ``day`` in the site's time zone (aware)."""
    return timezone.make_aware(datetime.combine(day, time.max))


def processing_record(*, as_of: date | None = None) -> ProcessingRecord:
    """The record of processing activities today (``as_of=None``) or as it stood at the end
    of ``as_of`` (a date in the site's time zone). Reads only; a fixed number of queries.
    Who may read it is the caller's question (``consent.policies.require_may_read_record``).
    """
    moment = timezone.now() if as_of is None else end_of_day(as_of)
    if as_of is None:
        activities, assets, purposes = _live_activities(), _live_assets(), _live_purposes()
    else:
        activities = _activities_at(moment)
        assets, purposes = _assets_at(moment), _purposes_at(moment)
    grants = _grants_at(moment)
    sharing = _sharing_at(moment)
    categories = dict(DataCategory.objects.values_list("id", "key"))
    builder = _RowBuilder(assets, purposes, categories, grants, sharing, moment.date())
    rows = [builder.row(activity) for activity in activities]
    gaps = builder.gaps(activities)
    return ProcessingRecord(
        as_of=as_of,
        moment=moment,
        rows=rows,
        gaps=gaps,
        controller=settings.RECORD_CONTROLLER,
        dpo=settings.RECORD_DPO_CONTACT,
    )


# --- Reading the state: live rows, or their history at a moment ----------------------------


def _live_activities() -> list[_Activity]:
    activities = ProcessingActivity.objects.prefetch_related("purposes").order_by("name")
    return [_activity(a, frozenset(p.pk for p in a.purposes.all())) for a in activities]


def _activity(row: ProcessingActivity, purpose_ids: frozenset[int]) -> _Activity:
    return _Activity(
        id=row.pk,
        name=row.name,
        description=row.description,
        joint_controllers=row.joint_controllers,
        data_subject_categories=row.data_subject_categories,
        security_measures=row.security_measures,
        purpose_ids=purpose_ids,
    )


def _live_assets() -> list[_Asset]:
    assets = DataAsset.objects.filter(retired_at__isnull=True).values_list(
        "id", "name", "retention_date"
    )
    categories = _pairs(DataAsset.data_categories.through, "dataasset_id", "datacategory_id")
    purposes = _pairs(DataAsset.collected_for.through, "dataasset_id", "purpose_id")
    return [
        _Asset(
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


def _live_purposes() -> dict[int, _Purpose]:
    return {
        pk: _Purpose(key, basis)
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


def _activities_at(moment: datetime) -> list[_Activity]:
    rows = sorted(_latest_history(ProcessingActivity, moment), key=lambda row: row.name)
    purposes = _m2m_at(rows, "purposes", "purpose")
    return [_activity(row, frozenset(purposes[row.id])) for row in rows]


def _assets_at(moment: datetime) -> list[_Asset]:
    rows = [
        row
        for row in _latest_history(DataAsset, moment)
        if row.retired_at is None or row.retired_at > moment
    ]
    categories = _m2m_at(rows, "data_categories", "datacategory")
    purposes = _m2m_at(rows, "collected_for", "purpose")
    return [
        _Asset(
            id=row.id,
            name=row.name,
            retention_date=row.retention_date,
            category_ids=frozenset(categories[row.id]),
            purpose_ids=frozenset(purposes[row.id]),
        )
        for row in rows
    ] + _assets_without_history(moment)


def _assets_without_history(moment: datetime) -> list[_Asset]:
    """Assets loaded in bulk with no history row at all (``seed_scale``, an import): as they
    are now, from their creation on; the record cannot know their past."""
    loaded = DataAsset.objects.filter(created_at__lte=moment).exclude(
        pk__in=DataAsset.history.values("id")
    )
    ids = set(loaded.values_list("pk", flat=True))
    return [asset for asset in _live_assets() if asset.id in ids] if ids else []


def _purposes_at(moment: datetime) -> dict[int, _Purpose]:
    purposes = _live_purposes()  # a purpose created later keeps its key, basis as now
    for row in _latest_history(Purpose, moment):
        purposes[row.id] = _Purpose(row.key, row.lawful_basis)
    return purposes


def _grants_at(moment: datetime) -> list[_Grant]:
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
        label = f"{holder} on {asset} until {expires.date().isoformat()}"
        grants.append(_Grant(request_id, asset_id, purpose_id, holder, label))
    return grants


def _sharing_at(moment: datetime) -> list[SharingRequest]:
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


# --- Building the rows ---------------------------------------------------------------------


class _RowBuilder:
    """Turns the state at one moment into the rows and the gaps."""

    def __init__(
        self,
        assets: list[_Asset],
        purposes: dict[int, _Purpose],
        categories: dict[int, str],
        grants: list[_Grant],
        sharing: list[SharingRequest],
        today: date,
    ) -> None:
        self.assets = assets
        self.assets_by_id = {asset.id: asset for asset in assets}
        self.purposes = purposes
        self.categories = categories
        self.grants = grants
        self.sharing = sharing
        self.today = today
        self.asset_path = _path_of("customers:asset_detail")
        self.request_path = _path_of("customers:request_detail")

    def _covered(self, purpose_id: int, keys: set[str]) -> bool:
        purpose = self.purposes.get(purpose_id)
        return purpose is not None and bool(keys & set(key_and_ancestors(purpose.key)))

    def row(self, activity: _Activity) -> RecordRow:
        keys = {self.purposes[pk].key for pk in activity.purpose_ids if pk in self.purposes}
        grants = [g for g in self.grants if self._covered(g.purpose_id, keys)]
        sharing = [s for s in self.sharing if self._covered(s.purpose_id, keys)]
        asset_ids = {
            a.id for a in self.assets if any(self._covered(p, keys) for p in a.purpose_ids)
        }
        asset_ids |= {g.asset_id for g in grants} | {s.asset_id for s in sharing}
        assets = sorted(
            (self.assets_by_id[pk] for pk in asset_ids if pk in self.assets_by_id),
            key=lambda asset: asset.name,
        )
        return RecordRow(
            activity_id=activity.id,
            name=activity.name,
            description=activity.description,
            controller=settings.RECORD_CONTROLLER,
            dpo=settings.RECORD_DPO_CONTACT,
            joint_controllers=activity.joint_controllers,
            purposes=sorted(keys),
            lawful_bases=self._bases(activity),
            data_subjects=[activity.data_subject_categories]
            if activity.data_subject_categories
            else [],
            data_categories=sorted({self.categories[c] for a in assets for c in a.category_ids}),
            recipients=_recipients(grants, sharing),
            transfers=sorted(
                {_transfer(s) for s in sharing if outside_eu_eea(s.recipient_country)}
            ),
            erasure_limits=[_erasure_limit(asset) for asset in assets],
            security_measures=activity.security_measures or DEFAULT_SECURITY_MEASURES,
            assets=[Evidence(a.name, self.asset_path(a.id)) for a in assets],
            grants=[Evidence(g.label, self.request_path(g.request_id)) for g in grants],
            sharing=[Evidence(str(s), s.get_absolute_url()) for s in sharing],
        )

    def _bases(self, activity: _Activity) -> list[str]:
        labels = dict(LawfulBasis.choices)
        return sorted(
            f"{self.purposes[pk].key}: {labels.get(self.purposes[pk].lawful_basis, '')}"
            for pk in activity.purpose_ids
            if pk in self.purposes
        )

    def gaps(self, activities: Iterable[_Activity]) -> RecordGaps:
        activities = list(activities)
        keys = {
            self.purposes[pk].key for a in activities for pk in a.purpose_ids if pk in self.purposes
        }
        in_use = {pk for asset in self.assets for pk in asset.purpose_ids}
        in_use |= {g.purpose_id for g in self.grants} | {s.purpose_id for s in self.sharing}
        return RecordGaps(
            uncovered_purposes=sorted(
                self.purposes[pk].key for pk in in_use if not self._covered(pk, keys)
            ),
            activities_without_basis=[a.name for a in activities if not a.purpose_ids],
            unsafe_transfers=[
                Evidence(str(s), s.get_absolute_url())
                for s in self.sharing
                if outside_eu_eea(s.recipient_country) and not safeguard_of(s)
            ],
            past_retention=[
                Evidence(a.name, self.asset_path(a.id))
                for a in sorted(self.assets, key=lambda asset: asset.name)
                if a.retention_date is not None and a.retention_date < self.today
            ],
        )


def _recipients(grants: list[_Grant], sharing: list[SharingRequest]) -> list[str]:
    """Internal recipients (the people holding grants: the portal keeps no departments) and
    external ones (approved sharing recipients, with their country)."""
    internal = {f"Internal: {grant.holder}" for grant in grants}
    external = {f"External: {s.recipient} ({country_name(s.recipient_country)})" for s in sharing}
    return sorted(internal) + sorted(external)


def _transfer(sharing_request: SharingRequest) -> str:
    safeguard = safeguard_of(sharing_request) or "NO SAFEGUARD"
    country = country_name(sharing_request.recipient_country)
    return f"{sharing_request.recipient} ({country}): {safeguard}"


def _erasure_limit(asset: _Asset) -> str:
    if asset.retention_date is None:
        return f"{asset.name}: no retention date set"
    return f"{asset.name}: erase by {asset.retention_date.isoformat()}"


def _path_of(url_name: str) -> Callable[[int], str]:
    """``pk -> path`` of a page with one id, reversed once (not once per link: the record
    links thousands of assets and grants at scale size)."""
    marker = 987654321
    template = reverse(url_name, args=[marker])
    return lambda pk: template.replace(str(marker), str(pk))
