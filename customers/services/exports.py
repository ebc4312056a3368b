"""Reading records through a grant: every page viewed and every export is written to the audit
trail, and an export to the export ledger, in the transaction that serves it."""

import uuid
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from consent.selectors import eligible_customers
from customers.models.access import AccessGrant, AccessLevel
from customers.models.catalogue import Customer
from customers.models.exports import Export, ExportedCustomer
from customers.selectors.grants import grant_records
from portal.audit import audit_record
from portal.audit_actions import AuditAction
from portal.errors import NotAllowed
from portal.models import User


@dataclass(frozen=True)
class ExportBatch:
    export_id: str
    columns: list[str]
    rows: object  # a queryset of dicts, streamed by the caller
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
    carries as ``ExportedCustomer`` rows), in one transaction. The caller streams ``rows``."""
    if grant.level != AccessLevel.EXPORT:
        raise NotAllowed("This grant allows viewing only, not exporting.")
    columns, _ = grant_records(grant)
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
    rows = (
        Customer.objects.filter(
            pk__in=ExportedCustomer.objects.filter(export_id=export_id).values("customer_id")
        )
        .order_by("id")
        .values(*columns)
    )
    return ExportBatch(export_id=export_id, columns=columns, rows=rows, count=count)


def _record_exported_customers(*, grant: AccessGrant, export_id: str) -> int:
    """One ``ExportedCustomer`` row per customer of the export, written by the database in
    one INSERT ... SELECT over the same eligible set the file streams (no ids travel to
    Python, so a 100,000-row export costs one statement). Returns how many."""
    eligible = eligible_customers(grant.asset, grant.purpose).order_by().values("pk")
    select_sql, params = eligible.query.sql_with_params()
    table = connection.ops.quote_name(ExportedCustomer._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (export_id, grant_id, customer_id, exported_at) "  # noqa: S608
            f"SELECT %s, %s, eligible.pk, %s FROM ({select_sql}) eligible",
            [export_id, grant.pk, adapt(timezone.now()), *params],
        )
        return cursor.rowcount
