"""Reading records through a grant: every page viewed and every export is written to the audit
trail, and an export to the export ledger, in the transaction that serves it."""

import uuid
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import BooleanField, QuerySet, Sum
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.categories import record_columns
from consent.selectors import eligible_customer_ids_sql
from customers.models.access import AccessGrant, AccessLevel
from customers.models.catalogue import Customer
from customers.models.exports import EXPORT_BLOCK_CUSTOMERS, Export, ExportedCustomerBlock
from portal.audit import audit_record
from portal.audit_actions import AuditAction
from portal.errors import NotAllowed
from portal.models import User


@dataclass(frozen=True)
class ExportBatch:
    export_id: str
    columns: list[str]
    # The recorded customers' values in ``columns`` order, by customer id: a queryset of
    # tuples the caller streams (``csv_response`` reads it with ``portal.streamed_rows``).
    rows: QuerySet[Customer, tuple]
    count: int

    @property
    def filename(self) -> str:
        return f"export-{self.export_id}.csv"


def records_viewed(*, grant: AccessGrant, actor: User, page_number: int, shown: int) -> None:
    """Every page of records read through a grant is an audit event with the count shown."""
    audit_record(
        actor=actor,
        action=AuditAction.RECORDS_VIEW,
        target=grant,
        asset_id=grant.asset_id,
        detail={"purpose": grant.purpose.key, "page": page_number, "shown": shown},
    )


def grant_export_start(*, grant: AccessGrant, actor: User) -> ExportBatch:
    """Open an export through an ``export`` grant: the eligible customers at this moment,
    only the columns of the asset's categories, under a new export id recorded in the audit
    trail with the row count and in the export ledger (``Export``, with the customers it
    carries in ``ExportedCustomerBlock`` rows), in one transaction. The caller streams
    ``rows``. Raises ``NotAllowed`` for a ``view`` grant."""
    if grant.level != AccessLevel.EXPORT:
        raise NotAllowed(_("This grant allows viewing only, not exporting."))
    columns = record_columns(grant.asset)
    export_id = uuid.uuid4().hex
    with transaction.atomic():
        # Which customers the export carried, so a customer's footprint names
        # exactly the exports that included them; the count is the number recorded.
        count = _record_exported_customers(grant=grant, export_id=export_id)
        event = audit_record(
            actor=actor,
            action=AuditAction.EXPORT_DOWNLOAD,
            target=grant,
            asset_id=grant.asset_id,
            detail={
                "export_id": export_id,
                "rows": count,
                "columns": columns,
                "purpose": grant.purpose.key,
                "customers_recorded": True,
            },
        )
        Export.objects.record(event=event, grant=grant, columns=columns, customers_recorded=True)
    # The file streams exactly the customers recorded above: the audited count, the
    # footprints and the file agree even if a consent changes while the export runs.
    # Tuples, not model instances or dicts: the writer takes them as they come.
    rows = Customer.objects.filter(_recorded_by(export_id)).order_by("id").values_list(*columns)
    return ExportBatch(export_id=export_id, columns=columns, rows=rows, count=count)


def _record_exported_customers(*, grant: AccessGrant, export_id: str) -> int:
    """The ``ExportedCustomerBlock`` rows of the export, written by the database in one
    INSERT ... SELECT over the customers the consent selectors find eligible now
    (``eligible_customer_ids``: the rule, read from the asset's memberships), numbered in
    customer order and grouped ``EXPORT_BLOCK_CUSTOMERS`` to a row. No ids travel to
    Python: a 100,000-customer export costs one statement writing 100 rows. Returns how
    many customers were recorded (a second, small query over those rows)."""
    select_sql, params = eligible_customer_ids_sql(grant.asset, grant.purpose)
    table = connection.ops.quote_name(ExportedCustomerBlock._meta.db_table)
    if connection.vendor == "postgresql":
        ids = "jsonb_agg(customer_id ORDER BY customer_id)"
    else:  # SQLite (the demo): the order of the list does not matter to its readers
        ids = "json_group_array(customer_id)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (export_id, grant_id, first_customer_id, "  # noqa: S608
            "last_customer_id, customers, customer_ids, exported_at) "
            f"SELECT %s, %s, MIN(customer_id), MAX(customer_id), COUNT(*), {ids}, %s FROM ("
            "SELECT eligible.customer_id, (ROW_NUMBER() OVER (ORDER BY eligible.customer_id) "
            f"- 1) / %s AS block FROM ({select_sql}) eligible ORDER BY eligible.customer_id"
            ") numbered GROUP BY block",
            [
                export_id,
                grant.pk,
                connection.ops.adapt_datetimefield_value(timezone.now()),
                EXPORT_BLOCK_CUSTOMERS,
                *params,
            ],
        )
    recorded = ExportedCustomerBlock.objects.filter(export_id=export_id).aggregate(
        customers=Sum("customers")
    )
    return recorded["customers"] or 0


def _recorded_by(export_id: str) -> RawSQL:
    """The condition "this customer was recorded by the export", on the customer table.

    On PostgreSQL the ids become one array, ``id = ANY(...)``: the primary key's index then
    reads the customers in id order (no sort of the rows, no de-duplication of the ids,
    which are unique), 0.24 s where ``id IN (subquery)`` took 0.6 to 0.85 s for 50,000
    customers. Each id is read as text and cast (``jsonb_array_elements_text``): ``jsonb``
    keeps numbers as ``numeric``, and casting the text is the cheaper way to ``bigint``
    (the read of 49,728 recorded customers 85 to 68 ms, ``EXPLAIN ANALYZE``). SQLite (the
    demo) reads the JSON lists with ``json_each``."""
    blocks = connection.ops.quote_name(ExportedCustomerBlock._meta.db_table)
    customer_id = (
        f"{connection.ops.quote_name(Customer._meta.db_table)}."
        f"{connection.ops.quote_name(str(Customer._meta.pk.column))}"
    )
    if connection.vendor == "postgresql":
        sql = (
            f"{customer_id} = ANY(ARRAY(SELECT jsonb_array_elements_text(b.customer_ids)::bigint "
            f"FROM {blocks} b WHERE b.export_id = %s))"  # noqa: S608
        )
    else:
        sql = (
            f"{customer_id} IN (SELECT j.value FROM {blocks} b, json_each(b.customer_ids) j "
            "WHERE b.export_id = %s)"  # noqa: S608
        )
    return RawSQL(sql, [export_id], output_field=BooleanField())
