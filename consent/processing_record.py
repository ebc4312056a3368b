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
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from consent import processing_state as state
from consent.countries import country_name, outside_eu_eea
from consent.models import (
    DataCategory,
    LawfulBasis,
    SharingRequest,
    key_and_ancestors,
)

# Art. 30(1)(g): the general description of the security measures, when the activity names
# none of its own: the controls every asset in the portal is under.
DEFAULT_SECURITY_MEASURES = gettext_lazy(
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
    Who may read it is the caller's question (``consent.permissions.check_record_reader``).
    """
    moment = timezone.now() if as_of is None else end_of_day(as_of)
    if as_of is None:
        activities, assets, purposes = (
            state.live_activities(),
            state.live_assets(),
            state.live_purposes(),
        )
    else:
        activities = state.activities_at(moment)
        assets, purposes = state.assets_at(moment), state.purposes_at(moment)
    grants = state.grants_at(moment)
    sharing = state.sharing_at(moment)
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


# --- Building the rows ---------------------------------------------------------------------


class _RowBuilder:
    """Turns the state at one moment into the rows and the gaps."""

    def __init__(
        self,
        assets: list[state.AssetState],
        purposes: dict[int, state.PurposeState],
        categories: dict[int, str],
        grants: list[state.GrantState],
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

    def row(self, activity: state.ActivityState) -> RecordRow:
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
            security_measures=activity.security_measures or str(DEFAULT_SECURITY_MEASURES),
            assets=[Evidence(a.name, self.asset_path(a.id)) for a in assets],
            grants=[Evidence(g.label, self.request_path(g.request_id)) for g in grants],
            sharing=[Evidence(str(s), s.get_absolute_url()) for s in sharing],
        )

    def _bases(self, activity: state.ActivityState) -> list[str]:
        labels = dict(LawfulBasis.choices)
        return sorted(
            f"{self.purposes[pk].key}: {labels.get(self.purposes[pk].lawful_basis, '')}"
            for pk in activity.purpose_ids
            if pk in self.purposes
        )

    def gaps(self, activities: Iterable[state.ActivityState]) -> RecordGaps:
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
                if outside_eu_eea(s.recipient_country) and not state.safeguard_of(s)
            ],
            past_retention=[
                Evidence(a.name, self.asset_path(a.id))
                for a in sorted(self.assets, key=lambda asset: asset.name)
                if a.retention_date is not None and a.retention_date < self.today
            ],
        )


def _recipients(grants: list[state.GrantState], sharing: list[SharingRequest]) -> list[str]:
    """Internal recipients (the people holding grants: the portal keeps no departments) and
    external ones (approved sharing recipients, with their country)."""
    internal = {_("Internal: %(holder)s") % {"holder": grant.holder} for grant in grants}
    external = {
        _("External: %(recipient)s (%(country)s)")
        % {"recipient": s.recipient, "country": country_name(s.recipient_country)}
        for s in sharing
    }
    return sorted(internal) + sorted(external)


def _transfer(sharing_request: SharingRequest) -> str:
    safeguard = state.safeguard_of(sharing_request) or _("NO SAFEGUARD")
    country = country_name(sharing_request.recipient_country)
    return _("%(recipient)s (%(country)s): %(safeguard)s") % {
        "recipient": sharing_request.recipient,
        "country": country,
        "safeguard": safeguard,
    }


def _erasure_limit(asset: state.AssetState) -> str:
    if asset.retention_date is None:
        return _("%(asset)s: no retention date set") % {"asset": asset.name}
    return _("%(asset)s: erase by %(day)s") % {
        "asset": asset.name,
        "day": asset.retention_date.isoformat(),
    }


def _path_of(url_name: str) -> Callable[[int], str]:
    """``pk -> path`` of a page with one id, reversed once (not once per link: the record
    links thousands of assets and grants at scale size)."""
    marker = 987654321
    template = reverse(url_name, args=[marker])
    return lambda pk: template.replace(str(marker), str(pk))
