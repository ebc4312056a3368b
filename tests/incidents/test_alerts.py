"""Misuse alerts as compliance reads and handles them: the list, the API, dismissing with a
reason, opening an incident in one step; never shown to the person concerned."""

import pytest
from django.urls import reverse

from incidents.models import Alert, AlertStatus
from incidents.services.alerts import alerts_evaluate
from portal.models import AuditEvent
from tests.incidents.test_misuse_signals import refuse

pytestmark = pytest.mark.django_db


@pytest.fixture
def alert(requester, unconsented, email_marketing):
    """req was refused three times: one repeated-refusals alert."""
    for asset in unconsented[:3]:
        refuse(requester, asset, email_marketing)
    alerts_evaluate()
    return Alert.objects.get()


@pytest.fixture
def unconsented(owner):
    from tests.factories import DataAssetFactory

    return [DataAssetFactory(owner=owner, name=f"Legacy {n}", customers=3) for n in range(3)]


@pytest.fixture
def email_marketing(db):
    from consent.models import Purpose

    return Purpose.objects.get(key="marketing.communications.email")


def test_compliance_reads_the_alert_in_the_api_with_the_contract_fields(
    api_client, compliance_officer, alert, django_assert_max_num_queries
):
    api_client.force_authenticate(compliance_officer)

    with django_assert_max_num_queries(8):
        response = api_client.get("/api/alerts/")

    assert response.status_code == 200
    [row] = response.json()["results"]
    assert {"id", "signal", "subject", "occurred_at", "evidence", "status"} <= set(row)
    assert row["signal"] == "repeated_refusals" and row["subject"] == "req"
    assert row["status"] == "open" and len(row["evidence"]["events"]) == 3


def test_the_person_concerned_and_other_employees_get_404(
    api_client, requester, outsider, legal_counsel, alert
):
    for person in (requester, outsider, legal_counsel):
        api_client.force_authenticate(person)
        assert api_client.get("/api/alerts/").status_code == 404
        assert api_client.get(f"/api/alerts/{alert.pk}/").status_code == 404


def test_a_compliance_officer_never_sees_an_alert_about_themselves(
    client, api_client, compliance_officer, second_compliance_officer, unconsented, email_marketing
):
    for asset in unconsented:
        refuse(compliance_officer, asset, email_marketing)
    alerts_evaluate()
    alert = Alert.objects.get()

    api_client.force_authenticate(compliance_officer)
    assert api_client.get("/api/alerts/").json()["results"] == []
    assert api_client.get(f"/api/alerts/{alert.pk}/").status_code == 404
    dismiss = api_client.post(
        f"/api/alerts/{alert.pk}/dismiss/", {"reason": "Only myself here."}, format="json"
    )
    assert dismiss.status_code == 404
    client.force_login(compliance_officer)
    assert client.get(reverse("incidents:alert_detail", args=[alert.pk])).status_code == 404

    api_client.force_authenticate(second_compliance_officer)
    assert [row["id"] for row in api_client.get("/api/alerts/").json()["results"]] == [alert.pk]


def test_dismissing_needs_a_reason_and_is_kept_with_the_alert(
    api_client, compliance_officer, alert
):
    api_client.force_authenticate(compliance_officer)

    short = api_client.post(f"/api/alerts/{alert.pk}/dismiss/", {"reason": "ok"}, format="json")
    assert short.status_code == 400
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN

    done = api_client.post(
        f"/api/alerts/{alert.pk}/dismiss/",
        {"reason": "Testing the new campaign tool."},
        format="json",
    )
    assert done.status_code == 200, done.json()
    assert done.json()["status"] == "dismissed"
    assert done.json()["dismiss_reason"] == "Testing the new campaign tool."
    assert AuditEvent.objects.filter(action="alert.dismiss", target_id=str(alert.pk)).exists()

    again = api_client.post(f"/api/alerts/{alert.pk}/incident/", format="json")
    assert again.status_code == 400 and "already dismissed" in again.json()["detail"]


def test_compliance_opens_an_incident_from_the_alert_in_one_step(client, compliance_officer, alert):
    client.force_login(compliance_officer)

    response = client.post(reverse("incidents:alert_incident", args=[alert.pk]))

    alert.refresh_from_db()
    assert alert.status == AlertStatus.INCIDENT
    incident = alert.incident
    assert response.status_code == 302 and response.url == incident.get_absolute_url()
    assert f"alert {alert.pk}" in incident.description and "req" in incident.description
    for pk in alert.evidence["events"]:
        assert f"#{pk}" in incident.description
    page = client.get(reverse("incidents:alert_detail", args=[alert.pk])).content.decode()
    assert incident.reference in page


def test_the_alerts_page_and_the_dashboard_show_the_open_alerts(client, compliance_officer, alert):
    client.force_login(compliance_officer)

    page = client.get(reverse("incidents:alert_list")).content.decode()
    assert "Repeated refusals" in page and "req" in page
    dashboard = client.get(reverse("home")).content.decode()
    assert 'id="misuse-alerts"' in dashboard and "1</strong> open alert" in dashboard


def test_a_page_dismissal_without_reason_changes_nothing(client, compliance_officer, alert):
    client.force_login(compliance_officer)

    response = client.post(reverse("incidents:alert_dismiss", args=[alert.pk]), {"reason": ""})

    assert response.status_code == 400
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN
