"""The API's incident list answers each incident exactly as the detail endpoint does, field
for field, for every viewer and in every time zone: the list is written from plain rows
(``incidents.list_rows``), not by the serializers that define its shape."""

from datetime import UTC, datetime, timedelta

import pytest

from customers.models.catalogue import DataAsset
from incidents.models import Incident
from incidents.serializers import IncidentSerializer, IncidentTriageViewSerializer
from incidents.services.reports import incident_acknowledge
from incidents.services.triage import incident_triage
from tests.factories import DataAssetFactory, UserFactory

pytestmark = pytest.mark.django_db

TRIAGE_FIELDS = list(IncidentTriageViewSerializer().fields)
REPORTER_FIELDS = list(IncidentSerializer().fields)


@pytest.fixture
def incidents(report, responders, carl, asset, deliver, frozen):
    """Reports that differ in every field the list writes: carl's confidential one with
    two assets (the later one first by name), carl's breach with open duties past due, a
    nameless reporter's closed one; times with and without microseconds."""
    comp, _, legal = responders
    alpha = DataAssetFactory(owner=asset.owner, name="Alpha leads")
    secret = report(
        title="Secret", assets=[asset, alpha], confidential_reporter=True, estimated_customers=12
    )
    breach = report(title="Breach")
    deliver(incident_acknowledge, actor=comp, incident=breach)
    incident_triage(
        actor=comp,
        incident=breach,
        severity="high",
        personal_data_breach=True,
        breach_reason="Customer data reached a third party.",
        assignee=legal,
    )
    nameless = UserFactory(username="nameless", first_name="", last_name="")
    closed = report(reporter=nameless, title="Closed", assets=[asset])
    deliver(incident_acknowledge, actor=legal, incident=closed)
    incident_triage(
        actor=legal,
        incident=closed,
        severity="low",
        personal_data_breach=False,
        breach_reason="The laptop's disk was encrypted.",
    )
    incident_triage(actor=legal, incident=closed, status="closed")
    Incident.objects.filter(pk=secret.pk).update(
        discovered_at=datetime(2025, 3, 1, 7, 5, 9, 270000, tzinfo=UTC)
    )
    frozen.move_to(datetime.now(UTC) + timedelta(days=4))  # the breach's duties are late
    return [secret, breach, closed]


def list_and_details(api_client) -> list[tuple[dict, dict]]:
    rows = api_client.get("/api/incidents/").json()["results"]
    return [(row, api_client.get(f"/api/incidents/{row['id']}/").json()) for row in rows]


@pytest.mark.parametrize("viewer", ["comp", "legal"])
def test_a_responders_list_row_is_the_detail_with_the_list_fields(
    api_client, incidents, responders, asset, viewer
):
    api_client.force_authenticate(next(r for r in responders if r.username == viewer))

    answers = list_and_details(api_client)

    assert [row["id"] for row, _ in answers] == [i.pk for i in reversed(incidents)]
    for row, detail in answers:
        assert list(row) == TRIAGE_FIELDS
        assert row == {name: detail[name] for name in TRIAGE_FIELDS}
    secret, breach, closed = reversed([row for row, _ in answers])
    assert secret["reporter"] == "Carl Christensen" and closed["reporter"] == "nameless"
    assert secret["assets"] == [DataAsset.objects.get(name="Alpha leads").pk, asset.pk]
    assert breach["overdue"] is True and breach["next_due"] is not None
    assert closed["closed_at"] is not None and closed["personal_data_breach"] is False


def test_the_reporters_list_row_is_his_detail_and_hides_his_confidential_name(
    api_client, incidents, carl
):
    api_client.force_authenticate(carl)

    answers = list_and_details(api_client)

    assert [row["id"] for row, _ in answers] == [incidents[1].pk, incidents[0].pk]
    for row, detail in answers:
        assert list(row) == REPORTER_FIELDS
        assert row == detail
    assert [row["reporter"] for row, _ in answers] == ["Carl Christensen", "confidential"]
    secret = api_client.get("/api/incidents/", {"breach": "unknown"}).content.decode()
    assert "Carl" not in secret and "Christensen" not in secret


@pytest.mark.parametrize(("zone", "suffix"), [("America/New_York", "-05:00"), ("UTC", "Z")])
def test_list_times_are_the_details_in_the_sites_zone(
    api_client, incidents, responders, carl, settings, zone, suffix
):
    # The API answers in the site's zone, whoever asks (portal.display.TimeZoneMiddleware).
    settings.TIME_ZONE = zone

    for viewer, fields in [(responders[0], TRIAGE_FIELDS), (carl, REPORTER_FIELDS)]:
        api_client.force_authenticate(viewer)
        answers = list_and_details(api_client)

        for row, detail in answers:
            assert row == {name: detail[name] for name in fields}
            assert row["reported_at"].endswith(suffix)
        assert answers[-1][0]["discovered_at"] == (
            "2025-03-01T07:05:09.270000Z" if zone == "UTC" else "2025-03-01T02:05:09.270000-05:00"
        )


def test_a_moment_the_sites_zone_cannot_hold_is_the_same_error_in_list_and_detail(
    api_client, incidents, responders, settings
):
    # A discovery stored before input limits existed may lie in year 1: west of UTC it
    # precedes the first representable moment.
    Incident.objects.filter(pk=incidents[0].pk).update(discovered_at=datetime(1, 1, 1, tzinfo=UTC))
    settings.TIME_ZONE = "America/New_York"
    api_client.force_authenticate(responders[0])

    listed = api_client.get("/api/incidents/")
    detail = api_client.get(f"/api/incidents/{incidents[0].pk}/")

    assert listed.status_code == detail.status_code
    assert listed.json() == detail.json()
