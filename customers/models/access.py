"""Access requests and the per-object, time-limited grants they become."""

from datetime import datetime

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from customers.models.catalogue import Classification, DataAsset
from portal.languages import choice_label
from portal.paths import object_path

# The kind of the approval chain of an access request (portal.approvals).
ACCESS_CHAIN_KIND = "access"


class AccessLevel(models.TextChoices):
    VIEW = "view", _("View records")
    EXPORT = "export", _("View and export records")


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
        return object_path("customers:request_detail", self.pk)

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
        default=False, help_text=_("The expiry job has removed the permissions of this grant.")
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
            # Compliance's "All grants", newest first: a page read from the index instead
            # of sorting every grant of the company (20,000 at scale).
            models.Index(fields=["-created_at", "-id"], name="grant_newest_first"),
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
        return grant_status(self.revoked_at, self.expires_at)


class LevelRow:
    """What the plain rows of grants and access requests (the lists' rows, read as values)
    share with their models: the id under both names and the level's label."""

    pk: int
    level: str

    @property
    def id(self) -> int:
        return self.pk

    def get_level_display(self) -> str:
        return choice_label(AccessLevel, self.level)


def grant_status(revoked_at: datetime | None, expires_at: datetime) -> str:
    """``revoked``, ``active`` or ``expired``: a grant's state now, from when it was
    revoked (if it was) and when it expires (aware datetimes). Shared by the model and the
    grant lists' plain rows."""
    if revoked_at:
        return "revoked"
    return "active" if expires_at > timezone.now() else "expired"
