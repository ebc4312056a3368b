"""The deadline actions through the API: same services, same rules, JSON errors."""

from datetime import datetime, timedelta

import pytest
import time_machine

from incidents.models import DutyState

pytestmark = pytest.mark.django_db


@pytest.fixture
def gdpr(api_client, report, responders, frozen):
    incident = report()
    api_client.force_authenticate(responders[0])
    api_client.post(f"/api/incidents/{incident.pk}/acknowledge/")
    response = api_client.patch(
        f"/api/incidents/{incident.pk}/",
        {"personal_data_breach": True, "breach_reason": "E-mails reached a third party."},
        format="json",
    )
    assert response.status_code == 200
    return incident, response.json()["duties"][0]


def test_detail_answer_lists_the_duties_with_their_due_times(gdpr):
    incident, duty = gdpr
    assert (duty["regime"], duty["key"], duty["state"]) == (
        "gdpr-art-33",
        "authority-notification",
        "open",
    )
    assert datetime.fromisoformat(duty["due_at"]) == incident.aware_at + timedelta(hours=72)


def test_late_record_through_the_api_needs_a_reason(api_client, gdpr):
    incident, duty = gdpr
    url = f"/api/incidents/{incident.pk}/duties/{duty['id']}/record/"
    with time_machine.travel(incident.aware_at + timedelta(hours=73), tick=False):
        refused = api_client.post(url, {"reference": "DPA-7"}, format="json")
        accepted = api_client.post(
            url,
            {"reference": "DPA-7", "delay_reason": "Scope confirmed only on day three."},
            format="json",
        )
    assert refused.status_code == 400 and "delay_reason" in refused.json()
    assert accepted.status_code == 200
    assert accepted.json()["duties"][0]["state"] == DutyState.DONE


def test_no_risk_through_the_api_needs_a_second_member(api_client, gdpr, responders):
    incident, _ = gdpr
    base = f"/api/incidents/{incident.pk}/no-risk"
    proposed = api_client.post(
        f"{base}/propose/", {"reason": "Encrypted; the key never left us."}, format="json"
    )
    self_confirm = api_client.post(f"{base}/confirm/")
    api_client.force_authenticate(responders[2])
    confirmed = api_client.post(f"{base}/confirm/")

    assert (proposed.status_code, self_confirm.status_code, confirmed.status_code) == (
        200,
        403,
        200,
    )
    assert confirmed.json()["no_risk_confirmed_by"] == "legal"
    assert confirmed.json()["duties"][0]["state"] == DutyState.WAIVED


def test_regime_and_deadline_actions_are_403_for_the_reporter_and_404_for_others(
    api_client, gdpr, carl, alice
):
    incident, duty = gdpr
    paths = [
        ("regimes/", {"regime": "nis2-art-23"}),
        (f"duties/{duty['id']}/record/", {"reference": "x"}),
        ("awareness/", {"aware_at": "2025-03-03T09:00:00Z", "reason": "Some good reason."}),
        ("no-risk/propose/", {"reason": "Some good reason."}),
        ("customer-notice/", {"decision": "required", "reason": "Some good reason."}),
    ]
    for user, code in ((carl, 403), (alice, 404)):
        api_client.force_authenticate(user)
        for path, body in paths:
            response = api_client.post(f"/api/incidents/{incident.pk}/{path}", body, format="json")
            assert response.status_code == code, (user, path)
    assert incident.regimes.count() == 1 and incident.duties.get().state == DutyState.OPEN


def test_unknown_regime_is_a_400(api_client, gdpr):
    incident, _ = gdpr
    response = api_client.post(
        f"/api/incidents/{incident.pk}/regimes/", {"regime": "made-up"}, format="json"
    )
    assert response.status_code == 400 and "regime" in response.json()
