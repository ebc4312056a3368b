"""Access reviews ("certification campaigns"): compliance asks the owners of the data assets
to re-confirm, grant by grant, who still needs access, with the evidence of use beside each
decision."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from customers.models.access import AccessGrant
from customers.models.catalogue import Classification, DataAsset
from portal.paths import object_path

# Unused for this many days (or never used) and a grant is recommended for revocation.
DEFAULT_UNUSED_DAYS = 30
# The evidence counts the uses of the last this many days.
EVIDENCE_WINDOW_DAYS = 90


class ReviewRepeat(models.TextChoices):
    NONE = "none", _("Once")
    QUARTERLY = "quarterly", _("Every quarter")
    YEARLY = "yearly", _("Every year")


class ReviewDecision(models.TextChoices):
    KEEP = "keep", _("Keep")
    REVOKE = "revoke", _("Revoke")


class AccessReview(models.Model):
    """One campaign: the grants in its scope at its start, each an ``AccessReviewItem``.

    The scope fields narrow the active grants (all of them when every one is empty). At
    ``due_at`` the campaign closes and each undecided item gets ``undecided_outcome``.
    """

    name = models.CharField(max_length=200)
    scope_classification = models.CharField(
        max_length=16, choices=Classification.choices, blank=True
    )
    scope_asset = models.ForeignKey(
        DataAsset, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    scope_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    scope_purpose = models.ForeignKey(
        "consent.Purpose", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    due_at = models.DateTimeField()
    undecided_outcome = models.CharField(
        max_length=8, choices=ReviewDecision.choices, default=ReviewDecision.KEEP
    )
    repeat = models.CharField(
        max_length=16, choices=ReviewRepeat.choices, default=ReviewRepeat.NONE
    )
    unused_days = models.PositiveSmallIntegerField(default=DEFAULT_UNUSED_DAYS)
    # A mover's holder: the campaign covers the grants of this one person (their department
    # or manager changed, portal.identity.leavers.account_moved).
    scope_holder = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Empty for a campaign the portal started itself (a mover's re-confirmation).
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Job markers of the reminders: each is sent once.
    week_reminder_sent_at = models.DateTimeField(null=True, blank=True)
    day_reminder_sent_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(
                fields=["due_at"], name="review_open_by_due", condition=models.Q(closed_at=None)
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(unused_days__gte=1, unused_days__lte=365),
                name="accessreview_unused_days_1_365",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        """The path of the campaign's page (its notifications' link)."""
        return object_path("customers:review_detail", self.pk)

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class AccessReviewItem(models.Model):
    """One grant of a campaign, for one reviewer to keep or revoke.

    ``reviewer`` is the asset's owner at the start; ``None`` means compliance (the fallback
    reviewer) when the owner had left or holds the grant. The evidence fields are copied when
    the item is decided, so the report shows what the reviewer saw.
    """

    review = models.ForeignKey(AccessReview, on_delete=models.PROTECT, related_name="items")
    grant = models.ForeignKey(AccessGrant, on_delete=models.PROTECT, related_name="review_items")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="review_items",
    )
    fallback_reason = models.CharField(max_length=100, blank=True)
    # The asset's coverage for the grant's purpose when the campaign started.
    coverage_eligible = models.PositiveIntegerField(default=0)
    coverage_total = models.PositiveIntegerField(default=0)
    decision = models.CharField(max_length=8, choices=ReviewDecision.choices, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)
    automatic = models.BooleanField(
        default=False, help_text=_("Decided by the campaign's close, nobody having decided.")
    )
    last_viewed_at = models.DateTimeField(null=True, blank=True)
    last_exported_at = models.DateTimeField(null=True, blank=True)
    uses_in_window = models.PositiveIntegerField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["reviewer", "review"], name="reviewitem_by_reviewer")]
        constraints = [
            models.UniqueConstraint(fields=["review", "grant"], name="reviewitem_one_per_grant"),
        ]

    def __str__(self) -> str:
        return f"{self.review} item {self.pk}"

    @property
    def fallback_reason_text(self) -> str:
        """Why compliance reviews this item, in the reader's language (stored in English:
        ``services.access_reviews`` marks the texts with ``gettext_noop``)."""
        return gettext(self.fallback_reason) if self.fallback_reason else ""
