"""``streamed_rows``: the same rows as Django's own reading, recorded as one statement."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models.catalogue import Customer
from portal.audit import audit_record
from portal.models import AuditEvent
from portal.streamed_rows import STREAM_ROWS, streamed_rows
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_the_rows_are_djangos_in_order_over_many_chunks_and_recorded_as_one_statement():
    Customer.objects.bulk_create(CustomerFactory.build_batch(STREAM_ROWS * 5 + 7))
    rows = Customer.objects.order_by("id").values_list("id", "name", "email", "created_at")

    with CaptureQueriesContext(connection) as statements:
        streamed = list(streamed_rows(rows))

    assert streamed == list(rows)
    assert len(streamed) == STREAM_ROWS * 5 + 7
    assert len(statements) == 1
    assert statements[0]["sql"].startswith('SELECT "customers_customer"."id"')


def test_columns_django_converts_after_reading_come_converted():
    audit_record(actor=None, action="notification.retry", detail={"attempt": 2})
    rows = AuditEvent.objects.values_list("detail", "action")

    assert list(streamed_rows(rows)) == [({"attempt": 2}, "notification.retry")]


def test_a_values_queryset_gives_its_dicts():
    CustomerFactory(name="Ada")

    assert [row["name"] for row in streamed_rows(Customer.objects.values("name"))] == ["Ada"]
