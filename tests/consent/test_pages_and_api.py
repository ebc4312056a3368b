"""The customer page, the asset page's coverage and the consent API."""

import pytest
from django.urls import reverse

from consent.models import ConsentRecord
from tests.consent.conftest import at
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

EMAIL = "marketing.communications.email"


@pytest.fixture
def customer(asset, record):
    customer = asset.customers.order_by("pk").first()
    record(customer, EMAIL, "granted", at(1), evidence="form-77")
    record(customer, EMAIL, "withdrawn", at(2), evidence="mail-3")
    return customer


def customer_url(customer):
    return reverse("consent:customer_detail", args=[customer.pk])


# --- customer page -------------------------------------------------------------------


def test_compliance_sees_current_consents_history_and_the_form(
    client, compliance_officer, customer
):
    client.force_login(compliance_officer)

    response = client.get(customer_url(customer))

    assert response.status_code == 200
    [state] = response.context["current"]
    assert (state.purpose.key, state.status) == (EMAIL, "withdrawn")
    assert [r.evidence for r in response.context["history"]] == ["mail-3", "form-77"]
    assert 'name="purpose"' in response.content.decode()


def test_legal_sees_the_customer_page_without_the_form(client, legal_counsel, customer):
    client.force_login(legal_counsel)

    response = client.get(customer_url(customer))

    assert response.status_code == 200
    assert "form" not in response.context
    assert 'name="purpose"' not in response.content.decode()


def test_the_customer_page_is_404_for_other_employees(client, owner, customer):
    client.force_login(owner)

    assert client.get(customer_url(customer)).status_code == 404


def test_compliance_records_a_withdrawal_with_the_form(client, compliance_officer, asset):
    customer = asset.customers.order_by("pk").last()
    client.force_login(compliance_officer)

    response = client.post(
        reverse("consent:consent_record", args=[customer.pk]),
        {"purpose": "marketing", "status": "withdrawn", "source": "phone", "evidence": "call 1"},
    )

    assert response.status_code == 302
    record = ConsentRecord.objects.get(customer=customer)
    assert (record.purpose.key, record.status, record.recorded_by) == (
        "marketing",
        "withdrawn",
        compliance_officer,
    )


def test_the_form_refuses_a_future_date_and_writes_nothing(client, compliance_officer, asset):
    customer = asset.customers.order_by("pk").last()
    client.force_login(compliance_officer)

    response = client.post(
        reverse("consent:consent_record", args=[customer.pk]),
        {"purpose": EMAIL, "status": "granted", "source": "phone", "effective_at": "2999-01-01"},
    )

    assert response.status_code == 400
    assert "in the future" in response.content.decode()
    assert not ConsentRecord.objects.filter(customer=customer).exists()


def test_legal_cannot_post_the_form(client, legal_counsel, customer):
    client.force_login(legal_counsel)

    response = client.post(
        reverse("consent:consent_record", args=[customer.pk]),
        {"purpose": EMAIL, "status": "granted", "source": "phone"},
    )

    assert response.status_code == 403
    assert ConsentRecord.objects.filter(customer=customer).count() == 2


# --- asset page ----------------------------------------------------------------------


def test_asset_page_shows_coverage_for_the_chosen_purpose(client, outsider, asset, record):
    for customer in asset.customers.order_by("pk")[:2]:
        record(customer, "marketing", "granted", at(1))
    client.force_login(outsider)

    response = client.get(reverse("customers:asset_detail", args=[asset.pk]), {"purpose": EMAIL})

    assert response.status_code == 200
    assert f"2 of 5 customers agreed to {EMAIL}." in response.content.decode()


def test_asset_page_without_a_purpose_offers_the_select(client, outsider, asset):
    client.force_login(outsider)

    response = client.get(reverse("customers:asset_detail", args=[asset.pk]))

    assert response.context["coverage"] is None
    assert f'<option value="{EMAIL}"' in response.content.decode()


# --- API -----------------------------------------------------------------------------


def test_api_asset_detail_has_coverage_for_a_purpose(api_client, outsider, asset, record):
    record(asset.customers.first(), EMAIL, "granted", at(1))
    api_client.force_authenticate(outsider)

    body = api_client.get(f"/api/assets/{asset.pk}/", {"purpose": EMAIL}).json()

    assert body["coverage"]["eligible"] == 1
    assert body["coverage"]["total"] == 5
    assert body["coverage"]["purpose"] == EMAIL
    assert api_client.get(f"/api/assets/{asset.pk}/").json()["coverage"] is None


