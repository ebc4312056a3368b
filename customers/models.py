from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase
from simple_history.models import HistoricalRecords

from customers.emails import normalise_email


class Classification(models.TextChoices):
    PUBLIC = "public", "Public"
    INTERNAL = "internal", "Internal"
    CONFIDENTIAL = "confidential", "Confidential"
    RESTRICTED = "restricted", "Restricted"


CLASSIFICATION_RANK = {
    Classification.PUBLIC: 0,
    Classification.INTERNAL: 1,
    Classification.CONFIDENTIAL: 2,
    Classification.RESTRICTED: 3,
}


# The kind of the approval chain of an access request (portal.approvals).
ACCESS_CHAIN_KIND = "access"


class Customer(models.Model):
    """A person or organisation whose data the company holds."""

    name = models.CharField(max_length=200)
    email = models.EmailField(max_length=254, blank=True, db_index=True)
    phone = models.CharField(max_length=50, blank=True)
    organisation = models.CharField(max_length=200, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2 code")
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        # One key however it is typed: stored as searched and imported (customers.emails).
        self.email = normalise_email(self.email)
        super().save(*args, **kwargs)


class DataAsset(models.Model):
    """A customer list or data set.

    Every asset starts ``confidential`` and unconfirmed (seed promise 5); only a compliance
    officer confirms or changes the class, through ``customers.services.asset_classify``.
    """

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_assets"
    )
    customers = models.ManyToManyField(
        Customer, through="AssetCustomer", related_name="assets", blank=True
    )
    data_categories = models.ManyToManyField(
        "consent.DataCategory", related_name="assets", blank=True
    )
    collected_for = models.ManyToManyField(
        "consent.Purpose",
        related_name="assets_collected_for",
        blank=True,
        help_text="The data uses the customers' data was collected for.",
    )
    source_system = models.CharField(max_length=200, blank=True)
    retention_date = models.DateField(null=True, blank=True)
    # Set when the owner recorded that the data was deleted at the end of its retention;
    # the portal then holds none of its customers.
    retired_at = models.DateTimeField(null=True, blank=True)
    retired_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    classification = models.CharField(
        max_length=16, choices=Classification.choices, default=Classification.CONFIDENTIAL
    )
    classification_confirmed = models.BooleanField(default=False)
    classification_reason = models.TextField(blank=True)
    classified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    classified_at = models.DateTimeField(null=True, blank=True)

    # How many customers the asset holds: kept by the services that add and remove them
    # (``customers.services.asset_customer_counts_refresh``), so the catalogue shows it
    # without counting up to 50,000 memberships per listed asset. Not in the
    # history (the memberships have their own) and never written by ``save()``.
    customer_count = models.PositiveIntegerField(default=0, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(
        m2m_fields=[data_categories, collected_for], excluded_fields=["customer_count"]
    )

    class Meta:
        ordering = ["name"]
        permissions = [
            ("view_records", "Can read the customer records of the asset"),
            ("export_records", "Can export the customer records of the asset"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(classification__in=Classification.values),
                name="dataasset_classification_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        # An asset read before customers were added must not write its old count back:
        # the count is only ever set by the membership services, in SQL.
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name != "customer_count"
            ]
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        """The path of this asset's page in the portal (also the link of its notifications)."""
        return reverse("customers:asset_detail", args=[self.pk])

    @property
    def effective_classification(self) -> str:
        """The class the rules apply: an unconfirmed asset is at least confidential."""
        if self.classification_confirmed:
            return self.classification
        if CLASSIFICATION_RANK[self.classification] < CLASSIFICATION_RANK["confidential"]:
            return Classification.CONFIDENTIAL
        return self.classification


class AssetCustomer(models.Model):
    """A customer held in a data asset."""

    asset = models.ForeignKey(DataAsset, on_delete=models.CASCADE, related_name="memberships")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="memberships")
    added_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["asset", "customer"], name="assetcustomer_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.asset_id}"


# django-guardian with direct foreign keys: fast joins, real referential integrity.
class DataAssetUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(DataAsset, on_delete=models.CASCADE)


class DataAssetGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(DataAsset, on_delete=models.CASCADE)


class AccessLevel(models.TextChoices):
    VIEW = "view", "View records"
    EXPORT = "export", "View and export records"


class AccessRequest(models.Model):
    """An employee's request to read an asset's customer records for one purpose."""

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="access_requests"
    )
    asset = models.ForeignKey(DataAsset, on_delete=models.PROTECT, related_name="access_requests")
    purpose = models.ForeignKey(
        "consent.Purpose", on_delete=models.PROTECT, related_name="access_requests"
    )
    justification = models.TextField()
    level = models.CharField(max_length=8, choices=AccessLevel.choices, default=AccessLevel.VIEW)
    duration_days = models.PositiveSmallIntegerField(default=30)
    classification_at_request = models.CharField(max_length=16, choices=Classification.choices)
    eligible_at_request = models.PositiveIntegerField()
    total_at_request = models.PositiveIntegerField()
    chain = models.OneToOneField(
        "portal.ApprovalChain", on_delete=models.PROTECT, related_name="access_request"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        # "My requests", newest first: read in index order, no sort of the requester's rows.
        indexes = [
            models.Index(fields=["requester", "-created_at", "-id"], name="accessrequest_mine")
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(duration_days__gte=1, duration_days__lte=90),
                name="accessrequest_duration_1_90",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.asset} for {self.purpose_id} by {self.requester_id}"

    def get_absolute_url(self) -> str:
        """The path of this request's page in the portal (its approval chain's link)."""
        return reverse("customers:request_detail", args=[self.pk])

    @property
    def status(self) -> str:
        return self.chain.status


class AccessGrant(models.Model):
    """Time-limited, purpose-bound access of one person to one asset's records.

    Created only by the final approval of an ``AccessRequest``. A grant is usable while it
    is neither revoked nor past ``expires_at``; every read checks both, so a late expiry job
    never extends access.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="access_grants"
    )
    asset = models.ForeignKey(DataAsset, on_delete=models.PROTECT, related_name="grants")
    purpose = models.ForeignKey("consent.Purpose", on_delete=models.PROTECT, related_name="+")
    level = models.CharField(max_length=8, choices=AccessLevel.choices)
    request = models.OneToOneField(AccessRequest, on_delete=models.PROTECT, related_name="grant")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoke_reason = models.TextField(blank=True)
    expiry_reminder_sent_at = models.DateTimeField(null=True, blank=True)
    expiry_processed = models.BooleanField(
        default=False, help_text="The expiry job has removed the permissions of this grant."
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["expires_at", "id"]
        indexes = [
            models.Index(
                fields=["user", "expires_at"],
                name="grant_active_by_user",
                condition=models.Q(revoked_at__isnull=True),
            ),
            models.Index(
                fields=["asset", "expires_at"],
                name="grant_active_by_asset",
                condition=models.Q(revoked_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.level} on {self.asset} for {self.user}"

    def get_absolute_url(self) -> str:
        """The path of the page of the records this grant opens (also its notifications' link)."""
        return reverse("customers:grant_records", args=[self.pk])

    def is_active(self, now=None) -> bool:
        return self.revoked_at is None and self.expires_at > (now or timezone.now())

    @property
    def status(self) -> str:
        if self.revoked_at:
            return "revoked"
        return "active" if self.is_active() else "expired"


# --- Data subject requests and retention -----------------------------------------------


class ExportedCustomer(models.Model):
    """One customer included in one export: written with the export, in one INSERT ...
    SELECT of the same eligible set the file streams, so the footprint of a customer names
    exactly the exports that carried them (the audit event holds only the count)."""

    # An export of 100,000 customers inserts 100,000 rows in one statement: two indexes
    # only (by export, by customer) and no per-row foreign-key trigger. The rows are copied
    # from existing customers and a grant inside the export's transaction, and neither
    # customers nor grants are ever deleted (erasure removes memberships, not customers).
    export_id = models.CharField(max_length=32)
    grant = models.ForeignKey(
        AccessGrant,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
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

    Written by the service that streams (``customers.services.grant_export_start``,
    ``consent.services.sharing_package_download``) in the transaction of its
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
        max_length=150, help_text="Username then, or 'confidential' as in the audit event."
    )
    rows = models.PositiveIntegerField(help_text="Customers the file carried.")
    columns = models.JSONField(default=list)
    customers_recorded = models.BooleanField(
        default=False,
        help_text="Each customer carried has an ExportedCustomer row (grant exports since "
        "per-customer records exist); otherwise the export may have carried anyone eligible.",
    )
    left_out_withdrawn = models.PositiveIntegerField(
        default=0, help_text="Package rows left out because the customer withdrew since."
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


class SubjectRequestType(models.TextChoices):
    ACCESS = "access", "Access (Art. 15)"
    RECTIFICATION = "rectification", "Rectification (Art. 16)"
    ERASURE = "erasure", "Erasure (Art. 17)"
    OBJECTION = "objection", "Objection (Art. 21)"


class SubjectRequestStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class ReceivedVia(models.TextChoices):
    WEB_FORM = "web_form", "Web form"
    EMAIL = "email", "E-mail"
    PHONE = "phone", "Phone"
    LETTER = "letter", "Letter"
    IN_PERSON = "in_person", "In person"


class DataSubjectRequest(models.Model):
    """A customer's request under GDPR Art. 15-17 or 21, answered within a month.

    ``due_on`` is one calendar month after ``received_on`` (31 January -> the last day of
    February), plus ``extension_months`` (at most two more, Art. 12(3)). Work starts only
    once the customer's identity is verified, so the verification is part of the request.
    """

    type = models.CharField(max_length=16, choices=SubjectRequestType.choices)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="subject_requests"
    )
    received_on = models.DateField()
    received_via = models.CharField(
        max_length=16, choices=ReceivedVia.choices, default=ReceivedVia.EMAIL
    )
    identity_verification = models.TextField(
        help_text="How the requester's identity was verified (document, signed-in account...)."
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    verified_at = models.DateTimeField()
    due_on = models.DateField()
    extension_months = models.PositiveSmallIntegerField(default=0)
    extension_reason = models.TextField(blank=True)
    purposes = models.ManyToManyField(
        "consent.Purpose",
        blank=True,
        related_name="+",
        help_text="The purposes objected to (objections only).",
    )
    notes = models.TextField(blank=True)
    status = models.CharField(
        max_length=8, choices=SubjectRequestStatus.choices, default=SubjectRequestStatus.OPEN
    )
    response = models.TextField(blank=True, help_text="What the customer was told.")
    report_generated_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(m2m_fields=[purposes])

    class Meta:
        ordering = ["due_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(type__in=SubjectRequestType.values), name="dsr_type_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(extension_months__lte=2), name="dsr_extension_at_most_2"
            ),
        ]
        indexes = [models.Index(fields=["status", "due_on"], name="dsr_open_by_due")]

    def __str__(self) -> str:
        # No name: this label is copied into the audit trail.
        return f"DSR-{self.pk} {self.type} for customer {self.customer_id}"

    def get_absolute_url(self) -> str:
        """The path of this request's page in the portal (also the link of its notifications)."""
        return reverse("customers:subject_request_detail", args=[self.pk])

    @property
    def reference(self) -> str:
        return f"DSR-{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status == SubjectRequestStatus.OPEN


class ErasureTask(models.Model):
    """One asset owner's part of an erasure: delete the customer from the source systems of
    ``assets`` (the owner's assets holding the customer), then confirm. Only that owner
    confirms; the request closes when every task is confirmed."""

    request = models.ForeignKey(
        DataSubjectRequest, on_delete=models.CASCADE, related_name="erasure_tasks"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="erasure_tasks"
    )
    assets = models.ManyToManyField(DataAsset, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True, help_text="What was deleted where.")

    history = HistoricalRecords(m2m_fields=[assets])

    class Meta:
        ordering = ["request_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["request", "owner"], name="erasuretask_one_per_owner")
        ]

    def __str__(self) -> str:
        return f"erasure task {self.pk} of DSR-{self.request_id} for {self.owner_id}"

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None


class ReminderKind(models.TextChoices):
    DUE_IN_7 = "due_in_7", "Due in 7 days"
    DUE_IN_2 = "due_in_2", "Due in 2 days"
    OVERDUE = "overdue", "Overdue"


class SubjectRequestReminder(models.Model):
    """What the deadline job has sent: one row per (request, kind, due date), so a reminder
    is never sent twice, and an extension (a new due date) starts a new series."""

    request = models.ForeignKey(
        DataSubjectRequest, on_delete=models.CASCADE, related_name="reminders"
    )
    kind = models.CharField(max_length=16, choices=ReminderKind.choices)
    due_on = models.DateField()
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request", "kind", "due_on"], name="dsr_reminder_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} for DSR-{self.request_id} due {self.due_on}"


class RetentionReminder(models.Model):
    """A weekly reminder to an asset's owner that its retention date has passed."""

    asset = models.ForeignKey(DataAsset, on_delete=models.CASCADE, related_name="+")
    retention_date = models.DateField()
    sent_on = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["asset", "retention_date", "sent_on"], name="retention_reminder_once"
            )
        ]

    def __str__(self) -> str:
        return f"retention reminder for asset {self.asset_id} on {self.sent_on}"
