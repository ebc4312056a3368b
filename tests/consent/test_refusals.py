"""Recording consent, through the page and the API: the rule lives in consent/policies.py,
the service enforces it, and a refusal is a 403 on both (with its message in the API's
JSON), before the input is read."""

import pytest
from django.urls import reverse

from consent.models import ConsentRecord

pytestmark = pytest.mark.django_db

FIELDS = {"purpose": "marketing", "status": "withdrawn", "source": "phone", "evidence": "call 1"}


def test_legal_may_not_record_consent_on_the_page_compliance_may(
    client, legal_counsel, compliance_officer, asset
):
    customer = asset.customers.order_by("pk").first()
    url = reverse("consent:consent_record", args=[customer.pk])

    client.force_login(legal_counsel)
    page = client.get(reverse("consent:customer_detail", args=[customer.pk])).content.decode()
    refused = client.post(url, FIELDS)
    refused_empty = client.post(url, {})
    written_after_refusal = ConsentRecord.objects.filter(customer=customer).count()

    client.force_login(compliance_officer)
    accepted = client.post(url, FIELDS)

    assert url not in page  # legal sees the customer, not the form
    assert (refused.status_code, refused_empty.status_code, accepted.status_code) == (
        403,
        403,
        302,
    )
    assert written_after_refusal == 0
    assert ConsentRecord.objects.get(customer=customer).recorded_by == compliance_officer


def test_legal_may_not_record_consent_in_the_api_compliance_may(
    api_client, legal_counsel, compliance_officer, asset
):
    customer = asset.customers.order_by("pk").first()
    body = {**FIELDS, "customer": customer.pk}

    api_client.force_authenticate(legal_counsel)
    refused = api_client.post("/api/consents/", body, format="json")
    refused_bad_body = api_client.post("/api/consents/", {"status": "maybe"}, format="json")
    api_client.force_authenticate(compliance_officer)
    accepted = api_client.post("/api/consents/", body, format="json")

    assert (refused.status_code, refused.json()) == (
        403,
        {"detail": "Only a compliance officer can record consent."},
    )
    assert refused_bad_body.status_code == 403
    assert accepted.status_code == 201
    assert ConsentRecord.objects.get(customer=customer).recorded_by == compliance_officer
