from django.db import models
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
