"""No answer of the portal is kept in a browser's or proxy's cache: every page and API
answer carries ``Cache-Control: no-store`` (static files keep their own caching)."""

import pytest
from django.urls import reverse

from incidents.services.reports import incident_report
from tests.customers.conftest import consent


def assert_no_store(response):
    assert response.status_code == 200, response.status_code
    assert "no-store" in response.get("Cache-Control", ""), response.get("Cache-Control")


@pytest.mark.django_db
def test_pages_showing_customer_data_are_not_cached(client, compliance_officer, asset):
    customer = asset.customers.first()
    client.force_login(compliance_officer)

    for url in (
        reverse("consent:customer_detail", args=[customer.pk]),
        reverse("customers:customer_footprint", args=[customer.pk]),
        reverse("customers:customer_search") + f"?q={customer.email}",
        reverse("customers:asset_detail", args=[asset.pk]),
        reverse("audit_log"),
    ):
        assert_no_store(client.get(url))


@pytest.mark.django_db
def test_api_answers_with_customer_data_are_not_cached(api_client, compliance_officer, asset):
    customer = asset.customers.first()
    consent([customer], "marketing.communications.email")
    api_client.force_authenticate(compliance_officer)

    for url in (
        f"/api/customers/{customer.pk}/consents/",
        f"/api/customers/{customer.pk}/footprint/",
        f"/api/customers/?q={customer.email}",
        "/api/assets/",
        "/api/audit/",
    ):
        assert_no_store(api_client.get(url))


@pytest.mark.django_db
def test_incident_pages_and_the_inbox_are_not_cached(client, requester, compliance_officer):
    incident = incident_report(actor=requester, title="Lost laptop", description="On a train.")
    client.force_login(compliance_officer)

    for url in (
        reverse("incidents:detail", args=[incident.pk]),
        reverse("incidents:list"),
        reverse("notification_list"),
        reverse("home"),
    ):
        assert_no_store(client.get(url))


@pytest.mark.django_db
def test_the_login_page_is_not_cached_either(client):
    assert_no_store(client.get(reverse("login")))
