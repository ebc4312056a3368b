"""The incident lists read a page at a time as plain rows: the triage page's
(``IncidentRow``) and the API list's (``IncidentApiRow``).

Each page is two queries of plain values, the incidents with their people and clocks, then
their assets, whatever its length; no model instance is built only to print a few fields
(at 50 rows a page, the incidents, their people with every column and their assets were
about 270 objects a request).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from incidents.models import Incident, Severity, Status
from incidents.selectors import incident_triage_list
from portal.approval_rows import PersonRow, person_fields, person_from, someone_from
from portal.models import User
from portal.pagination import PagedRows


def assets_by_incident(incident_ids: list[int], column: str) -> dict[int, list[Any]]:
    """``column`` of the through table (``"dataasset__name"``, ``"dataasset_id"``) for each
    incident's assets, in the order ``incident.assets.all()`` gives them (by name, which is
    unique), in one query (none for no ids)."""
    if not incident_ids:
        return {}
    links = (
        Incident.assets.through.objects.filter(incident_id__in=incident_ids)
        .order_by("dataasset__name", "dataasset_id")
        .values_list("incident_id", column)
    )
    found: dict[int, list[Any]] = {}
    for incident_id, value in links:
        found.setdefault(incident_id, []).append(value)
    return found


# --- The triage page -------------------------------------------------------------------


@dataclass
class IncidentRow:
    """An incident as the triage list shows it, from plain values: the names the template
    reads from the model (``reference``, ``get_status_display``, ``assignee``...), labels
    already in the reader's language, asset names in order. ``reporter_shown`` is the
    viewer's business: the view fills it in (``reporter_shown``)."""

    pk: int
    reference: str
    title: str
    asset_names: list[str]
    reporter: PersonRow
    confidential_reporter: bool
    reported_at: datetime
    status: str
    status_label: str
    severity_label: str
    personal_data_breach: bool | None
    assignee: PersonRow | None
    next_due: datetime | None
    overdue: bool
    reporter_shown: str = ""

    def get_status_display(self) -> str:
        return self.status_label

    def get_severity_display(self) -> str:
        return self.severity_label


INCIDENT_ROW_FIELDS = (
    "pk",
    "reference",
    "title",
    "reported_at",
    "status",
    "severity",
    "personal_data_breach",
    "confidential_reporter",
    *person_fields("reporter"),
    *person_fields("assignee"),
    "next_due",
    "overdue",
)


def incident_triage_rows(incidents: QuerySet[Incident]) -> list[IncidentRow]:
    """The rows of ``incidents`` (a page of ``incident_triage_list``, with its clocks, in
    its order): two queries of plain values, the incidents with their people and clocks,
    then their assets' names, whatever the number of rows. Each label is translated once
    per page, not once per row."""
    values = list(incidents.values(*INCIDENT_ROW_FIELDS))
    assets = assets_by_incident([v["pk"] for v in values], "dataasset__name")
    statuses = {value: str(label) for value, label in Status.choices}
    severities = {value: str(label) for value, label in Severity.choices}
    return [
        IncidentRow(
            pk=v["pk"],
            reference=v["reference"],
            title=v["title"],
            asset_names=assets.get(v["pk"], []),
            reporter=someone_from(v, "reporter"),
            confidential_reporter=v["confidential_reporter"],
            reported_at=v["reported_at"],
            status=v["status"],
            # An unlisted value shows as stored, as the model's get_FOO_display does.
            status_label=statuses.get(v["status"], v["status"]),
            severity_label=severities.get(v["severity"], v["severity"]),
            personal_data_breach=v["personal_data_breach"],
            assignee=person_from(v, "assignee"),
            next_due=v["next_due"],
            overdue=v["overdue"],
        )
        for v in values
    ]


def incident_triage_pages(user: User, **filters: Any) -> PagedRows[IncidentRow]:
    """``incident_triage_list(user, **filters)`` read a page at a time as plain rows
    (``incident_triage_rows``): the page costs the same whatever its length."""
    return PagedRows(incident_triage_list(user, **filters), incident_triage_rows)


# --- The API list ----------------------------------------------------------------------


@dataclass(slots=True)
class IncidentApiRow:
    """An incident as ``GET /api/incidents/`` answers it, from plain values: the fields
    of ``IncidentTriageViewSerializer`` (``IncidentSerializer``'s and the triage's), by the
    same names. ``reporter`` is the person; who may read their name is the viewer's
    business (``reporter_label``). ``assignee`` and ``acknowledged_by`` are usernames,
    ``assets`` the asset ids in name order, as the serializers write them."""

    id: int
    reference: str
    title: str
    description: str
    discovered_at: datetime
    reported_at: datetime
    assets: list[int]
    estimated_customers: int | None
    confidential_reporter: bool
    status: str
    severity: str
    reporter: PersonRow
    assignee: str | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    personal_data_breach: bool | None
    breach_reason: str
    aware_at: datetime
    customer_notice: str
    next_due: datetime | None
    overdue: bool
    closed_at: datetime | None


INCIDENT_API_FIELDS = (
    "id",
    "reference",
    "title",
    "description",
    "discovered_at",
    "reported_at",
    "acknowledged_at",
    "aware_at",
    "next_due",
    "closed_at",
    "estimated_customers",
    "confidential_reporter",
    "status",
    "severity",
    *person_fields("reporter"),
    "assignee__username",
    "acknowledged_by__username",
    "personal_data_breach",
    "breach_reason",
    "customer_notice",
    "overdue",
)


def incident_api_rows(incidents: QuerySet[Incident]) -> list[IncidentApiRow]:
    """The rows of ``incidents`` (a page of ``incident_triage_list``, with its clocks, in
    its order) as the API list answers them: two queries of plain values, the incidents
    with their people's names and their clocks, then their asset ids."""
    values = list(incidents.values(*INCIDENT_API_FIELDS))
    assets = assets_by_incident([v["id"] for v in values], "dataasset_id")
    return [_api_row(v, assets.get(v["id"], [])) for v in values]


def _api_row(v: dict[str, Any], assets: list[int]) -> IncidentApiRow:
    return IncidentApiRow(
        id=v["id"],
        reference=v["reference"],
        title=v["title"],
        description=v["description"],
        discovered_at=v["discovered_at"],
        reported_at=v["reported_at"],
        assets=assets,
        estimated_customers=v["estimated_customers"],
        confidential_reporter=v["confidential_reporter"],
        status=v["status"],
        severity=v["severity"],
        reporter=someone_from(v, "reporter"),
        assignee=v["assignee__username"],
        acknowledged_at=v["acknowledged_at"],
        acknowledged_by=v["acknowledged_by__username"],
        personal_data_breach=v["personal_data_breach"],
        breach_reason=v["breach_reason"],
        aware_at=v["aware_at"],
        customer_notice=v["customer_notice"],
        next_due=v["next_due"],
        overdue=v["overdue"],
        closed_at=v["closed_at"],
    )


def incident_api_pages(incidents: QuerySet[Incident]) -> PagedRows[IncidentApiRow]:
    """``incidents`` (``incident_triage_list``, filtered and ordered) read a page at a time
    as the API list's rows (``incident_api_rows``): the page costs two queries whatever its
    length."""
    return PagedRows(incidents, incident_api_rows)
