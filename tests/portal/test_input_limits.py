"""Dates, numbers and text outside what storage and arithmetic can take are refused with a
message naming the field (a 400 on the API, a form error on pages), never a 500, and change
nothing.

The ranges (docs/security.md "Input limits"): an incident happened on or after 1 Jan 2000 and not in
the future; a whole number fits its column; no text holds a NUL character; a JSON body is
at most 32 levels deep.
"""

import json
from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.urls import reverse

from incidents.models import Incident
from portal.audit import audit_record
from portal.errors import ApplicationError

YEAR_1 = datetime(1, 1, 2, tzinfo=UTC)

# --- An incident's discovery time -------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "discovered_at",
    [
        "0001-01-02T00:00:00Z",
        "0001-01-01T00:00:00+14:00",
        "1999-12-31T12:00:00Z",
        "9999-12-31T23:59:59-12:00",
        "9999-12-31T00:00:00Z",
    ],
)
def test_an_implausible_discovery_time_is_a_400_naming_the_field(
    api_client, requester, discovered_at
):
    api_client.force_authenticate(requester)

    response = api_client.post(
        "/api/incidents/",
        {"title": "Lost laptop", "description": "On the train.", "discovered_at": discovered_at},
        format="json",
    )

    assert response.status_code == 400, response.content
    assert "discovered_at" in response.json()
    assert not Incident.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "discovered_at", ["0001-01-02T00:00", "1999-12-31T23:59", "9999-12-31T23:59"]
)
def test_an_implausible_discovery_time_in_the_form_is_a_form_error(
    client, requester, discovered_at
):
    client.force_login(requester)

    response = client.post(
        reverse("incidents:report"),
        {"title": "Lost laptop", "description": "On the train.", "discovered_at": discovered_at},
    )

    assert response.status_code == 400
    assert response.context["form"].errors["discovered_at"]
    assert not Incident.objects.exists()


@pytest.mark.django_db
def test_a_discovery_on_the_first_of_january_2000_is_accepted(api_client, requester):
    api_client.force_authenticate(requester)

    response = api_client.post(
        "/api/incidents/",
        {"title": "Old", "description": "Found old.", "discovered_at": "2000-01-01T00:00:00Z"},
        format="json",
    )

    assert response.status_code == 201, response.content


# --- A number outside its column ----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("estimate", [2147483653, 1e25, 10**25, "1e25", "2147483653", -1], ids=repr)
def test_an_estimate_beyond_the_column_is_a_400_naming_the_field(api_client, requester, estimate):
    api_client.force_authenticate(requester)

    response = api_client.post(
        "/api/incidents/",
        {"title": "Lost laptop", "description": "On the train.", "estimated_customers": estimate},
        format="json",
    )

    assert response.status_code == 400, response.content
    assert "estimated_customers" in response.json()
    assert not Incident.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("estimate", ["2147483653", "1e25", "10000000000000000000000000"])
def test_an_estimate_beyond_the_column_in_the_form_is_a_form_error(client, requester, estimate):
    client.force_login(requester)

    response = client.post(
        reverse("incidents:report"),
        {"title": "Lost laptop", "description": "On the train.", "estimated_customers": estimate},
    )

    assert response.status_code == 400
    assert response.context["form"].errors["estimated_customers"]
    assert not Incident.objects.exists()


@pytest.mark.django_db
def test_the_largest_estimate_the_column_holds_is_accepted(api_client, requester):
    api_client.force_authenticate(requester)

    response = api_client.post(
        "/api/incidents/",
        {"title": "Big", "description": "All of them.", "estimated_customers": 2147483647},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert Incident.objects.get().estimated_customers == 2147483647


# --- Date filters whose arithmetic overflows ----------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["date_to", "date_from"])
@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_an_audit_filter_date_out_of_range_is_a_400_naming_it(
    api_client, compliance_officer, name, day
):
    audit_record(actor=None, action="records.view")
    api_client.force_authenticate(compliance_officer)

    response = api_client.get("/api/audit/", {name: day})

    assert response.status_code == 400, response.content
    assert name in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["audit_log", "audit_log_csv"])
def test_an_audit_filter_date_out_of_range_on_the_page_and_csv_is_a_form_error(
    client, compliance_officer, url
):
    client.force_login(compliance_officer)

    response = client.get(reverse(url), {"date_to": "9999-12-31"})

    assert response.status_code == 400
    assert response.context["form"].errors["date_to"]


@pytest.mark.django_db
def test_a_footprint_period_out_of_range_is_a_400_naming_it(api_client, compliance_officer, asset):
    customer = asset.customers.first()
    api_client.force_authenticate(compliance_officer)

    response = api_client.get(
        f"/api/customers/{customer.pk}/footprint/", {"since": "0001-01-01", "until": "9999-12-31"}
    )

    assert response.status_code == 400, response.content
    assert {"since", "until"} <= set(response.json())


