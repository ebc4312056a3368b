"""The export ledger: one row per export of customer records, and which customers it carried."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from customers.models.access import AccessGrant
from customers.models.catalogue import Customer, DataAsset


def _ledger_grant() -> models.ForeignKey:
    """The grant a ledger row's export was made under: no index and no per-row foreign-key
    trigger (the rows are copied inside the export's transaction from a grant that is never
    deleted), so writing an export's rows costs one statement and nothing per row."""
    return models.ForeignKey(
        AccessGrant,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )


class ExportedCustomer(models.Model):
    """One customer included in one export, as exports recorded them until
    ``ExportedCustomerBlock`` replaced these rows (see there). Nothing writes here any
    more; a customer's footprint still reads these rows for the exports made before."""

    export_id = models.CharField(max_length=32)
    grant = _ledger_grant()
    customer = models.ForeignKey(
        Customer,
        on_delete=models.DO_NOTHING,
        related_name="export_inclusions",
        db_index=False,
        db_constraint=False,
    )
    exported_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["customer", "exported_at"], name="exported_by_customer"),
            models.Index(fields=["export_id", "customer"], name="exported_by_export"),
        ]

    def __str__(self) -> str:
        return f"customer {self.customer_id} in export {self.export_id}"


# Customers per block: a footprint decodes one block per export it checks (a list of at
# most this many ids), and an export of 100,000 customers writes 100 rows.
EXPORT_BLOCK_CUSTOMERS = 1000


class ExportedCustomerBlock(models.Model):
    """Which customers one export carried: up to ``EXPORT_BLOCK_CUSTOMERS`` of them per
    row, the ids of the customers ``first_customer_id`` to ``last_customer_id`` (ascending
    on PostgreSQL) in ``customer_ids``. Written with the export by one INSERT ... SELECT of
    the eligible set the file then streams, so the footprint of a customer names exactly
    the exports that carried them (the audit event holds only the count).

    Blocks rather than a row per customer: a row per customer needs an index keyed by
    customer, and keeping it cost an export of 50,000 customers more than PostgreSQL's own
    COPY of the same rows took (``benchmarks/export.py``, docs/access-requests.md). A
    footprint knows which exports to ask about (those of the customer's assets in the
    window), so it reads one block per export through (export, first customer).
    """

    export_id = models.CharField(max_length=32)
    grant = _ledger_grant()
    first_customer_id = models.BigIntegerField()
    last_customer_id = models.BigIntegerField()
    customers = models.PositiveIntegerField(help_text=_("How many ids customer_ids holds."))
    customer_ids = models.JSONField(help_text=_("The customers' ids, a list of integers."))
    exported_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(
                fields=["export_id", "first_customer_id"], name="exported_block_by_export"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"customers {self.first_customer_id} to {self.last_customer_id} "
            f"in export {self.export_id}"
        )


class ExportManager(models.Manager):
    def record(
        self,
        *,
        event,
        columns: list[str],
        grant: "AccessGrant | None" = None,
        package=None,
        customers_recorded: bool = False,
        left_out_withdrawn: int = 0,
    ) -> "Export":
        """The row of an export that ``event`` (its ``export.download`` audit event) has
        just recorded, written in the caller's transaction: made under ``grant`` or
        ``package`` (a ``consent.SharingPackage``), exactly one, with the event's actor,
        time, export id (``detail["export_id"]``) and row count (``detail["rows"]``), so
        the ledger and the audit trail say the same. One constructor for both services that
        stream (access exports and sharing downloads). Raises ``ValueError`` when both or
        neither of grant and package are given, a programming error."""
        if (grant is None) == (package is None):
            raise ValueError("An export is made under a grant or a sharing package: one.")
        return self.create(
            export_id=event.detail["export_id"],
            grant=grant,
            package=package,
            asset_id=event.asset_id,
            actor=event.actor,
            actor_label=event.actor_label,
            rows=event.detail["rows"],
            columns=columns,
            customers_recorded=customers_recorded,
            left_out_withdrawn=left_out_withdrawn,
            created_at=event.created_at,
            audit_event=event,
        )


class Export(models.Model):
    """One export of customer records: a CSV streamed through an ``export`` grant, or one
    download of a sharing package. The ledger of exports the dashboard, a customer's
    footprint and an incident's impact summary read.

    Written by the service that streams (``customers.services.exports.grant_export_start``,
    ``consent.services.packages.sharing_package_download``) in the transaction of its
    ``export.download`` audit event, which stays the tamper-evident trace. Write-once: an
    export that happened never changes, so the row has no history and nothing updates it.
    """

    # The id in the file name and the X-Export-Id header. A grant's export draws a new one;
    # every download of a sharing package carries the package's id, so it is not unique.
    export_id = models.CharField(max_length=32, db_index=True)
    grant = models.ForeignKey(
        AccessGrant, null=True, blank=True, on_delete=models.PROTECT, related_name="exports"
    )
    package = models.ForeignKey(
        "consent.SharingPackage",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="downloads",
    )
    asset = models.ForeignKey(DataAsset, on_delete=models.PROTECT, related_name="exports")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="exports",
    )
    actor_label = models.CharField(
        max_length=150, help_text=_("Username then, or 'confidential' as in the audit event.")
    )
    rows = models.PositiveIntegerField(help_text=_("Customers the file carried."))
    columns = models.JSONField(default=list)
    customers_recorded = models.BooleanField(
        default=False,
        help_text=_(
            "Each customer carried is recorded (ExportedCustomerBlock, earlier "
            "ExportedCustomer rows); otherwise the export may have carried anyone eligible."
        ),
    )
    left_out_withdrawn = models.PositiveIntegerField(
        default=0, help_text=_("Package rows left out because the customer withdrew since.")
    )
    created_at = models.DateTimeField(db_index=True)
    audit_event = models.OneToOneField(
        "portal.AuditEvent", on_delete=models.PROTECT, related_name="export"
    )

    objects = ExportManager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["asset", "created_at"], name="export_by_asset")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(grant__isnull=False, package__isnull=True)
                | models.Q(grant__isnull=True, package__isnull=False),
                name="export_made_under_grant_or_package",
            ),
        ]

    def __str__(self) -> str:
        return f"export {self.export_id}"

    @property
    def made_under(self):
        """The grant or the sharing package the export was made under."""
        return self.grant or self.package

    @property
    def purpose(self):
        """The purpose the records were exported for: the grant's, or the sharing request's
        of the package (the check constraint: one of the two is set)."""
        if self.grant is not None:
            return self.grant.purpose
        return self.package.request.purpose
