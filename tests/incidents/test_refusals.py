"""Who may work on an incident, through the page and the API: the rule lives in
incidents/policies.py, the service enforces it, and a refusal is a 403 on both (with its
message in the API's JSON)."""

import pytest
from django.urls import reverse

from incidents.models import Status
from incidents.services.deadlines import incident_no_risk_propose
from incidents.services.reports import incident_acknowledge
from incidents.services.triage import incident_triage

pytestmark = pytest.mark.django_db

TRIAGE_REFUSED = "Only members of Compliance or Legal can do this."
SECOND_MEMBER = "You proposed it; a second member of Compliance or Legal must confirm."


@pytest.fixture
def breach(report, responders, deliver):
    """A personal-data breach, acknowledged; Cora proposed that it is unlikely to be a risk."""
    incident = report()
    deliver(incident_acknowledge, actor=responders[0], incident=incident)
    deliver(
        incident_triage,
        actor=responders[0],
        incident=incident,
        personal_data_breach=True,
        breach_reason="Names and phone numbers reached an outside recipient.",
    )
    deliver(
        incident_no_risk_propose,
        actor=responders[0],
        incident=incident,
        reason="The file was encrypted and the key never left us.",
    )
    return incident


def test_the_reporter_may_not_acknowledge_on_the_page_a_responder_may(
    client, report, carl, responders
):
    incident = report()
    url = reverse("incidents:acknowledge", args=[incident.pk])

    client.force_login(carl)
    refused = client.post(url)
    incident.refresh_from_db()
    status_after_refusal = incident.status

    client.force_login(responders[2])
    accepted = client.post(url)
    incident.refresh_from_db()

    assert (refused.status_code, accepted.status_code) == (403, 302)
    assert status_after_refusal == Status.REPORTED
    assert incident.acknowledged_by == responders[2]


def test_the_reporter_may_not_acknowledge_in_the_api_a_responder_may(
    api_client, report, carl, responders
):
    incident = report()
    url = f"/api/incidents/{incident.pk}/acknowledge/"

    api_client.force_authenticate(carl)
    refused = api_client.post(url)
    api_client.force_authenticate(responders[2])
    accepted = api_client.post(url)

    assert (refused.status_code, refused.json()) == (403, {"detail": TRIAGE_REFUSED})
    assert accepted.status_code == 200
    assert accepted.json()["acknowledged_by"] == "legal"


def test_the_api_refuses_the_proposer_s_own_confirmation_with_403_and_the_message(
    api_client, breach, responders
):
    # Raised by the incidents service itself, past every check of the endpoint: the API's
    # one exception handler answers it.
    url = f"/api/incidents/{breach.pk}/no-risk/confirm/"

    api_client.force_authenticate(responders[0])
    refused = api_client.post(url)
    breach.refresh_from_db()
    confirmed_after_refusal = breach.no_risk_confirmed_at

    api_client.force_authenticate(responders[1])
    accepted = api_client.post(url)

    assert (refused.status_code, refused.json()) == (403, {"detail": SECOND_MEMBER})
    assert confirmed_after_refusal is None
    assert accepted.status_code == 200
    assert accepted.json()["no_risk_confirmed_by"] == "comp2"


def test_the_page_offers_the_confirmation_to_the_second_member_only(client, breach, responders):
    url = reverse("incidents:detail", args=[breach.pk])
    confirm_url = reverse("incidents:no_risk_confirm", args=[breach.pk])

    client.force_login(responders[0])
    proposer_page = client.get(url).content.decode()
    refused = client.post(confirm_url)
    client.force_login(responders[1])
    second_page = client.get(url).content.decode()
    accepted = client.post(confirm_url)

    assert confirm_url not in proposer_page and confirm_url in second_page
    assert (refused.status_code, accepted.status_code) == (403, 302)
    breach.refresh_from_db()
    assert breach.no_risk_confirmed_by == responders[1]
