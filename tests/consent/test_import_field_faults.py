"""Faults found in the field in consent imports and in the other doors that record consent:
spreadsheet leftovers, implausible dates, NUL characters. A bad row imports nothing."""

import io

import pytest
from django.urls import reverse

from consent.models import ConsentRecord
from consent.services.imports import ImportRejected, consent_import
from consent.services.records import consent_record
from portal.errors import ApplicationError
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

HEADER = "customer,purpose,status,source,evidence,notice_version,effective_at\n"


def run_import(text: str, actor=None):
    return consent_import(actor=actor, file=io.BytesIO(text.encode()), name="c.csv")


def rejected_errors(text: str) -> list[tuple[int, str]]:
    with pytest.raises(ImportRejected) as rejected:
        run_import(text)
    assert ConsentRecord.objects.count() == 0
    return rejected.value.report.errors


# --- Spreadsheet leftovers -----------------------------------------------------------------


def test_rows_of_only_separators_and_blank_lines_are_skipped():
    kari = CustomerFactory()
    text = (
        HEADER
        + f"{kari.pk},marketing,granted,web_form,form-1,v1,2024-01-05\n"
        + "\n"
        + ",,,,,,\n"
        + " , ,\t,,, ,\n"
        + ",,,,,,\r\n"
    )

    report = run_import(text)

    assert (report.rows, report.imported) == (1, 1)


def test_every_field_is_trimmed_the_same_way():
    kari = CustomerFactory()
    text = HEADER + f" {kari.pk} , marketing ,  Granted , Web_Form , form-1 , v1 , 2024-01-05 \n"

    report = run_import(text)

    assert report.imported == 1
    record = ConsentRecord.objects.get()
    assert (record.purpose.key, record.status, record.source, record.evidence) == (
        "marketing",
        "granted",
        "web_form",
        "form-1",
    )


# --- Dates outside what storage can take, NUL characters ------------------------------------


@pytest.mark.parametrize(
    "when", ["0001-01-01T00:00:00+14:00", "1989-12-31T12:00:00Z", "0001-01-01"]
)
def test_an_implausibly_early_effective_date_rejects_the_file(when):
    kari = CustomerFactory()
    text = (
        HEADER
        + f"{kari.pk},marketing,granted,web_form,form-1,v1,2024-01-05\n"
        + f"{kari.pk},third_party_sharing,granted,web_form,form-1,v1,{when}\n"
    )

    errors = rejected_errors(text)

    assert len(errors) == 1 and errors[0][0] == 3
    assert "before 1 Jan 1990" in errors[0][1]


def test_a_nul_character_in_any_field_rejects_the_file_with_a_clear_reason():
    kari = CustomerFactory()
    text = (
        HEADER
        + f"{kari.pk},marketing,granted,web_form,form-1,v1,2024-01-05\n"
        + f"{kari.pk},third_party_sharing,granted,web_form,form\x00-2,v1,2024-01-05\n"
        + f"{kari.pk}\x00,marketing,withdrawn,web_form,form-3,v1,2024-01-06\n"
    )

    errors = rejected_errors(text)

    assert errors == [
        (3, "The evidence holds a NUL character (\\x00): remove it."),
        (4, "The customer holds a NUL character (\\x00): remove it."),
    ]


def test_the_api_refuses_an_implausible_effective_date_with_a_400_naming_it(
    api_client, compliance_officer
):
    kari = CustomerFactory()
    api_client.force_authenticate(compliance_officer)

    for when in ("0001-01-01T00:00:00+14:00", "1989-12-31T00:00:00Z"):
        response = api_client.post(
            "/api/consents/",
            {
                "customer": kari.pk,
                "purpose": "marketing",
                "status": "granted",
                "source": "web_form",
                "evidence": "form-1",
                "effective_at": when,
            },
            format="json",
        )
        assert response.status_code == 400, when
        assert "effective_at" in response.json(), response.json()

    assert ConsentRecord.objects.count() == 0
    assert api_client.get(f"/api/customers/{kari.pk}/consents/").status_code == 200


def test_the_customer_page_refuses_an_implausible_effective_date(client, compliance_officer):
    kari = CustomerFactory()
    client.force_login(compliance_officer)

    response = client.post(
        reverse("consent:consent_record", args=[kari.pk]),
        {
            "purpose": "marketing",
            "status": "granted",
            "source": "web_form",
            "effective_at": "0001-01-01 00:00",
        },
    )

    assert response.status_code == 400
    assert "before 1 Jan 1990" in response.content.decode()
    assert ConsentRecord.objects.count() == 0
    assert client.get(reverse("consent:customer_detail", args=[kari.pk])).status_code == 200


def test_the_service_refuses_a_nul_character_from_any_caller(compliance_officer):
    from consent.models import Purpose

    kari = CustomerFactory()
    with pytest.raises(ApplicationError) as refused:
        consent_record(
            actor=compliance_officer,
            customer=kari,
            purpose=Purpose.objects.get(key="marketing"),
            status="granted",
            source="web_form",
            evidence="form\x00-1",
        )

    assert refused.value.field == "evidence"
    assert ConsentRecord.objects.count() == 0
