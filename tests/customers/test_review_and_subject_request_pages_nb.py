"""The access review, data subject request and retention pages in Norwegian Bokmål: a
browser asking for ``nb`` reads them in Norwegian, with Norwegian dates."""

from datetime import date

import pytest
from django.urls import reverse

from tests.customers.reviews import start
from tests.customers.test_grants import approved_grant
from tests.customers.test_subject_requests import register
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

NB = {"HTTP_ACCEPT_LANGUAGE": "nb"}


def test_the_subject_request_pages_speak_norwegian_with_norwegian_dates(client, compliance_officer):
    customer = CustomerFactory()
    # Received 31 January: due the last day of February.
    subject_request = register(compliance_officer, customer, received_on=date(2026, 1, 31))
    client.force_login(compliance_officer)

    listed = client.get(reverse("customers:subject_request_list"), **NB).content.decode()
    detail = client.get(subject_request.get_absolute_url(), **NB).content.decode()

    assert "Henvendelser fra registrerte" in listed and "Innsyn (art. 15)" in listed
    assert "28.02.2026" in listed and "31.01.2026" in listed
    assert "Forleng fristen (art. 12 nr. 3)" in detail and "Svar og lukk" in detail
    assert "Data subject requests" not in listed and "Answer and close" not in detail


def test_a_refusal_on_the_subject_request_page_is_in_norwegian(client, compliance_officer):
    subject_request = register(compliance_officer, CustomerFactory())
    client.force_login(compliance_officer)

    response = client.post(
        reverse("customers:subject_request_close", args=[subject_request.pk]),
        {"response": "We sent the customer everything we hold."},
        **NB,
    )

    assert response.status_code == 400
    assert "Lag innsynsrapporten før du svarer på henvendelsen." in response.content.decode()


def test_a_reviewer_reads_the_access_review_page_and_its_messages_in_norwegian(
    client, requester, owner, compliance_officer, confidential_asset, email_marketing
):
    approved_grant(requester, confidential_asset, email_marketing, level="view")
    review = start(compliance_officer)
    client.force_login(owner)

    page = client.get(review.get_absolute_url(), **NB).content.decode()
    refused = client.post(
        reverse("customers:review_item_decide", args=[review.items.get().pk]),
        {"decision": "keep", "reason": ""},
        follow=True,
        **NB,
    ).content.decode()

    assert "Dine tilganger til gjennomgang" in page
    assert "Sist vist:" in page and "aldri" in page and "Behold" in page
    assert "Velg behold eller trekk tilbake, og oppgi en begrunnelse." in refused


def test_the_retention_page_speaks_norwegian(client, compliance_officer):
    client.force_login(compliance_officer)

    page = client.get(reverse("customers:retention_list"), **NB).content.decode()

    assert "Dataressurser med utløpt lagringsfrist" in page
