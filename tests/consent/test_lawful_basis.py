"""Compliance changes a purpose's lawful basis on the purposes page, with a reason: history,
audit event, coverage recounted; everyone else gets 404; bad input changes nothing."""

import re

import pytest
from django.test import override_settings
from django.urls import reverse

from consent.coverage_cache import cached_coverage_for
from consent.models import Purpose
from portal.models import AuditEvent
from tests.factories import DataAssetFactory, UserFactory

KEY = "marketing.communications.email"
REASON = "Art. 6(1)(f) assessment LIA-2026-04 approved by the DPO for existing clients."


def post(client, key=KEY, basis="legitimate_interest", reason=REASON):
    return client.post(
        reverse("consent:purposes"), {"purpose": key, "lawful_basis": basis, "reason": reason}
    )


def test_compliance_sees_every_purpose_with_its_lawful_basis(client, compliance_officer):
    client.force_login(compliance_officer)
    response = client.get(reverse("consent:purposes"))
    assert response.status_code == 200
    page = response.content.decode()
    # The row of each purpose: its name and key, then its lawful basis.
    row = r"<code>{}</code></small></td>\s*<td>{}</td>"
    assert re.search(row.format(re.escape(KEY), "Consent"), page)
    assert re.search(row.format("essential\\.service", "Contract"), page)


@override_settings(COVERAGE_CACHE_MIN_CUSTOMERS=1)
def test_compliance_changes_a_lawful_basis_with_a_reason_and_coverage_follows(
    client, compliance_officer, owner, django_capture_on_commit_callbacks
):
    asset = DataAssetFactory(owner=owner, customers=6, collected_for=[KEY])
    purpose = Purpose.objects.get(key=KEY)
    assert cached_coverage_for(asset, purpose).eligible == 0  # cached: nobody consented
    client.force_login(compliance_officer)

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client)

    assert response.status_code == 302
    purpose.refresh_from_db()
    assert purpose.lawful_basis == "legitimate_interest"
    assert cached_coverage_for(asset, purpose).eligible == 6  # the cached figure is gone
    event = AuditEvent.objects.get(action="purpose.lawful_basis_change")
    assert event.actor == compliance_officer
    assert event.detail == {"from": "consent", "to": "legitimate_interest", "reason": REASON}
    last = purpose.history.order_by("-history_id").first()
    assert (last.history_user, last.history_change_reason) == (compliance_officer, REASON[:100])
    page = client.get(reverse("consent:purposes")).content.decode()
    assert REASON[:40] in page  # the change is listed with its reason


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"key": "no.such.purpose"}, "purpose", "Unknown purpose"),
        ({"basis": "because_we_can"}, "lawful_basis", "Select a valid choice"),
        ({"basis": "consent"}, "lawful_basis", "already relies on consent"),
        ({"reason": ""}, "reason", "This field is required."),
        ({"reason": "ok then"}, "reason", "Give the reason"),
    ],
)
def test_bad_input_is_a_form_error_and_changes_nothing(
    client, compliance_officer, fields, field, message
):
    client.force_login(compliance_officer)

    response = post(client, **fields)

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert Purpose.objects.get(key=KEY).lawful_basis == "consent"
    assert not AuditEvent.objects.filter(action="purpose.lawful_basis_change").exists()


def test_nobody_but_compliance_finds_the_page_or_changes_a_basis(
    client, requester, owner, legal_counsel
):
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    for user in (requester, owner, legal_counsel, admin):
        client.force_login(user)
        assert client.get(reverse("consent:purposes")).status_code == 404
        assert post(client).status_code == 404
    assert Purpose.objects.get(key=KEY).lawful_basis == "consent"


def test_the_purposes_page_reads_a_fixed_number_of_queries_however_long_its_history(
    client, compliance_officer, django_assert_max_num_queries
):
    """Each change's row names who made it: that must come with the row, not one query per
    row, so the page's cost does not grow with its history."""
    client.force_login(compliance_officer)
    bases = ["legitimate_interest", "consent"]

    def queries_for_the_page() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("consent:purposes")).status_code == 200
        return len(captured)

    assert post(client, basis=bases[0]).status_code == 302
    few = queries_for_the_page()
    for number in range(1, 9):
        assert post(client, basis=bases[number % 2]).status_code == 302
    page = client.get(reverse("consent:purposes")).content.decode()
    assert page.count(str(compliance_officer)) >= 9  # every change names its author
    with django_assert_max_num_queries(few):
        client.get(reverse("consent:purposes"))
