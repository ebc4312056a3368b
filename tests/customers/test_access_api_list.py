"""The API's access-request lists (the requester's own and ``?waiting=1``) answer each
request exactly as its detail endpoint does, field for field and in every time zone: the
lists are written from plain rows (``customers.selectors.access.access_request_rows``), not by
the serializer that defines their shape."""

import json
from datetime import UTC, datetime

import pytest

from customers.models.access import AccessRequest
from customers.serializers import AccessRequestSerializer
from portal.models import ApprovalStep
from tests.customers.conftest import JUSTIFICATION

pytestmark = pytest.mark.django_db

FIELDS = list(AccessRequestSerializer().fields)
STEP_FIELDS = list(AccessRequestSerializer().fields["steps"].child.fields)


def ask(api_client, requester, asset, **extra) -> int:
    api_client.force_authenticate(requester)
    body = {
        "asset": asset.pk,
        "purpose": "marketing.communications.email",
        "justification": JUSTIFICATION,
        **extra,
    }
    response = api_client.post("/api/access-requests/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def decide(api_client, user, pk: int, verb: str, reason: str = "") -> None:
    api_client.force_authenticate(user)
    body = {"reason": reason} if reason else {}
    response = api_client.post(f"/api/access-requests/{pk}/{verb}/", body, format="json")
    assert response.status_code == 200, response.json()


@pytest.fixture
def requests(api_client, requester, owner, compliance_officer, confidential_asset):
    """The requester's requests in every state a list shows: approved with a grant (every
    step decided, with reasons), denied by the owner, withdrawn, and one still waiting for
    the owner whose steps carry inputs and a requirement; created at moments with and
    without microseconds."""
    approved = ask(api_client, requester, confidential_asset, level="export", duration_days=7)
    decide(api_client, owner, approved, "approve", "Campaign is planned.")
    decide(api_client, compliance_officer, approved, "approve", "Consent covers it.")
    denied = ask(api_client, requester, confidential_asset)
    decide(api_client, owner, denied, "deny", "Not this quarter.")
    withdrawn = ask(api_client, requester, confidential_asset, duration_days=90)
    decide(api_client, requester, withdrawn, "withdraw")
    waiting = ask(api_client, requester, confidential_asset, level="view", duration_days=1)
    ApprovalStep.objects.filter(chain__access_request=waiting, position=1).update(
        requirement="ticket", inputs={"ticket": "CHG-1042", "checked": True, "count": 3}
    )
    AccessRequest.objects.filter(pk=approved).update(
        created_at=datetime(2025, 3, 1, 7, 5, 9, 270000, tzinfo=UTC)
    )
    AccessRequest.objects.filter(pk=denied).update(
        created_at=datetime(2025, 3, 2, 23, 30, tzinfo=UTC)
    )
    return {"approved": approved, "denied": denied, "withdrawn": withdrawn, "waiting": waiting}


def rows_and_details(api_client, **query) -> list[tuple[dict, dict]]:
    rows = api_client.get("/api/access-requests/", query).json()["results"]
    return [(row, api_client.get(f"/api/access-requests/{row['id']}/").json()) for row in rows]


def same_json(row: dict, detail: dict) -> bool:
    """Equal as JSON text, not only as Python values (where 1 == True == 1.0)."""
    return json.dumps(row) == json.dumps(detail)


def test_the_requesters_list_rows_are_the_details(api_client, requester, requests, settings):
    settings.TIME_ZONE = "Europe/Oslo"
    api_client.force_authenticate(requester)

    answers = rows_and_details(api_client)

    assert [row["id"] for row, _ in answers] == [
        requests["waiting"],
        requests["withdrawn"],
        requests["denied"],
        requests["approved"],
    ]
    for row, detail in answers:
        assert list(row) == FIELDS
        assert [list(step) for step in row["steps"]] == [STEP_FIELDS] * len(row["steps"])
        assert same_json(row, detail)
    by_id = {row["id"]: row for row, _ in answers}
    approved, waiting = by_id[requests["approved"]], by_id[requests["waiting"]]
    assert approved["status"] == "approved" and isinstance(approved["grant"], int)
    assert [s["decided_by"] for s in approved["steps"]] == ["own", "comp"]
    assert approved["steps"][0]["reason"] == "Campaign is planned."
    assert approved["created_at"] == "2025-03-01T08:05:09.270000+01:00"
    assert waiting["steps"][0]["inputs"] == {"ticket": "CHG-1042", "checked": True, "count": 3}
    assert waiting["steps"][0]["decided_at"] is None and waiting["grant"] is None
    assert by_id[requests["denied"]]["status"] == "denied"
    assert by_id[requests["withdrawn"]]["status"] == "withdrawn"


def test_the_waiting_list_rows_are_the_details(api_client, owner, requests):
    api_client.force_authenticate(owner)

    answers = rows_and_details(api_client, waiting=1)

    assert [row["id"] for row, _ in answers] == [requests["waiting"]]
    for row, detail in answers:
        assert list(row) == FIELDS
        assert same_json(row, detail)


@pytest.mark.parametrize(
    ("zone", "created"),
    [
        ("America/New_York", "2025-03-01T02:05:09.270000-05:00"),
        ("UTC", "2025-03-01T07:05:09.270000Z"),
    ],
)
def test_list_times_are_the_details_in_the_sites_zone(
    api_client, requester, requests, settings, zone, created
):
    # The API answers in the site's zone, whoever asks (portal.display.TimeZoneMiddleware).
    settings.TIME_ZONE = zone
    api_client.force_authenticate(requester)

    answers = rows_and_details(api_client)

    for row, detail in answers:
        assert same_json(row, detail)
    by_id = {row["id"]: row for row, _ in answers}
    assert by_id[requests["approved"]]["created_at"] == created
    assert by_id[requests["denied"]]["created_at"] == (
        "2025-03-02T23:30:00Z" if zone == "UTC" else "2025-03-02T18:30:00-05:00"
    )