@pytest.mark.parametrize("key", ["marketing.nonsense", f"{EMAIL}x", f"{EMAIL} ", ""])
def test_api_asset_coverage_for_an_unknown_purpose_is_400(api_client, outsider, asset, key):
    api_client.force_authenticate(outsider)

    response = api_client.get(f"/api/assets/{asset.pk}/", {"purpose": key})

    assert response.status_code == 400
    assert response.json() == {"purpose": [f"Unknown purpose {key!r}."]}


def test_api_customer_consents_for_compliance_and_legal(
    api_client, compliance_officer, legal_counsel, customer
):
    for user in (compliance_officer, legal_counsel):
        api_client.force_authenticate(user)
        body = api_client.get(f"/api/customers/{customer.pk}/consents/").json()
        assert body["customer"] == customer.pk
        assert body["current"] == [
            {
                "purpose": EMAIL,
                "status": "withdrawn",
                "effective_at": body["history"][0]["effective_at"],
                "record": body["history"][0]["id"],
            }
        ]
        assert [r["status"] for r in body["history"]] == ["withdrawn", "granted"]


def test_api_customer_consents_is_404_for_other_employees(api_client, requester, customer):
    api_client.force_authenticate(requester)

    assert api_client.get(f"/api/customers/{customer.pk}/consents/").status_code == 404


def test_api_customer_consents_runs_a_fixed_number_of_queries(
    api_client, compliance_officer, asset, record, django_assert_max_num_queries
):
    few, many = asset.customers.order_by("pk")[:2]
    record(few, EMAIL, "granted", at(1))
    for day, key in enumerate(["marketing", EMAIL, "third_party_sharing", "analytics"] * 3):
        record(many, key, "granted" if day % 2 else "withdrawn", at(day))
    api_client.force_authenticate(compliance_officer)

    for customer in (few, many):
        with django_assert_max_num_queries(8):
            assert api_client.get(f"/api/customers/{customer.pk}/consents/").status_code == 200


def api_post(api_client, user, **fields):
    api_client.force_authenticate(user)
    return api_client.post("/api/consents/", fields, format="json")


def test_api_compliance_records_consent(api_client, compliance_officer, asset):
    customer = asset.customers.first()

    response = api_post(
        api_client,
        compliance_officer,
        customer=customer.pk,
        purpose="third_party_sharing",
        status="granted",
        source="contract",
        evidence="DPA-2",
        notice_version="v3",
        effective_at="2024-04-01T10:00:00Z",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["purpose"] == "third_party_sharing"
    assert ConsentRecord.objects.get(customer=customer).evidence == "DPA-2"


@pytest.mark.parametrize("who", ["requester", "owner", "legal_counsel"])
def test_api_others_may_not_record_consent(who, request, api_client, asset):
    response = api_post(
        api_client,
        request.getfixturevalue(who),
        customer=asset.customers.first().pk,
        purpose=EMAIL,
        status="granted",
        source="web_form",
        evidence="x",
    )

    assert response.status_code == 403
    assert not ConsentRecord.objects.exists()


@pytest.mark.parametrize(
    "change, field",
    [
        ({"purpose": "marketing.communications.emailx"}, "purpose"),
        ({"purpose": "no.such.purpose"}, "purpose"),
        ({"customer": 99999999}, "customer"),
        ({"status": "granted-ish"}, "status"),
        ({"source": "telepathy"}, "source"),
        ({"effective_at": "2999-01-01T00:00:00Z"}, "effective_at"),
        ({"effective_at": "last tuesday"}, "effective_at"),
    ],
)
def test_api_bad_input_is_400_with_a_message_and_nothing_written(
    change, field, api_client, compliance_officer, asset
):
    fields = {
        "customer": asset.customers.first().pk,
        "purpose": EMAIL,
        "status": "granted",
        "source": "web_form",
        "evidence": "x",
        **change,
    }

    response = api_post(api_client, compliance_officer, **fields)

    assert response.status_code == 400
    assert response.json()[field]
    assert not ConsentRecord.objects.exists()


def test_customer_page_for_an_unknown_customer_is_404(client, compliance_officer):
    client.force_login(compliance_officer)
    missing = CustomerFactory().pk + 1000

    assert client.get(reverse("consent:customer_detail", args=[missing])).status_code == 404
