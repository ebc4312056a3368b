"""The catalogue: customers, data assets (confidential until a compliance officer confirms
otherwise), which customers an asset holds, and guardian's per-asset permission tables."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase
from simple_history.models import HistoricalRecords

from customers.emails import normalise_email
from portal.paths import object_path
from portal.text_search import capitals_of


class Classification(models.TextChoices):
    PUBLIC = "public", _("Public")
    INTERNAL = "internal", _("Internal")
    CONFIDENTIAL = "confidential", _("Confidential")
    RESTRICTED = "restricted", _("Restricted")


def class_word(classification: str) -> str:
    """A class as a word in a sentence, in the active language: its label in lower case
    ("confidential"); a value that is no class (none is stored, a constraint says so) as
    stored."""
    if classification in Classification.values:
        return str(Classification(classification).label).lower()
    return classification


CLASSIFICATION_RANK = {
    Classification.PUBLIC: 0,
    Classification.INTERNAL: 1,
    Classification.CONFIDENTIAL: 2,
    Classification.RESTRICTED: 3,
}


def effective_classification(classification: str, confirmed: bool) -> str:
    """The class the rules apply to an asset of ``classification`` (a ``Classification``
    value), ``confirmed`` or not by compliance: an unconfirmed asset is treated as at least
    confidential (design.md, customers and data assets). Shared by the model and the
    catalogue's plain rows."""
    if confirmed:
        return classification
    if CLASSIFICATION_RANK[classification] < CLASSIFICATION_RANK["confidential"]:
        return Classification.CONFIDENTIAL
    return classification


class Customer(models.Model):
    """A person or organisation whose data the company holds."""

    name = models.CharField(max_length=200)
    email = models.EmailField(max_length=254, blank=True, db_index=True)
    phone = models.CharField(max_length=50, blank=True)
    organisation = models.CharField(max_length=200, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text=_("ISO 3166-1 alpha-2 code"))
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name", "id"]
        # The customer search's trigram indexes of the name and e-mail in capitals are
        # PostgreSQL's (migration 0016) and not listed here: SQLite has no such index, and
        # Django rebuilds a SQLite table with every index a model lists.

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        # One key however it is typed: stored as searched and imported (customers.emails).
        self.email = normalise_email(self.email)
        super().save(*args, **kwargs)


class DataAsset(models.Model):
    """A customer list or data set.

    Every asset starts ``confidential`` and unconfirmed (seed promise 5); only a compliance
    officer confirms or changes the class, through ``customers.services.assets.asset_classify``.
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
        help_text=_("The data uses the customers' data was collected for."),
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
    # (``customers.services.assets.asset_customer_counts_refresh``), so the catalogue shows it
    # without counting up to 50,000 memberships per listed asset. Not in the
    # history (the memberships have their own) and never written by ``save()``.
    customer_count = models.PositiveIntegerField(default=0, editable=False)

    # The searched fields in capitals, computed by the database on every write: the
    # catalogue's search reads them here instead of capitalising every asset again for every
    # search (``portal.text_search``). Derived, so not in the history.
    SEARCHED_FIELDS = ("name", "description")
    search_text = models.GeneratedField(
        expression=capitals_of(*SEARCHED_FIELDS), output_field=models.TextField(), db_persist=True
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(
        m2m_fields=[data_categories, collected_for],
        excluded_fields=["customer_count", "search_text"],
    )

    class Meta:
        ordering = ["name"]
        permissions = [
            ("view_records", _("Can read the customer records of the asset")),
            ("export_records", _("Can export the customer records of the asset")),
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
                if not field.primary_key and not field.generated and field.name != "customer_count"
            ]
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        """The path of this asset's page in the portal (also the link of its notifications)."""
        return object_path("customers:asset_detail", self.pk)

    @property
    def effective_classification(self) -> str:
        """The class the rules apply: an unconfirmed asset is at least confidential."""
        return effective_classification(self.classification, self.classification_confirmed)

    @property
    def effective_classification_label(self) -> str:
        """The effective class as people read it, in their language ("Confidential")."""
        return str(Classification(self.effective_classification).label)


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
