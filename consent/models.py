from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

# The choices live beside the models (consent/choices.py); importing them from here still works.
from consent.choices import ConsentSource, ConsentStatus, LawfulBasis
from portal.paths import object_path


def key_and_ancestors(key: str) -> list[str]:
    """``"a.b.c"`` -> ``["a.b.c", "a.b", "a"]``: the keys whose consent covers ``key``."""
    parts = key.split(".")
    return [".".join(parts[:n]) for n in range(len(parts), 0, -1)]


class TaxonomyEntry(models.Model):
    """A fideslang taxonomy key; the hierarchy is in the dotted key itself."""

    key = models.CharField(_("key"), max_length=200, unique=True)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("parent"),
    )
    active = models.BooleanField(_("active"), default=True)

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
        _("lawful basis"),
        max_length=32,
        choices=LawfulBasis.choices,
        default=LawfulBasis.CONSENT,
    )
    history = HistoricalRecords()

    class Meta(TaxonomyEntry.Meta):
        verbose_name = _("purpose")
        verbose_name_plural = _("purposes")

    @property
    def needs_consent(self) -> bool:
        return self.lawful_basis == LawfulBasis.CONSENT


class DataCategory(TaxonomyEntry):
    """A fideslang data category (``user.contact.email``)."""

    history = HistoricalRecords()

    class Meta(TaxonomyEntry.Meta):
        verbose_name = _("data category")
        verbose_name_plural = _("data categories")


class AppendOnlyError(Exception):
    """A consent record was about to be changed or deleted: records are evidence."""


# The messages of AppendOnlyError: for programmers (no door of the portal changes a record).
CHANGE_REFUSED = "Consent records are append-only: record a new one instead."  # i18n: not shown
DELETE_REFUSED = "Consent records are append-only: they are never deleted."  # i18n: not shown


class ConsentRecordQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError(CHANGE_REFUSED)

    def delete(self):
        raise AppendOnlyError(DELETE_REFUSED)

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError(CHANGE_REFUSED)


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
        max_length=500, blank=True, help_text=_("Where the proof is: form id, contract, call log.")
    )
    notice_version = models.CharField(
        max_length=50, blank=True, help_text=_("Version of the privacy notice the customer saw.")
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty for a system import."),
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    effective_at = models.DateTimeField(help_text=_("When the customer agreed or withdrew."))

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
            raise AppendOnlyError(CHANGE_REFUSED)
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(DELETE_REFUSED)


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
        # Coverage, records and exports read "the states of these purpose ids, in customer
        # order" with their status and date, from the index alone.
        indexes = [
            models.Index(
                fields=["purpose", "customer"],
                include=["status", "effective_at"],
                name="consentstate_purpose_covering",
            ),
            # Coverage and eligibility of a large asset read its customers' states in
            # customer order (a merge with the asset's memberships) from this index alone,
            # never the table: 1,000,000 customers' states without a random heap read each.
            models.Index(
                fields=["customer", "purpose"],
                include=["status", "effective_at"],
                name="consentstate_covering",
            ),
        ]

    def __str__(self) -> str:
        return f"customer {self.customer_id} {self.status} {self.purpose_id}"


# --- External sharing ------------------------------------------------------------------

SHARING_PURPOSE_KEY = "third_party_sharing"
# The kind of the approval chain of a sharing request (portal.approvals).
SHARING_CHAIN_KIND = "sharing"


class TransferSafeguard(models.TextChoices):
    """What makes a transfer outside the EU/EEA lawful (GDPR Art. 45-49); legal names one
    to approve such a sharing request."""

    ADEQUACY_DECISION = "adequacy_decision", _("Adequacy decision (Art. 45)")
    STANDARD_CONTRACTUAL_CLAUSES = "standard_contractual_clauses", _("Standard contractual clauses")
    BINDING_CORPORATE_RULES = "binding_corporate_rules", _("Binding corporate rules (Art. 47)")
    CODE_OR_CERTIFICATION = "code_or_certification", _("Approved code of conduct or certification")
    DEROGATION = "derogation", _("Derogation for a specific situation (Art. 49)")


class SharingRequest(models.Model):
    """A request to give an asset's customer data to an organisation outside the company.

    Approved by the owner, compliance and legal whatever the asset's class (through the one
    approval engine, ``chain``); legal's step needs a transfer safeguard when the recipient
    is outside the EU/EEA. Only customers whose current consent covers
    ``third_party_sharing`` (and the purpose, when it needs consent) are ever included.
    """

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sharing_requests"
    )
    asset = models.ForeignKey(
        "customers.DataAsset", on_delete=models.PROTECT, related_name="sharing_requests"
    )
    recipient = models.CharField(max_length=200, help_text=_("The receiving organisation."))
    recipient_country = models.CharField(max_length=2, help_text=_("ISO 3166-1 alpha-2 code."))
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="+")
    justification = models.TextField()
    agreement_reference = models.CharField(
        max_length=200, help_text=_("The data processing / sharing agreement (DPA).")
    )
    agreement_end = models.DateField()
    categories = models.ManyToManyField(DataCategory, related_name="+")
    deletion_confirmation_required = models.BooleanField(
        default=True,
        help_text=_("The recipient must confirm deletion when the agreement ends."),
    )
    chain = models.OneToOneField(
        "portal.ApprovalChain", on_delete=models.PROTECT, related_name="sharing_request"
    )
    classification_at_request = models.CharField(max_length=16)
    eligible_at_request = models.PositiveIntegerField()
    total_at_request = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    deletion_confirmed_at = models.DateTimeField(null=True, blank=True)
    deletion_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    deletion_evidence = models.CharField(
        max_length=500, blank=True, help_text=_("Where the recipient's confirmation is kept.")
    )
    deletion_reminded_on = models.DateField(
        null=True, blank=True, help_text=_("Last day a deletion reminder went out (one a day).")
    )

    history = HistoricalRecords(m2m_fields=[categories])

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.asset} to {self.recipient} ({self.recipient_country})"

    def get_absolute_url(self) -> str:
        """The path of this sharing request's page (also the link of its notifications)."""
        return object_path("consent:sharing_detail", self.pk)

    @property
    def status(self) -> str:
        return self.chain.status