# --- NUL characters -------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "name"),
    [("/api/customers/", "q"), ("/api/subject-requests/", "status"), ("/api/audit/", "actor")],
)
def test_a_nul_in_a_query_parameter_is_a_400_naming_it(api_client, compliance_officer, url, name):
    api_client.force_authenticate(compliance_officer)

    response = api_client.get(url, {name: "kari\x00"})

    assert response.status_code == 400, response.content
    assert name in response.json()


@pytest.mark.django_db
def test_a_nul_in_a_page_query_is_a_400_naming_it(client, compliance_officer):
    client.force_login(compliance_officer)

    response = client.get(reverse("customers:customer_search"), {"q": "kari\x00"})

    assert response.status_code == 400
    assert b"q: The text holds a NUL character (\\x00): remove it." in response.content


@pytest.mark.django_db
def test_a_nul_in_a_json_body_is_a_400_naming_the_field(api_client, requester):
    api_client.force_authenticate(requester)

    response = api_client.post(
        "/api/incidents/",
        {"title": "Lost\x00laptop", "description": "On the train."},
        format="json",
    )

    assert response.status_code == 400, response.content
    assert response.json()["title"] == ["The text holds a NUL character (\\x00): remove it."]
    assert not Incident.objects.exists()


@pytest.mark.django_db
def test_a_nul_in_a_form_is_a_400_naming_the_field(client, requester):
    client.force_login(requester)

    response = client.post(
        reverse("incidents:report"), {"title": "Lost laptop", "description": "On\x00 the train."}
    )

    assert response.status_code == 400
    assert "description" in response.content.decode() and "NUL character" in (
        response.content.decode()
    )
    assert not Incident.objects.exists()


# --- Deep nesting ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        "[" * 5000 + "]" * 5000,
        '{"title": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + ', "description": "x"}',
        json.dumps({"title": "x", "description": "y", "assets": [[[[[[[[[[[[[1]]]]]]]]]]]]]})
        .replace("[[", "[" * 40 + "[[")
        .replace("]]", "]]" + "]" * 40),
    ],
    ids=["array-5000", "object-5000", "array-50"],
)
def test_a_deeply_nested_json_body_is_a_400(api_client, requester, body):
    api_client.force_authenticate(requester)

    response = api_client.post("/api/incidents/", body, content_type="application/json")

    assert response.status_code == 400, response.content
    assert "nested" in response.json()["detail"]
    assert not Incident.objects.exists()


# --- The same kind elsewhere: every date a person gives -------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("received_on", ["1999-12-31", "0001-01-01"])
def test_a_subject_request_received_before_2000_is_a_400_naming_it(
    api_client, compliance_officer, asset, received_on
):
    from customers.models.subject_requests import DataSubjectRequest

    api_client.force_authenticate(compliance_officer)

    response = api_client.post(
        "/api/subject-requests/",
        {
            "type": "access",
            "customer": asset.customers.first().pk,
            "identity_verification": "Passport checked at the desk.",
            "received_on": received_on,
        },
        format="json",
    )

    assert response.status_code == 400, response.content
    assert "received_on" in response.json()
    assert not DataSubjectRequest.objects.exists()


@pytest.mark.django_db
def test_an_agreement_ending_in_9999_is_refused_naming_it(requester, owner):
    from consent.models import SharingRequest
    from tests.consent.test_sharing import share
    from tests.factories import DataAssetFactory

    asset = DataAssetFactory(owner=owner, customers=2, categories=["user.contact.email"])

    with pytest.raises(ApplicationError, match="must be between") as refusal:
        share(requester, asset, agreement_end=date(9999, 12, 31))

    assert refusal.value.field == "agreement_end"
    assert not SharingRequest.objects.exists()


@pytest.mark.django_db
def test_a_retention_date_in_9999_is_refused_naming_it(owner, asset):
    from customers.services.retention import asset_retention_extend

    with pytest.raises(ApplicationError, match="must be between") as refusal:
        asset_retention_extend(
            actor=owner, asset=asset, retention_date=date(9999, 12, 31), reason="Kept longer."
        )

    assert refusal.value.field == "retention_date"
    asset.refresh_from_db()
    assert asset.retention_date is None


@pytest.mark.django_db
def test_a_footprint_page_with_a_period_out_of_range_shows_the_form_error(
    client, compliance_officer, asset
):
    client.force_login(compliance_officer)
    customer = asset.customers.first()

    response = client.get(
        reverse("customers:customer_footprint", args=[customer.pk]), {"until": "9999-12-31"}
    )

    assert response.status_code == 400
    assert response.context["form"].errors["until"]


