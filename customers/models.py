from django.conf import settings
from django.db import models
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase
from simple_history.models import HistoricalRecords


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

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(m2m_fields=[data_categories, collected_for])

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

    def is_active(self, now=None) -> bool:
        return self.revoked_at is None and self.expires_at > (now or timezone.now())

    @property
    def status(self) -> str:
        if self.revoked_at:
            return "revoked"
        return "active" if self.is_active() else "expired"