class SharingPackage(models.Model):
    """The one CSV file an approved sharing request produces, kept in the database.

    The requester downloads it for seven days; then the beat job empties ``content`` and
    sets ``deleted_at``. The list of customers it contained (``SharingPackageCustomer``)
    is kept, so a later withdrawal can still be forwarded to the recipient (GDPR Art. 19).
    """

    request = models.OneToOneField(SharingRequest, on_delete=models.PROTECT, related_name="package")
    export_id = models.CharField(max_length=32, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    row_count = models.PositiveIntegerField()
    columns = models.JSONField(default=list)
    content = models.TextField(blank=True, help_text=_("The CSV file; emptied when deleted."))
    deleted_at = models.DateTimeField(null=True, blank=True)
    download_count = models.PositiveIntegerField(default=0)

    # The CSV holds customer records: a copy in the history table would outlive the
    # seven-day deletion.
    history = HistoricalRecords(excluded_fields=["content"])

    def __str__(self) -> str:
        return f"sharing package {self.export_id}"

    @property
    def filename(self) -> str:
        return f"sharing-{self.export_id}.csv"

    def is_available(self, now=None) -> bool:
        return self.deleted_at is None and self.expires_at > (now or timezone.now())


class SharingPackageCustomer(models.Model):
    """A customer contained in a package: kept after the file is deleted (Art. 19)."""

    package = models.ForeignKey(SharingPackage, on_delete=models.CASCADE, related_name="members")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["package", "customer"], name="sharingpackagecustomer_unique"
            ),
        ]
        indexes = [models.Index(fields=["customer"], name="sharingpackage_by_customer")]

    def __str__(self) -> str:
        return f"customer {self.customer_id} in package {self.package_id}"


class SharingWithdrawal(models.Model):
    """A withdrawal to forward: a customer in a delivered package withdrew a consent the
    package relied on, so the recipient must be told (GDPR Art. 19). Open until the
    requester or compliance marks it done."""

    package = models.ForeignKey(
        SharingPackage, on_delete=models.PROTECT, related_name="withdrawals"
    )
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    record = models.ForeignKey(ConsentRecord, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    forwarded_at = models.DateTimeField(null=True, blank=True)
    forwarded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True, help_text=_("How the recipient was told."))

    history = HistoricalRecords()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["package", "record"], name="sharingwithdrawal_unique"),
        ]

    def __str__(self) -> str:
        return f"withdrawal of customer {self.customer_id} to forward ({self.package_id})"


class ImportJobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    REJECTED = "rejected", _("Rejected: nothing imported")
    FAILED = "failed", _("Failed: nothing imported")


class ConsentImportJob(models.Model):
    """A consent CSV uploaded on the import page, imported all or nothing.

    A file of up to ``CONSENT_IMPORT_SYNC_MAX_ROWS`` rows is imported in the request; a
    longer one by a Celery task, which may run on another host: the file is therefore kept
    here, in the database every host shares, not on a local disk. ``content`` is emptied
    once the job ends (imported, rejected or failed): the file holds customer keys and
    consent evidence, which the consent records themselves now hold. ``errors`` keeps
    every bad row as ``[line, reason]`` for the error report download.
    """

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    file_name = models.CharField(max_length=200)
    content = models.BinaryField(blank=True, help_text=_("The uploaded file; emptied at the end."))
    size = models.PositiveBigIntegerField(help_text=_("Bytes"))
    sha256 = models.CharField(max_length=64)
    status = models.CharField(
        max_length=16, choices=ImportJobStatus.choices, default=ImportJobStatus.QUEUED
    )
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    rows_processed = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    already_recorded = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    message = models.CharField(max_length=500, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    # The file and its error list name customers: no copy in the history table.
    history = HistoricalRecords(excluded_fields=["content", "errors"])

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"consent import {self.pk} ({self.file_name})"

    @property
    def finished(self) -> bool:
        return self.status in {
            ImportJobStatus.DONE,
            ImportJobStatus.REJECTED,
            ImportJobStatus.FAILED,
        }


class ProcessingActivity(models.Model):
    """One processing activity of the record of processing activities (GDPR Art. 30(1)),
    named by compliance ("E-mail marketing") and mapped to the purposes it serves.

    It holds what the live data cannot tell: its description, joint controllers, the
    categories of data subjects and the general description of the security measures
    (Art. 32). Everything else in the record's row is computed from the assets, grants and
    sharing requests under its purposes (``consent.processing_record``).
    """

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    purposes = models.ManyToManyField(Purpose, related_name="processing_activities")
    joint_controllers = models.TextField(
        blank=True, help_text=_("Joint controllers and their contact details (Art. 26), if any.")
    )
    data_subject_categories = models.CharField(
        max_length=500, default="Customers", help_text=_("Whose data: customers, prospects, ...")
    )
    security_measures = models.TextField(
        blank=True, help_text=_("Art. 32 measures; empty means the portal's own controls.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords(m2m_fields=[purposes])

    class Meta:
        ordering = ["name"]
        verbose_name = _("processing activity")
        verbose_name_plural = _("processing activities")

    def __str__(self) -> str:
        return self.name


class CoverageGeneration(models.Model):
    """The one row numbering the changes of who is eligible: every change (a consent, a
    member of an asset, a purpose's basis, what an asset was collected for) adds one once it
    has committed (``consent.coverage_cache.coverage_changed``). In the database, so a
    flushed cache forgets nothing."""

    number = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"coverage generation {self.number}"


class CoverageFigure(models.Model):
    """The coverage of a large asset for a purpose, counted in the background, for the
    pages that show it (``consent.coverage_cache``): counted as of ``generation``, current
    while that is ``CoverageGeneration.number``. Decisions never read it."""

    asset = models.ForeignKey("customers.DataAsset", on_delete=models.CASCADE, related_name="+")
    purpose = models.ForeignKey(Purpose, on_delete=models.CASCADE, related_name="+")
    # The ids of the purposes whose consent is also required, comma-separated ("" for none).
    requires = models.CharField(max_length=200, blank=True)
    eligible = models.PositiveIntegerField()
    total = models.PositiveIntegerField()
    lawful_basis = models.CharField(max_length=32, choices=LawfulBasis.choices)
    generation = models.PositiveBigIntegerField()
    counted_at = models.DateTimeField(default=timezone.now)
    # Since when a later change makes it out of date (null while current): shown for at
    # most COVERAGE_CACHE_SECONDS after that while the recount is on its way.
    stale_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["asset", "purpose", "requires"], name="coveragefigure_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.eligible} of {self.total} of asset {self.asset_id} for {self.purpose_id}"