@pytest.mark.django_db
def test_an_incident_stored_with_a_discovery_in_year_1_still_shows_its_page(
    client, requester, compliance_officer, legal_counsel
):
    """Rows written before the limits existed: the page must not break on them for good."""
    from incidents.services.reports import incident_report

    incident = incident_report(actor=requester, title="Old", description="Stored long ago.")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Incident._meta.db_table} SET discovered_at = %s, aware_at = %s WHERE id = %s",
            [YEAR_1, YEAR_1, incident.pk],
        )

    for person in (compliance_officer, legal_counsel):
        client.force_login(person)
        assert client.get(reverse("incidents:detail", args=[incident.pk])).status_code == 200
        assert client.get(f"/api/incidents/{incident.pk}/").status_code == 200


# --- Ids: ASCII digits only ------------------------------------------------------------------


def test_an_id_in_superscript_digits_is_a_400_naming_the_filter(api_client, compliance_officer):
    """``str.isdigit`` accepts "²", which ``int()`` refuses: ids go through ``as_id``."""
    api_client.force_authenticate(compliance_officer)
    for name in ("asset", "user"):
        response = api_client.get("/api/grants/", {name: "\u00b2"})
        assert response.status_code == 400, response.content
        assert name in response.json()


def test_a_consent_import_row_with_a_superscript_customer_id_is_a_row_error(db):
    import io

    from consent.models import ConsentRecord
    from consent.services.imports import ImportRejected, consent_import

    text = "customer,purpose,status,effective_at\n\u00b2,marketing,granted,2024-01-05\n"
    with pytest.raises(ImportRejected) as rejected:
        consent_import(actor=None, file=io.BytesIO(text.encode()), name="c.csv")
    assert [line for line, _ in rejected.value.report.errors] == [2]
    assert ConsentRecord.objects.count() == 0


def test_a_length_limit_is_the_columns_and_a_field_without_one_fails_at_import():
    from django.core.exceptions import ImproperlyConfigured

    from consent.models import ConsentRecord
    from consent.services.records import EVIDENCE_MAX
    from portal.input_limits import max_length

    # The limit the consent services announce is the one the database enforces.
    assert ConsentRecord._meta.get_field("evidence").max_length == EVIDENCE_MAX
    with pytest.raises(ImproperlyConfigured, match="effective_at has no max_length"):
        max_length(ConsentRecord, "effective_at")


# --- Ids: no larger than a bigint key ------------------------------------------------------

BEYOND_ANY_ID = 2**70


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/access-requests/", {"asset": BEYOND_ANY_ID, "purpose": "marketing"}, "asset"),
        ("/api/subject-requests/", {"type": "access", "customer": BEYOND_ANY_ID}, "customer"),
        ("/api/consents/", {"customer": BEYOND_ANY_ID, "purpose": "marketing"}, "customer"),
        ("/api/sharing-requests/", {"asset": BEYOND_ANY_ID, "purpose": "marketing"}, "asset"),
        ("/api/review-items/accept-recommendations/", {"items": [1, BEYOND_ANY_ID]}, "items"),
        ("/api/reviews/", {"asset": BEYOND_ANY_ID}, "asset"),
        ("/api/incidents/", {"title": "Lost list", "assets": [BEYOND_ANY_ID]}, "assets"),
    ],
)
def test_an_id_beyond_a_bigint_in_a_body_is_a_400_naming_the_field(
    api_client, compliance_officer, url, body, field
):
    """A number no key can hold names no row: refused as such, where SQLite could not even
    compare it (``OverflowError`` from ``pk__in``, a server error on the demo)."""
    api_client.force_authenticate(compliance_officer)
    response = api_client.post(url, {"reason": "Quarterly review", **body}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()


@pytest.mark.parametrize(
    "path",
    [
        "/assets/{id}/",
        "/grants/{id}/records/",
        "/grants/{id}/export/",
        "/api/assets/{id}/",
        "/api/grants/{id}/records/",
        "/api/grants/{id}/export/",
    ],
)
@pytest.mark.parametrize("wanted", [BEYOND_ANY_ID, 2**63, 0])
def test_an_id_beyond_a_bigint_in_a_path_is_no_such_page(client, requester, path, wanted):
    """An asset or grant looked up by an id no key can hold is not found (404), as an id
    of no row is: SQLite could not even send it (``OverflowError``, a server error)."""
    client.force_login(requester)
    response = client.get(path.format(id=wanted))
    assert response.status_code == 404, response.content[:300]
