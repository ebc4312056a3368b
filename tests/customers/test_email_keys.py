"""A customer's e-mail is one key however it is typed: stored, searched and imported through
one normalisation (``customers.emails.normalise_email``)."""

import importlib
import io

import pytest
from django.apps import apps
from django.urls import reverse

from consent.models import ConsentRecord
from consent.services.imports import consent_import
from customers.models.catalogue import Customer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

HEADER = "customer,purpose,status,source,evidence,notice_version,effective_at\n"


def test_stored_addresses_are_normalised_domain_and_local_part():
    kari = CustomerFactory(email="  Kari.Nordmann@Example.no ")
    ola = CustomerFactory(email="Ola@Bücher.NO")

    assert Customer.objects.get(pk=kari.pk).email == "kari.nordmann@example.no"
    assert Customer.objects.get(pk=ola.pk).email == "ola@xn--bcher-kva.no"


def test_the_normalisation_is_one_key_for_every_spelling():
    from customers.emails import normalise_email

    assert {
        normalise_email(text)
        for text in (
            "Ola@Bücher.NO",
            "ola@bücher.no",
            "OLA@XN--BCHER-KVA.NO",
            " ola@bücher.no. ",
        )
    } == {"ola@xn--bcher-kva.no"}
    assert normalise_email("") == ""
    assert normalise_email("no address at all") == "no address at all"


def test_an_import_row_matches_the_customer_however_the_address_is_typed(compliance_officer):
    kari = CustomerFactory(email="Kari.Nordmann@Example.no")
    ola = CustomerFactory(email="ola@bücher.no")
    text = (
        HEADER
        + "kari.nordmann@example.no,marketing,granted,web_form,f-1,v1,2024-01-05\n"
        + "KARI.NORDMANN@EXAMPLE.NO,third_party_sharing,granted,web_form,f-2,v1,2024-01-05\n"
        + "Ola@BÜCHER.no,marketing,granted,web_form,f-3,v1,2024-01-05\n"
    )

    report = consent_import(actor=compliance_officer, file=io.BytesIO(text.encode()), name="c.csv")

    assert report.imported == 3
    assert sorted(ConsentRecord.objects.values_list("customer_id", flat=True)) == sorted(
        [kari.pk, kari.pk, ola.pk]
    )


def test_search_finds_the_customer_however_the_address_is_typed(
    api_client, client, compliance_officer
):
    kari = CustomerFactory(email="Kari.Nordmann@Example.no")
    ola = CustomerFactory(email="ola@bücher.no")
    api_client.force_authenticate(compliance_officer)
    client.force_login(compliance_officer)

    for q, expected in (
        ("kari.nordmann@EXAMPLE.NO", kari),
        ("Ola@BÜCHER.no", ola),
        ("ola@xn--bcher-kva.no", ola),
    ):
        found = api_client.get("/api/customers/", {"q": q}).json()
        assert [c["id"] for c in found["results"]] == [expected.pk], q
        page = client.get(reverse("customers:customer_search"), {"q": q})
        assert list(page.context["page"].object_list) == [expected], q


def test_the_data_migration_normalises_existing_rows_and_keeps_collisions():
    kari = CustomerFactory()
    twin = CustomerFactory()
    # Rows as they were stored before the normalisation (raw SQL path, no save()).
    Customer.objects.filter(pk=kari.pk).update(email="Kari.Nordmann@Example.no")
    Customer.objects.filter(pk=twin.pk).update(email="KARI.NORDMANN@example.NO")
    migration = importlib.import_module("customers.migrations.0009_normalise_customer_emails")

    migration.normalise_customer_emails(apps, None)

    assert set(
        Customer.objects.filter(pk__in=[kari.pk, twin.pk]).values_list("email", flat=True)
    ) == {"kari.nordmann@example.no"}
