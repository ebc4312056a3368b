from django.conf import settings
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords


class LawfulBasis(models.TextChoices):
    CONTRACT = "contract", "Contract"
    LEGAL_OBLIGATION = "legal_obligation", "Legal obligation"
    LEGITIMATE_INTEREST = "legitimate_interest", "Legitimate interest"
    CONSENT = "consent", "Consent"


def key_and_ancestors(key: str) -> list[str]:
    """``"a.b.c"`` -> ``["a.b.c", "a.b", "a"]``: the keys whose consent covers ``key``."""
    parts = key.split(".")
    return [".".join(parts[:n]) for n in range(len(parts), 0, -1)]


class TaxonomyEntry(models.Model):
    """A fideslang taxonomy key; the hierarchy is in the dotted key itself."""

    key = models.CharField(max_length=200, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    active = models.BooleanField(default=True)

    class Meta:
        abstract = True
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key

    @property
    def ancestor_keys(self) -> list[str]:
        return key_and_ancestors(self.key)


class Purpose(TaxonomyEntry):
    """A data use from fideslang (``marketing.communications.email``) and the lawful basis
    it needs. Consent to a purpose covers its descendants; the reverse does not hold."""

    lawful_basis = models.CharField(
        max_length=32, choices=LawfulBasis.choices, default=LawfulBasis.CONSENT
    )
    history = HistoricalRecords()

    @property
    def needs_consent(self) -> bool:
        return self.lawful_basis == LawfulBasis.CONSENT


class DataCategory(TaxonomyEntry):
    """A fideslang data category (``user.contact.email``)."""

    history = HistoricalRecords()

    class Meta(TaxonomyEntry.Meta):
        verbose_name_plural = "data categories"


class ConsentStatus(models.TextChoices):
    GRANTED = "granted", "Granted"
    WITHDRAWN = "withdrawn", "Withdrawn"


class ConsentSource(models.TextChoices):
    WEB_FORM = "web_form", "Web form"
    CONTRACT = "contract", "Contract"
    PHONE = "phone", "Phone"
    EMAIL = "email", "E-mail"
    IMPORT = "import", "Import"


class AppendOnlyError(Exception):
    """A consent record was about to be changed or deleted: records are evidence."""


class ConsentRecordQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Consent records are append-only: record a new one instead.")

    def delete(self):
        raise AppendOnlyError("Consent records are append-only: they are never deleted.")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError("Consent records are append-only: record a new one instead.")


class ConsentRecord(models.Model):
    """One statement of what a customer agreed to or withdrew, with its evidence.

    Append-only: the ORM refuses to update or delete a record (``AppendOnlyError``); a
    change of mind is a new record. The row is its own history, so it has no
    simple-history table. Written only by ``consent.services`` (which also keeps
    ``ConsentState`` in the same transaction) and never editable in the admin.
    """

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="consent_records"
    )
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="consent_records")
    status = models.CharField(max_length=16, choices=ConsentStatus.choices)
    source = models.CharField(max_length=16, choices=ConsentSource.choices)
    evidence = models.CharField(
        max_length=500, blank=True, help_text="Where the proof is: form id, contract, call log."
    )
    notice_version = models.CharField(
        max_length=50, blank=True, help_text="Version of the privacy notice the customer saw."
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty for a system import.",
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    effective_at = models.DateTimeField(help_text="When the customer agreed or withdrew.")

    objects = ConsentRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-effective_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=ConsentStatus.values), name="consentrecord_status"
            ),
            models.CheckConstraint(
                condition=models.Q(source__in=ConsentSource.values), name="consentrecord_source"
            ),
            # The same statement twice is one statement: re-importing a file adds nothing.
            models.UniqueConstraint(
                fields=["customer", "purpose", "effective_at", "status"],
                name="consentrecord_unique_statement",
            ),
        ]
        indexes = [models.Index(fields=["customer", "purpose", "effective_at"])]

    def __str__(self) -> str:
        # No name or e-mail: this label is copied into the audit trail.
        return f"consent #{self.pk}: customer {self.customer_id} {self.status} {self.purpose}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Consent records are append-only: record a new one instead.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Consent records are append-only: they are never deleted.")


class ConsentState(models.Model):
    """The current state of one (customer, purpose key): its latest record.

    Derived data, kept by ``consent.services`` in the transaction of every record (and
    rebuilt from the records by ``consent_state_rebuild``). Latest means greatest
    ``effective_at``; on a tie the withdrawal wins (fail closed). It stores the exact key
    only; the coverage selectors combine a purpose with its ancestors.
    """

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="consent_states"
    )
    purpose = models.ForeignKey(Purpose, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=ConsentStatus.choices)
    effective_at = models.DateTimeField()
    record = models.ForeignKey(ConsentRecord, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "purpose"], name="consentstate_unique"),
        ]
        # Coverage reads "which customers have a state for these purpose ids".
        indexes = [models.Index(fields=["purpose", "customer"], name="consentstate_purpose")]

    def __str__(self) -> str:
        return f"customer {self.customer_id} {self.status} {self.purpose_id}"
