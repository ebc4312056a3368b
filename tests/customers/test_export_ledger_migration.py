"""The upgrade that stores the export ledger's customer ids as a PostgreSQL array keeps
every block's ids, in order, and the downgrade gives them back as the JSON list they were:
a customer's footprint names the same exports before and after."""

import json

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from customers.models.catalogue import Customer
from customers.models.exports import ExportedCustomerBlock
from customers.selectors.footprint import _exports_carrying

BEFORE = [("customers", "0014_accessreview_mover")]
AFTER = [("customers", "0015_export_block_ids_array")]
IDS = [3, 17, 9_000_000_000]


def migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def stored_json_ids() -> list:
    """The blocks' ids as the old version reads them: a ``jsonb`` list."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT customer_ids::text, pg_typeof(customer_ids)::text "
            "FROM customers_exportedcustomerblock"
        )
        return [json.loads(text) for text, kind in cursor.fetchall() if kind == "jsonb"]


@pytest.mark.postgres
def test_the_upgrade_keeps_each_blocks_ids_in_order_and_the_downgrade_gives_them_back(
    transactional_db,
):
    migrate(BEFORE)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO customers_exportedcustomerblock (export_id, grant_id, "
                "first_customer_id, last_customer_id, customers, customer_ids, exported_at) "
                "VALUES ('e1', 1, 3, 9000000000, 3, '[3, 17, 9000000000]'::jsonb, now())"
            )

        migrate(AFTER)
        assert list(ExportedCustomerBlock.objects.values_list("customer_ids", flat=True)) == [IDS]
        assert _exports_carrying(Customer(pk=17), ["e1"]) == {"e1"}
        assert _exports_carrying(Customer(pk=18), ["e1"]) == set()

        migrate(BEFORE)
        assert stored_json_ids() == [IDS]
    finally:
        migrate(AFTER)
