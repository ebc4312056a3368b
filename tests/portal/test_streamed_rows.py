"""``streamed_rows``: the rows Django's own reading gives, streamed on PostgreSQL outside a
transaction (recorded as one statement), Django's reading everywhere else."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from psycopg.pq import TransactionStatus

from customers.models.catalogue import Customer
from portal.audit import audit_record
from portal.models import AuditEvent
from portal.streamed_rows import STREAM_ROWS, streamed_rows
from tests.factories import CustomerFactory

MANY = STREAM_ROWS * 5 + 7


def customers(count: int) -> None:
    Customer.objects.bulk_create(CustomerFactory.build_batch(count))


def rows_of_many():
    return Customer.objects.order_by("id").values_list("id", "name", "email", "created_at")


@pytest.mark.django_db
def test_the_rows_are_djangos_in_order_over_many_chunks():
    customers(MANY)

    assert list(streamed_rows(rows_of_many())) == list(rows_of_many())


@pytest.mark.django_db
@pytest.mark.parametrize(
    "rows",
    [
        # Django converts a JSON column after reading it.
        lambda: AuditEvent.objects.values_list("detail", "action"),
        # For distinct(), Django selects the order_by column too, then trims it.
        lambda: Customer.objects.values_list("email").distinct().order_by("name"),
        # A query that can match nothing is not sent at all.
        lambda: Customer.objects.filter(pk__in=[]).values_list("id"),
        lambda: Customer.objects.values("name"),
    ],
    ids=["converted", "distinct", "nothing", "dicts"],
)
def test_what_django_reshapes_comes_as_django_gives_it(rows):
    audit_record(actor=None, action="notification.retry", detail={"attempt": 2})
    CustomerFactory(name="Ada", email="ada@example.org")

    assert list(streamed_rows(rows())) == list(rows())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_rows_stream_while_the_statement_runs_recorded_once():
    customers(MANY)
    rows = streamed_rows(rows_of_many())

    with CaptureQueriesContext(connection) as statements:
        first = next(rows)
        # The statement is still running on the server: the rows come as it reads them.
        assert connection.connection.info.transaction_status == TransactionStatus.ACTIVE
        rest = list(rows)

    assert [first, *rest] == list(rows_of_many())
    assert len(statements) == 1
    assert statements[0]["sql"].startswith('SELECT "customers_customer"."id"')
    assert "%s" not in statements[0]["sql"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_the_rows_are_read_by_django_and_stopping_early_loses_nothing():
    customers(MANY)

    with transaction.atomic():
        CustomerFactory(name="Written before the read")
        rows = streamed_rows(rows_of_many())
        try:
            next(rows)
            status = connection.connection.info.transaction_status
        finally:
            rows.close()  # closed before any assertion: a held connection would hang the test

    # Not a stream: no statement was left running on the connection...
    assert status != TransactionStatus.ACTIVE
    # ...so stopping early cancelled nothing, and the transaction kept its write.
    assert Customer.objects.filter(name="Written before the read").exists()
