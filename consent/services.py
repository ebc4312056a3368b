"""Every write of consent: one record at a time, or a CSV file all at once.

Both paths append ``ConsentRecord`` rows and fold them into ``ConsentState`` (the current
state per customer and purpose key) in the same transaction, through the one statement in
``fold_into_current_state``; ``consent.selectors`` reads only the state table.
"""

import csv
import hashlib
import io
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import IO, Any

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from simple_history.utils import bulk_create_with_history

from consent import policies
from consent.categories import columns_for_categories
from consent.countries import COUNTRIES, outside_eu_eea
from consent.coverage_cache import coverage_changed
from consent.models import (
    SHARING_CHAIN_KIND,
    SHARING_PURPOSE_KEY,
    ConsentRecord,
    ConsentSource,
    ConsentState,
    ConsentStatus,
    DataCategory,
    Purpose,
    SharingPackage,
    SharingPackageCustomer,
    SharingRequest,
    SharingWithdrawal,
    TransferSafeguard,
    key_and_ancestors,
)
from consent.selectors import (
    Coverage,
    consent_granted,
    sharing_coverage,
    sharing_eligible_customers,
    sharing_purpose,
)
from customers.emails import normalise_email
from customers.models import Customer, DataAsset, Export
from portal import approvals, roles
from portal.audit import audit_record
from portal.audit_actions import AuditAction
from portal.csv_export import csv_text, safe_writer
from portal.errors import ApplicationError, CoverageRefusal, NotAllowed
from portal.history import history_user_set
from portal.input_limits import (
    as_id,
    max_length,
    one_line,
    require_ahead,
    require_no_nul,
    require_visible_text,
)
from portal.models import ApprovalRole, ChainStatus, User
from portal.notifications import notify
from portal.reasons import MIN_REASON_LENGTH, clean_justification, clean_reason
from portal.site_calendar import add_calendar_days, utc_text

EVIDENCE_MAX = max_length(ConsentRecord, "evidence")
NOTICE_VERSION_MAX = max_length(ConsentRecord, "notice_version")
IMPORT_BATCH_SIZE = 2000
# Rows per statement when folding records into the current state.
FOLD_BATCH_SIZE = 2000
IMPORT_COLUMNS = (
    "customer",
    "purpose",
    "status",
    "source",
    "evidence",
    "notice_version",
    "effective_at",
)
IMPORT_REQUIRED_COLUMNS = {"customer", "purpose", "status", "effective_at"}
# The earliest plausible consent: before this no consent under today's rules (the 1995 Data
# Protection Directive, the GDPR) could be recorded, and years like 0001 with a +14:00
# offset cannot be stored or converted (every later read of the record would fail).
EARLIEST_EFFECTIVE_DATE = date(1990, 1, 1)


def check_recording_actor(actor: User | None) -> None:
    # People record consent only as compliance officers; ``None`` is the system (imports
    # from a command, tasks), which runs with the operator's authority.
    if actor is not None:
        policies.require_may_record_consent(actor)


def parse_effective_at(value: object, *, now: datetime | None = None) -> datetime:
    """An aware datetime from a datetime, an ISO 8601 date-time or a date (midnight, site
    time zone); naive values are in the site time zone.

    Raises ``ApplicationError`` (field ``effective_at``) for text that is no date, a date
    before ``EARLIEST_EFFECTIVE_DATE`` (midnight, site time zone) or one in the future
    (after ``now``, default the current time). Every door that records consent (the API,
    the customer page, the import, the services of other apps) passes through here."""
    if isinstance(value, str):
        text = value.strip()
        parsed = None
        try:
            parsed = parse_datetime(text) or (
                datetime.combine(day, time()) if (day := parse_date(text)) else None
            )
        except ValueError:
            parsed = None
        if parsed is None:
            raise ApplicationError(
                f"Bad date {value!r}: use ISO 8601, e.g. 2024-05-01 or 2024-05-01T14:30:00Z.",
                field="effective_at",
            )
        value = parsed
    if not isinstance(value, datetime):
        raise ApplicationError("Bad date: give a date and time.", field="effective_at")
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    # Compared as aware datetimes (no conversion to UTC, which overflows near year 1).
    if value < timezone.make_aware(datetime.combine(EARLIEST_EFFECTIVE_DATE, time())):
        raise ApplicationError(
            f"The effective date is before {EARLIEST_EFFECTIVE_DATE.isoformat()}: give the "
            "date the customer agreed or withdrew.",
            field="effective_at",
        )
    if value > (now or timezone.now()):
        raise ApplicationError(
            "The effective date is in the future: record consent once it is given.",
            field="effective_at",
        )
    return value


FIELD_LABELS = {
    "customer": "customer",
    "purpose": "purpose",
    "status": "status",
    "source": "source",
    "evidence": "evidence",
    "notice_version": "notice version",
    "effective_at": "effective date",
}


def require_no_nul_in_field(field: str, value: str) -> None:
    require_no_nul(value, field=field, what=f"The {FIELD_LABELS.get(field, field)}")


def check_record_fields(*, status: str, source: str, evidence: str, notice_version: str) -> None:
    require_no_nul_in_field("evidence", evidence)
    require_no_nul_in_field("notice_version", notice_version)
    if status not in ConsentStatus.values:
        raise ApplicationError(
            f"Bad status {status!r}: use {' or '.join(ConsentStatus.values)}.", field="status"
        )
    if source not in ConsentSource.values:
        raise ApplicationError(
            f"Bad source {source!r}: use one of {', '.join(ConsentSource.values)}.",
            field="source",
        )
    if len(evidence) > EVIDENCE_MAX:
        raise ApplicationError(
            f"The evidence reference is longer than {EVIDENCE_MAX} characters.", field="evidence"
        )
    if len(notice_version) > NOTICE_VERSION_MAX:
        raise ApplicationError(
            f"The notice version is longer than {NOTICE_VERSION_MAX} characters.",
            field="notice_version",
        )


def fold_into_current_state(records: Iterable[ConsentRecord]) -> None:
    """Make each record the current state of its (customer, purpose) if it is the latest.

    One INSERT ... ON CONFLICT DO UPDATE ... WHERE: the database locks the state row and
    re-checks "is this record later?" under the lock, so two writers recording for the
    same customer and purpose at once leave the latest record in place whatever their
    order (the house style's select_for_update + re-check, in one statement). Latest is
    the greatest ``effective_at``; on a tie the withdrawal wins (fail closed).
    """
    winners: dict[tuple[int, int], ConsentRecord] = {}
    for record in records:
        pair = (record.customer_id, record.purpose_id)
        best = winners.get(pair)
        if best is None or _later(record, best):
            winners[pair] = record
    if not winners:
        return
    coverage_changed()
    table = connection.ops.quote_name(ConsentState._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    rows = list(winners.values())
    for start in range(0, len(rows), FOLD_BATCH_SIZE):
        chunk = rows[start : start + FOLD_BATCH_SIZE]
        values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(chunk))
        params: list[Any] = []
        for r in chunk:
            params += [r.customer_id, r.purpose_id, r.status, adapt(r.effective_at), r.pk]
        sql = (
            f"INSERT INTO {table} (customer_id, purpose_id, status, effective_at, record_id) "
            f"VALUES {values} "
            "ON CONFLICT (customer_id, purpose_id) DO UPDATE SET status = excluded.status, "
            "effective_at = excluded.effective_at, record_id = excluded.record_id "
            f"WHERE excluded.effective_at > {table}.effective_at "
            f"OR (excluded.effective_at = {table}.effective_at AND excluded.status = %s)"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, ConsentStatus.WITHDRAWN])


def _later(record: ConsentRecord, than: ConsentRecord) -> bool:
    if record.effective_at != than.effective_at:
        return record.effective_at > than.effective_at
    return record.status == ConsentStatus.WITHDRAWN


@transaction.atomic
def consent_record(
    *,
    actor: User | None,
    customer: Customer,
    purpose: Purpose,
    status: str,
    source: str,
    evidence: str = "",
    notice_version: str = "",
    effective_at: datetime | None = None,
) -> ConsentRecord:
    """Append one consent or withdrawal and make it current if it is the latest.

    Guarantees: only a compliance officer (or the system, ``actor=None``) records; the
    status, source, lengths and date are checked before anything is written; the date is
    not in the future (default: now); the same statement (customer, purpose, status,
    effective date) is never recorded twice; the record, the current state and the audit
    event commit together or not at all. A withdrawal counts in every selector the moment
    this transaction commits.
    """
    check_recording_actor(actor)
    evidence = (evidence or "").strip()
    notice_version = (notice_version or "").strip()
    check_record_fields(
        status=status, source=source, evidence=evidence, notice_version=notice_version
    )
    if not purpose.active:
        raise ApplicationError(f"The purpose {purpose.key} is no longer in use.", field="purpose")
    effective_at = timezone.now() if effective_at is None else parse_effective_at(effective_at)
    if ConsentRecord.objects.filter(
        customer=customer, purpose=purpose, effective_at=effective_at, status=status
    ).exists():
        raise ApplicationError("This consent statement is already recorded.")
    record = ConsentRecord(
        customer=customer,
        purpose=purpose,
        status=status,
        source=source,
        evidence=evidence,
        notice_version=notice_version,
        recorded_by=actor,
        effective_at=effective_at,
    )
    record.save()
    fold_into_current_state([record])
    # GDPR Art. 19: a withdrawal reaches recipients of data already shared.
    sharing_withdrawals_record(records=[record])
    audit_record(
        actor=actor,
        action=AuditAction.CONSENT_RECORD,
        target=record,
        detail={
            "customer_id": customer.pk,
            "purpose": purpose.key,
            "status": status,
            "source": source,
            "effective_at": effective_at.isoformat(),
        },
    )
    return record


# --- CSV import --------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did, or why it did nothing: every bad row with its line number."""

    rows: int = 0
    imported: int = 0
    already_recorded: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    sha256: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors


class ImportRejected(ApplicationError):
    """The file had bad rows: nothing was imported; ``report.errors`` says which."""

    def __init__(self, report: ImportReport):
        count = len(report.errors)
        super().__init__(
            f"Nothing imported: {count} bad row{'s' if count != 1 else ''}.",
            extra={"errors": [{"line": line, "reason": reason} for line, reason in report.errors]},
        )
        self.report = report


@dataclass
class _Row:
    line: int
    values: dict


def _sha256(file: IO[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: file.read(1 << 20), b""):
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()


def _normalise_column(name: str) -> str:
    return (name or "").strip().lower().replace(" ", "_").replace("-", "_")


def _trim(value: object) -> object:
    """The one trimming of an imported field: surrounding whitespace (spaces, tabs, the
    no-break spaces spreadsheets write) goes; a missing field (``None``) stays ``None``;
    the extra fields of a too-long row (a list) are trimmed one by one."""
    if isinstance(value, list):
        return [_trim(v) for v in value]
    return value.strip() if isinstance(value, str) else value


def _is_blank(values: dict) -> bool:
    """A row with nothing in any field: an empty line or a row of only separators
    (``,,,,``, what spreadsheets write for emptied rows)."""
    for value in values.values():
        if isinstance(value, list):
            if any(value):
                return False
        elif value:
            return False
    return True


def _rows(reader: "csv.DictReader[str]") -> Iterator[_Row]:
    """The non-blank rows of a ``csv.DictReader``, fields trimmed, with their line numbers."""
    for raw in reader:
        values = {name: _trim(value) for name, value in raw.items()}
        if not _is_blank(values):
            yield _Row(line=reader.line_num, values=values)


def _batches(reader: "csv.DictReader[str]", size: int) -> Iterator[list[_Row]]:
    """The rows of ``_rows``, ``size`` at a time."""
    batch = []
    for row in _rows(reader):
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _customers_for(batch: list[_Row]) -> tuple[dict[int, int], dict[str, list[int]]]:
    """Ids that exist and e-mail -> ids, for this batch's customer column only."""
    ids, emails = set(), set()
    for row in batch:
        text = row.values.get("customer") or ""
        if (pk := as_id(text)) is not None:
            ids.add(pk)
        elif text and "\x00" not in text:  # the row is rejected; PostgreSQL can't compare it
            emails.add(text)
    known_ids = {pk: pk for pk in Customer.objects.filter(pk__in=ids).values_list("pk", flat=True)}
    # Stored addresses are normalised (Customer.save); the row's address is made the same.
    emails = {normalise_email(email) for email in emails}
    by_email: dict[str, list[int]] = {}
    for pk, email in Customer.objects.filter(email__in=emails).values_list("pk", "email"):
        by_email.setdefault(email, []).append(pk)
    return known_ids, by_email


def _parse_row(
    row: _Row,
    *,
    purposes: dict[str, int],
    known_ids: dict[int, int],
    by_email: dict[str, list[int]],
    now: datetime,
) -> ConsentRecord:
    """One CSV row as an unsaved record, or an ``ApplicationError`` saying what is wrong."""
    values = row.values
    if None in values:
        raise ApplicationError("More columns than the header names.")
    if any(value is None for value in values.values()):
        raise ApplicationError("Fewer columns than the header names.")
    for name in IMPORT_COLUMNS:
        require_no_nul_in_field(name, values.get(name) or "")
    customer_text = values.get("customer") or ""
    if not customer_text:
        raise ApplicationError("No customer given.")
    if (pk := as_id(customer_text)) is not None:
        customer_id = known_ids.get(pk)
    else:
        matches = by_email.get(normalise_email(customer_text), [])
        if len(matches) > 1:
            raise ApplicationError(
                f"The e-mail {customer_text!r} belongs to {len(matches)} customers: use the id."
            )
        customer_id = matches[0] if matches else None
    if customer_id is None:
        raise ApplicationError(f"Unknown customer {customer_text!r}.")
    key = values.get("purpose") or ""
    if key not in purposes:
        raise ApplicationError(f"Unknown purpose {key!r}.")
    status = (values.get("status") or "").lower()
    source = (values.get("source") or "").lower() or ConsentSource.IMPORT
    evidence = values.get("evidence") or ""
    notice_version = values.get("notice_version") or ""
    check_record_fields(
        status=status, source=source, evidence=evidence, notice_version=notice_version
    )
    if not values.get("effective_at"):
        raise ApplicationError("No effective date given.")
    effective_at = parse_effective_at(values["effective_at"], now=now)
    return ConsentRecord(
        customer_id=customer_id,
        purpose_id=purposes[key],
        status=status,
        source=source,
        evidence=evidence,
        notice_version=notice_version,
        effective_at=effective_at,
    )


def _store_batch(records: list[ConsentRecord], *, actor: User | None, now: datetime) -> int:
    """Insert the records not already recorded; fold them into the current state."""
    existing = set(
        ConsentRecord.objects.filter(
            customer_id__in={r.customer_id for r in records},
            purpose_id__in={r.purpose_id for r in records},
        ).values_list("customer_id", "purpose_id", "effective_at", "status")
    )
    new = [
        r
        for r in records
        if (r.customer_id, r.purpose_id, r.effective_at, r.status) not in existing
    ]
    for record in new:
        record.recorded_by = actor
        record.recorded_at = now
    ConsentRecord.objects.bulk_create(new)
    fold_into_current_state(new)
    sharing_withdrawals_record(records=new)
    return len(new)


@transaction.atomic
def consent_import(
    *,
    actor: User | None,
    file: IO[bytes],
    name: str = "",
    progress: Callable[[int], object] | None = None,
) -> ImportReport:
    """Import consent records from a CSV file (binary file object), all or nothing.

    Columns (header row, any order): ``customer`` (id or e-mail), ``purpose`` (exact key),
    ``status``, ``source`` (empty: ``import``), ``evidence``, ``notice_version``,
    ``effective_at`` (ISO 8601; date only is midnight in the site time zone).

    Guarantees: every row is checked and every bad row is reported with its line number
    and reason (unknown customer, unknown purpose, bad status or source, bad or future
    date, duplicate row); if there is any, ``ImportRejected`` is raised and nothing is
    written. Rows are read and written in batches of ``IMPORT_BATCH_SIZE``, so a large
    file is never held as model instances at once. A row already recorded (same customer,
    purpose, status and effective date) is skipped: importing a file twice changes nothing
    the second time. One ``consent.import`` audit event records the row counts and the
    file's SHA-256 (per-record events would be one chain write per row). ``progress``, if
    given, is called with the number of rows checked so far after each batch (a background
    job shows it; the rows themselves commit only at the end).
    """
    check_recording_actor(actor)
    report = ImportReport(sha256=_sha256(file))
    now = timezone.now()
    text = io.TextIOWrapper(file, encoding="utf-8-sig", newline="")
    try:
        reader = csv.DictReader(text)
        header = [_normalise_column(c) for c in (reader.fieldnames or [])]
        unknown = [c for c in header if c not in IMPORT_COLUMNS]
        missing = sorted(IMPORT_REQUIRED_COLUMNS - set(header))
        if unknown or missing:
            problems = []
            if missing:
                problems.append(f"missing column(s) {', '.join(missing)}")
            if unknown:
                problems.append(f"unknown column(s) {', '.join(unknown)}")
            report.errors.append(
                (1, f"Bad header: {'; '.join(problems)}. Expected {', '.join(IMPORT_COLUMNS)}.")
            )
            raise ImportRejected(report)
        reader.fieldnames = header
        purposes = dict(Purpose.objects.filter(active=True).values_list("key", "pk"))
        seen: dict[tuple, int] = {}
        for batch in _batches(reader, IMPORT_BATCH_SIZE):
            known_ids, by_email = _customers_for(batch)
            good = []
            for row in batch:
                report.rows += 1
                try:
                    record = _parse_row(
                        row, purposes=purposes, known_ids=known_ids, by_email=by_email, now=now
                    )
                except ApplicationError as error:
                    report.errors.append((row.line, error.message))
                    continue
                statement = (
                    record.customer_id,
                    record.purpose_id,
                    record.effective_at,
                    record.status,
                )
                if statement in seen:
                    report.errors.append((row.line, f"Duplicate of line {seen[statement]}."))
                    continue
                seen[statement] = row.line
                good.append(record)
            # Once a row is bad nothing will be kept: stop writing, keep checking.
            if not report.errors:
                report.imported += _store_batch(good, actor=actor, now=now)
            if progress is not None:
                progress(report.rows)
    except UnicodeDecodeError:
        report.errors.append((report.rows + 2, "The file is not UTF-8 text."))
    except csv.Error as error:
        report.errors.append((report.rows + 2, f"Not a readable CSV file: {error}."))
    finally:
        text.detach()
    if report.errors:
        raise ImportRejected(report)
    if report.rows == 0:
        report.errors.append((2, "The file has no rows."))
        raise ImportRejected(report)
    report.already_recorded = report.rows - report.imported
    audit_record(
        actor=actor,
        action=AuditAction.CONSENT_IMPORT,
        detail={
            "file": name[:200],
            "sha256": report.sha256,
            "rows": report.rows,
            "imported": report.imported,
            "already_recorded": report.already_recorded,
        },
    )
    return report


def consent_import_count_rows(content: bytes) -> int | None:
    """The number of rows ``consent_import`` will check in ``content`` (blank rows and rows
    of only separators are not rows), or ``None`` when the file is not readable CSV text
    (the import itself then says why)."""
    try:
        reader = csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline=""))
        return sum(1 for _ in _rows(reader))
    except (UnicodeDecodeError, csv.Error):
        return None


@transaction.atomic
def consent_state_rebuild() -> int:
    """Recompute ``ConsentState`` from the append-only records (after a restore, or to
    check the incremental upkeep): same rule, latest ``effective_at``, withdrawal wins a
    tie. Returns the number of states. Derived data only: no audit event."""
    state = connection.ops.quote_name(ConsentState._meta.db_table)
    records = connection.ops.quote_name(ConsentRecord._meta.db_table)
    coverage_changed()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {state}")
        cursor.execute(
            f"INSERT INTO {state} (customer_id, purpose_id, status, effective_at, record_id) "
            "SELECT customer_id, purpose_id, status, effective_at, id FROM ("
            "  SELECT customer_id, purpose_id, status, effective_at, id, ROW_NUMBER() OVER ("
            "    PARTITION BY customer_id, purpose_id ORDER BY effective_at DESC,"
            "    CASE WHEN status = %s THEN 0 ELSE 1 END, id DESC) AS position"
            f"  FROM {records}) ranked WHERE position = 1",
            [ConsentStatus.WITHDRAWN],
        )
        return cursor.rowcount


# --- External sharing --------------------------------------------------------------------

PACKAGE_DAYS = 7
TRANSFER_SAFEGUARD = "transfer_safeguard"
RECIPIENT_MAX = max_length(SharingRequest, "recipient")
REFERENCE_MAX = max_length(SharingRequest, "agreement_reference")
DELETION_EVIDENCE_MAX = max_length(SharingRequest, "deletion_evidence")
# Customer ids named in one withdrawal notification; the page lists them all.
IDS_IN_NOTIFICATION = 20


class PackageGone(ApplicationError):
    """The package may no longer be downloaded (its seven days are over, it was deleted,
    or the agreement ended): the pages and the API answer 410 Gone with this message."""


@dataclass(frozen=True)
class PackageDownload:
    filename: str
    content: str
    export_id: str
    rows: int


def _clean_categories(asset: DataAsset, categories: Iterable) -> list[DataCategory]:
    """The chosen categories, each one of the asset's or narrower (``user.contact.email``
    from an asset holding ``user.contact``): data minimisation, never more than it holds."""
    keys = sorted({c.key if isinstance(c, DataCategory) else str(c) for c in categories or ()})
    if not keys:
        raise ApplicationError("Choose the data categories to share.", field="categories")
    chosen = list(DataCategory.objects.filter(key__in=keys, active=True).order_by("key"))
    unknown = sorted(set(keys) - {c.key for c in chosen})
    if unknown:
        raise ApplicationError(
            f"Unknown data categor{'ies' if len(unknown) > 1 else 'y'}: {', '.join(unknown)}.",
            field="categories",
        )
    held = sorted(asset.data_categories.values_list("key", flat=True))
    outside = [k for k in keys if not any(k == h or k.startswith(h + ".") for h in held)]
    if outside:
        raise ApplicationError(
            f"{asset.name} does not hold {', '.join(outside)}: share only its categories "
            f"({', '.join(held) or 'none recorded'}).",
            field="categories",
        )
    return chosen


def _clean_agreement(reference: str, end: object) -> str:
    reference = (reference or "").strip()
    if not reference:
        raise ApplicationError(
            "Give the reference of the data sharing agreement (DPA): nothing is shared "
            "without one.",
            field="agreement_reference",
        )
    if len(reference) > REFERENCE_MAX:
        raise ApplicationError(
            f"The agreement reference is longer than {REFERENCE_MAX} characters.",
            field="agreement_reference",
        )
    require_visible_text(reference, field="agreement_reference", what="The agreement reference")
    if not isinstance(end, date) or isinstance(end, datetime):
        raise ApplicationError("Give the agreement's end date.", field="agreement_end")
    if end < timezone.localdate():
        raise ApplicationError(
            f"The agreement ended on {end:%d %b %Y}: nothing can be shared under it.",
            field="agreement_end",
        )
    # An end beyond any real agreement is a typing error, and 9999-12-31 leaves no room for
    # the deletion reminders counted from it.
    require_ahead(end, field="agreement_end", what="The agreement's end")
    return reference


def _clean_recipient(recipient: str, country: str) -> tuple[str, str]:
    recipient = one_line(recipient)
    if not recipient:
        raise ApplicationError("Name the receiving organisation.", field="recipient")
    require_visible_text(recipient, field="recipient", what="The recipient's name")
    if len(recipient) > RECIPIENT_MAX:
        raise ApplicationError(
            f"The recipient's name is longer than {RECIPIENT_MAX} characters.", field="recipient"
        )
    code = (country or "").strip().upper()
    if code not in COUNTRIES:
        raise ApplicationError(
            f"Unknown country code {country!r}: give the two-letter ISO 3166-1 code "
            "(DE, NO, US, ...).",
            field="recipient_country",
        )
    return recipient, code


def sharing_refusal_sentence(asset: DataAsset, purpose: Purpose, coverage: Coverage) -> str:
    if coverage.total == 0:
        return f"{asset.name} holds no customers, so there is nothing to share."
    count = "the one customer" if coverage.total == 1 else f"the {coverage.total:,} customers"
    if SHARING_PURPOSE_KEY in purpose.ancestor_keys:
        condition = f"agreed to {purpose.key}"
    elif purpose.needs_consent:
        condition = f"agreed to both {SHARING_PURPOSE_KEY} and {purpose.key}"
    else:
        condition = f"agreed to {SHARING_PURPOSE_KEY} and may be used for {purpose.key}"
    return f"None of {count} in {asset.name} {condition}."


def sharing_request_create(
    *,
    actor: User,
    asset: DataAsset,
    purpose: Purpose,
    justification: str,
    recipient: str,
    recipient_country: str,
    agreement_reference: str,
    agreement_end: date,
    categories: Iterable,
    deletion_confirmation_required: bool = True,
) -> SharingRequest:
    """Ask to share an asset's customer data with an organisation outside the company.

    Guarantees: every field is checked before anything is written (an agreement reference
    and an end date not in the past, a known country code, categories the asset holds);
    the sharing coverage (``third_party_sharing`` consent and the purpose) is computed at
    once and with nobody eligible the request is refused (``CoverageRefusal``, audited,
    no approver bothered). Otherwise the chain owner, compliance, legal starts whatever
    the asset's class, legal's step needing a transfer safeguard when the recipient is
    outside the EU/EEA, and the owner is notified.
    """
    justification = clean_justification(justification)
    recipient, country = _clean_recipient(recipient, recipient_country)
    reference = _clean_agreement(agreement_reference, agreement_end)
    chosen = _clean_categories(asset, categories)
    if not purpose.active:
        raise ApplicationError(f"The purpose {purpose.key} is not in use.", field="purpose")
    pending = SharingRequest.objects.filter(
        requester=actor,
        asset=asset,
        purpose=purpose,
        recipient__iexact=recipient,
        chain__status=ChainStatus.PENDING,
    )
    if pending.exists():
        raise ApplicationError(
            "You already have a pending request to share this asset with this recipient for "
            "this purpose.",
            field="asset",
        )

    coverage = sharing_coverage(asset, purpose)
    if coverage.eligible == 0:
        message = sharing_refusal_sentence(asset, purpose, coverage)
        # Recorded although nothing is created: compliance sees who tried to share what.
        audit_record(
            actor=actor,
            action=AuditAction.SHARING_REQUEST_REFUSED,
            target=asset,
            detail={
                "purpose": purpose.key,
                "recipient": recipient,
                "recipient_country": country,
                "total": coverage.total,
                "reason": message,
            },
        )
        raise CoverageRefusal(message)

    outside = outside_eu_eea(country)
    with transaction.atomic():
        chain = approvals.chain_start(
            kind=SHARING_CHAIN_KIND,
            requester=actor,
            owner=asset.owner,
            # design.md: owner, compliance, legal whatever the class (the engine gives the
            # owner's step to compliance when the requester owns the asset).
            steps=[
                approvals.StepSpec(ApprovalRole.OWNER),
                approvals.StepSpec(ApprovalRole.COMPLIANCE),
                approvals.StepSpec(
                    ApprovalRole.LEGAL, requirement=TRANSFER_SAFEGUARD if outside else ""
                ),
            ],
            title=f"Share {asset.name} with {recipient} ({country}) for {purpose.key}"[:300],
            summary=(
                f"{coverage.eligible:,} of {coverage.total:,} customers may be shared"
                + ("; recipient outside the EU/EEA: transfer safeguard needed" if outside else "")
            ),
        )
        sharing_request = SharingRequest.objects.create(
            requester=actor,
            asset=asset,
            recipient=recipient,
            recipient_country=country,
            purpose=purpose,
            justification=justification,
            agreement_reference=reference,
            agreement_end=agreement_end,
            deletion_confirmation_required=bool(deletion_confirmation_required),
            chain=chain,
            classification_at_request=asset.effective_classification,
            eligible_at_request=coverage.eligible,
            total_at_request=coverage.total,
        )
        sharing_request.categories.set(chosen)
        audit_record(
            actor=actor,
            action=AuditAction.SHARING_REQUEST_CREATE,
            target=sharing_request,
            asset_id=asset.pk,
            detail={
                "purpose": purpose.key,
                "recipient": recipient,
                "recipient_country": country,
                "outside_eu_eea": outside,
                "agreement_reference": reference,
                "agreement_end": agreement_end.isoformat(),
                "categories": [c.key for c in chosen],
                "eligible": coverage.eligible,
                "total": coverage.total,
            },
        )
        approvals.chain_publish(chain, link=sharing_request.get_absolute_url())
    return sharing_request


@transaction.atomic
def sharing_request_decide(
    *,
    sharing_request: SharingRequest,
    actor: User,
    approve: bool,
    reason: str,
    transfer_safeguard: str = "",
) -> SharingRequest:
    """Approve or deny the open step through the approval engine (who may decide, locking,
    notifications). Legal approves a recipient outside the EU/EEA only by naming the
    transfer safeguard; nothing is approved after the agreement's end; the final approval
    makes the package in the same transaction."""
    inputs = {}
    if transfer_safeguard:
        if transfer_safeguard not in TransferSafeguard.values:
            raise ApplicationError(
                f"Unknown transfer safeguard {transfer_safeguard!r}: use one of "
                f"{', '.join(TransferSafeguard.values)}.",
                field=TRANSFER_SAFEGUARD,
            )
        inputs[TRANSFER_SAFEGUARD] = transfer_safeguard
    decision = approvals.step_decide(
        chain=sharing_request.chain, actor=actor, approve=approve, reason=reason, inputs=inputs
    )
    if approve and sharing_request.agreement_end < timezone.localdate():
        # Raised after the engine checked who may decide (403 first); rolls the step back.
        raise ApplicationError(
            f"The agreement {sharing_request.agreement_reference} ended on "
            f"{sharing_request.agreement_end:%d %b %Y}: deny this request."
        )
    sharing_request.chain = decision.chain
    if decision.final_approval:
        sharing_package_create(sharing_request=sharing_request, actor=actor)
    return sharing_request


def sharing_request_withdraw(*, sharing_request: SharingRequest, actor: User) -> SharingRequest:
    sharing_request.chain = approvals.chain_withdraw(chain=sharing_request.chain, actor=actor)
    return sharing_request


@transaction.atomic
def sharing_package_create(*, sharing_request: SharingRequest, actor: User) -> SharingPackage:
    """Make the one package of a fully approved request: the customers eligible for
    sharing at this moment (the consent selectors), only the chosen categories' columns,
    downloadable by the requester for ``PACKAGE_DAYS`` days. The customers it contains are
    remembered for Art. 19; the package is audited and the requester told."""
    sharing_request = (
        SharingRequest.objects.select_for_update()
        .select_related("asset", "purpose", "chain", "requester")
        .get(pk=sharing_request.pk)
    )
    if sharing_request.chain.status != ChainStatus.APPROVED:
        raise ApplicationError("Only an approved sharing request produces a package.")
    if SharingPackage.objects.filter(request=sharing_request).exists():
        raise ApplicationError("This sharing request already has its package.")
    columns = columns_for_categories([c.key for c in sharing_request.categories.all()])
    customer_ids: list[int] = []

    def rows() -> Iterator[dict[str, Any]]:
        eligible = sharing_eligible_customers(sharing_request.asset, sharing_request.purpose)
        for row in eligible.order_by("id").values(*columns).iterator(chunk_size=2000):
            customer_ids.append(row["id"])
            yield row

    content = csv_text(columns, rows())
    now = timezone.now()
    package = SharingPackage(
        request=sharing_request,
        export_id=uuid.uuid4().hex,
        created_at=now,
        expires_at=add_calendar_days(now, PACKAGE_DAYS),
        row_count=len(customer_ids),
        columns=columns,
        content=content,
    )
    history_user_set(package, actor)
    package.save()
    SharingPackageCustomer.objects.bulk_create(
        [SharingPackageCustomer(package=package, customer_id=pk) for pk in customer_ids],
        batch_size=IMPORT_BATCH_SIZE,
    )
    audit_record(
        actor=actor,
        action=AuditAction.SHARING_PACKAGE_CREATE,
        target=package,
        asset_id=sharing_request.asset_id,
        detail={
            "export_id": package.export_id,
            "rows": package.row_count,
            "columns": columns,
            "purpose": sharing_request.purpose.key,
            "recipient": sharing_request.recipient,
            "recipient_country": sharing_request.recipient_country,
            "agreement_reference": sharing_request.agreement_reference,
        },
    )
    notify(
        users=[sharing_request.requester],
        kind="sharing_package_ready",
        context={"sharing_request": sharing_request, "package": package},
        target=sharing_request,
    )
    return package


def _without_rows_of(content: str, keep_ids: set[int]) -> tuple[str, int, int]:
    """The CSV ``content`` with only the rows whose id (first column) is in ``keep_ids``:
    (text, rows kept, rows left out)."""
    reader = csv.reader(io.StringIO(content, newline=""))
    out = io.StringIO(newline="")
    writer = safe_writer(out)
    kept = dropped = 0
    for number, row in enumerate(reader):
        if number == 0 or int(row[0]) in keep_ids:
            writer.writerow(row)
            kept += number > 0
        else:
            dropped += 1
    return out.getvalue(), kept, dropped


@transaction.atomic
def sharing_package_download(*, sharing_request: SharingRequest, actor: User) -> PackageDownload:
    """The requester's download of the package.

    Guarantees: only the requester (anyone else: ``NotAllowed``; the loaders answer 404
    before that); only while the package is within its seven days, not deleted and the
    agreement runs (else ``PackageGone``, whatever the beat job has done yet); a customer
    who withdrew since packaging is left out (a withdrawal takes effect at once, in every
    export); each download is an ``export.download`` audit event with the export id and
    the rows delivered, and a row of the export ledger (``customers.Export``) beside it.
    """
    package = SharingPackage.objects.select_related("request__asset", "request__purpose").get(
        request=sharing_request
    )
    shared = package.request
    if actor.pk != shared.requester_id:
        raise NotAllowed("Only the person who asked can download the package.")
    if package.deleted_at:
        raise PackageGone(
            f"This package was deleted on {package.deleted_at:%d %b %Y}: packages are kept "
            f"for {PACKAGE_DAYS} days."
        )
    if not package.is_available():
        raise PackageGone(
            f"This package expired on {utc_text(package.expires_at)}: packages are "
            f"kept for {PACKAGE_DAYS} days."
        )
    if shared.agreement_end < timezone.localdate():
        raise PackageGone(f"The agreement ended on {shared.agreement_end:%d %b %Y}.")
    still_eligible = set(
        sharing_eligible_customers(shared.asset, shared.purpose)
        .filter(pk__in=package.members.values("customer_id"))
        .values_list("pk", flat=True)
    )
    content, rows, left_out = package.content, package.row_count, 0
    if len(still_eligible) != package.row_count:
        content, rows, left_out = _without_rows_of(package.content, still_eligible)
    SharingPackage.objects.filter(pk=package.pk).update(download_count=F("download_count") + 1)
    event = audit_record(
        actor=actor,
        action=AuditAction.EXPORT_DOWNLOAD,
        target=package,
        asset_id=shared.asset_id,
        detail={
            "kind": "sharing",
            "export_id": package.export_id,
            "rows": rows,
            "left_out_withdrawn": left_out,
            "columns": package.columns,
            "purpose": shared.purpose.key,
            "recipient": shared.recipient,
        },
    )
    Export.objects.record(
        event=event, package=package, columns=package.columns, left_out_withdrawn=left_out
    )
    return PackageDownload(
        filename=package.filename, content=content, export_id=package.export_id, rows=rows
    )


def sharing_packages_delete_expired(*, now: datetime | None = None) -> int:
    """Beat job: delete the file of every package past its seven days (the list of the
    customers it contained stays, for Art. 19). Idempotent; downloads never wait for it,
    they check the expiry themselves."""
    now = now or timezone.now()
    due = SharingPackage.objects.filter(deleted_at__isnull=True, expires_at__lte=now)
    deleted = 0
    for pk in list(due.values_list("pk", flat=True)):
        with transaction.atomic():
            package = SharingPackage.objects.select_for_update().get(pk=pk)
            if package.deleted_at is not None:
                continue
            package.content = ""
            package.deleted_at = now
            history_user_set(package, None)
            package.save(update_fields=["content", "deleted_at"])
            audit_record(
                actor=None,
                action=AuditAction.SHARING_PACKAGE_DELETE,
                target=package,
                detail={"export_id": package.export_id, "rows": package.row_count},
            )
            deleted += 1
    return deleted


def _covering_keys(sharing_request: SharingRequest) -> set[str]:
    """The purpose keys whose withdrawal ends a customer's place in the package."""
    keys = set(key_and_ancestors(SHARING_PURPOSE_KEY))
    if sharing_request.purpose.needs_consent:
        keys |= set(sharing_request.purpose.ancestor_keys)
    return keys


def _still_shareable(customer_ids: set[int], purpose: Purpose) -> set[int]:
    condition = consent_granted(sharing_purpose())
    if purpose.needs_consent:
        condition &= consent_granted(purpose)
    return set(Customer.objects.filter(condition, pk__in=customer_ids).values_list("pk", flat=True))


def sharing_withdrawals_record(*, records: Iterable[ConsentRecord]) -> int:
    """GDPR Art. 19: the withdrawals among ``records`` that a recipient must be told of.

    For every package already made (downloaded or not, file deleted or not) that contains
    a customer whose withdrawal among ``records`` ends their consent to
    ``third_party_sharing`` (or to the package's purpose, when it needs consent), record a
    withdrawal to forward and tell the requester and compliance, in the caller's
    transaction. A withdrawal that does not change the current state (an older record)
    adds nothing, nor does one for a customer already waiting to be forwarded on that
    package. Returns how many were recorded.
    """
    withdrawals: dict[int, list[ConsentRecord]] = {}
    for record in records:
        if record.status == ConsentStatus.WITHDRAWN:
            withdrawals.setdefault(record.customer_id, []).append(record)
    if not withdrawals:
        return 0
    memberships = list(
        SharingPackageCustomer.objects.filter(customer_id__in=list(withdrawals)).select_related(
            "package__request__purpose", "package__request__asset", "package__request__requester"
        )
    )
    if not memberships:
        return 0
    purpose_keys = dict(
        Purpose.objects.filter(
            pk__in={r.purpose_id for rs in withdrawals.values() for r in rs}
        ).values_list("pk", "key")
    )
    waiting = set(
        SharingWithdrawal.objects.filter(
            package_id__in={m.package_id for m in memberships},
            customer_id__in=list(withdrawals),
            forwarded_at__isnull=True,
        ).values_list("package_id", "customer_id")
    )
    candidates: list[tuple[SharingPackageCustomer, ConsentRecord]] = []
    for membership in memberships:
        covering = _covering_keys(membership.package.request)
        relevant = [
            r
            for r in withdrawals[membership.customer_id]
            if purpose_keys.get(r.purpose_id) in covering
        ]
        if relevant and (membership.package_id, membership.customer_id) not in waiting:
            candidates.append((membership, max(relevant, key=lambda r: r.effective_at)))
    by_purpose: dict[int, set[int]] = {}
    for membership, _ in candidates:
        purpose = membership.package.request.purpose
        by_purpose.setdefault(purpose.pk, set()).add(membership.customer_id)
    still = {
        purpose_id: _still_shareable(ids, Purpose.objects.get(pk=purpose_id))
        for purpose_id, ids in by_purpose.items()
    }
    rows = [
        SharingWithdrawal(package=membership.package, customer_id=record.customer_id, record=record)
        for membership, record in candidates
        if membership.customer_id not in still[membership.package.request.purpose_id]
    ]
    if not rows:
        return 0
    bulk_create_with_history(rows, SharingWithdrawal, default_user=None)
    by_package: dict[int, list[SharingWithdrawal]] = {}
    for row in rows:
        by_package.setdefault(row.package_id, []).append(row)
    compliance = list(roles.role_members(roles.COMPLIANCE))
    for package_rows in by_package.values():
        package = package_rows[0].package
        shared = package.request
        ids = sorted(row.customer_id for row in package_rows)
        audit_record(
            actor=None,
            action=AuditAction.SHARING_WITHDRAWAL_TO_FORWARD,
            target=shared,
            asset_id=shared.asset_id,
            detail={"export_id": package.export_id, "customer_ids": ids},
        )
        notify(
            users=[shared.requester, *compliance],
            kind="sharing_withdrawal",
            context={
                "sharing_request": shared,
                "count": len(ids),
                "shown_ids": ids[:IDS_IN_NOTIFICATION],
                "more": len(ids) - IDS_IN_NOTIFICATION,
            },
            target=shared,
        )
    return len(rows)


@transaction.atomic
def sharing_withdrawal_forwarded(
    *, withdrawal: SharingWithdrawal, actor: User, note: str
) -> SharingWithdrawal:
    """The requester or compliance records that the recipient was told of a withdrawal,
    and how; it leaves the "withdrawals to forward" list."""
    withdrawal = (
        SharingWithdrawal.objects.select_for_update()
        .select_related("package__request")
        .get(pk=withdrawal.pk)
    )
    shared = withdrawal.package.request
    policies.require_may_forward_withdrawal(actor, shared)
    if withdrawal.forwarded_at:
        raise ApplicationError("This withdrawal is already marked forwarded.")
    note = clean_reason(
        one_line(note),
        field="note",
        message=f"Say how the recipient was told (at least {MIN_REASON_LENGTH} characters).",
    )
    withdrawal.forwarded_at, withdrawal.forwarded_by, withdrawal.note = (
        timezone.now(),
        actor,
        note[:500],
    )
    history_user_set(withdrawal, actor)
    withdrawal.save(update_fields=["forwarded_at", "forwarded_by", "note"])
    audit_record(
        actor=actor,
        action=AuditAction.SHARING_WITHDRAWAL_FORWARDED,
        target=shared,
        asset_id=shared.asset_id,
        detail={"customer_id": withdrawal.customer_id, "note": withdrawal.note},
    )
    return withdrawal


@transaction.atomic
def sharing_deletion_confirm(
    *, sharing_request: SharingRequest, actor: User, evidence: str
) -> SharingRequest:
    """Compliance records that the recipient confirmed deleting the shared data; the
    reminders stop."""
    policies.require_may_record_recipient_deletion(actor)
    sharing_request = (
        SharingRequest.objects.select_for_update()
        .select_related("chain", "requester")
        .get(pk=sharing_request.pk)
    )
    if sharing_request.chain.status != ChainStatus.APPROVED:
        raise ApplicationError("Nothing was shared under this request.")
    if sharing_request.deletion_confirmed_at:
        raise ApplicationError("The recipient's deletion is already recorded.")
    evidence = clean_reason(
        one_line(evidence),
        field="evidence",
        message="Say where the recipient's confirmation is kept (letter, e-mail, ticket; "
        f"at least {MIN_REASON_LENGTH} characters).",
    )
    if len(evidence) > DELETION_EVIDENCE_MAX:
        raise ApplicationError(
            f"The evidence is longer than {DELETION_EVIDENCE_MAX} characters.", field="evidence"
        )
    sharing_request.deletion_confirmed_at = timezone.now()
    sharing_request.deletion_confirmed_by = actor
    sharing_request.deletion_evidence = evidence
    history_user_set(sharing_request, actor)
    sharing_request.save(
        update_fields=["deletion_confirmed_at", "deletion_confirmed_by", "deletion_evidence"]
    )
    audit_record(
        actor=actor,
        action=AuditAction.SHARING_REQUEST_DELETION_CONFIRMED,
        target=sharing_request,
        asset_id=sharing_request.asset_id,
        detail={"evidence": evidence},
    )
    notify(
        users=[sharing_request.requester],
        kind="sharing_deletion_confirmed",
        context={"sharing_request": sharing_request, "actor": actor},
        target=sharing_request,
    )
    return sharing_request


def sharing_deletion_remind(*, today: date | None = None) -> int:
    """Beat job: from the agreement's end, remind the requester once a day to obtain the
    recipient's deletion confirmation, until compliance records it. Running it twice in a
    day sends nothing more (a conditional claim on ``deletion_reminded_on``)."""
    today = today or timezone.localdate()
    due = SharingRequest.objects.filter(
        deletion_confirmation_required=True,
        deletion_confirmed_at__isnull=True,
        chain__status=ChainStatus.APPROVED,
        agreement_end__lte=today,
    ).filter(Q(deletion_reminded_on__isnull=True) | Q(deletion_reminded_on__lt=today))
    sent = 0
    for sharing_request in due.select_related("requester"):
        with transaction.atomic():
            claimed = (
                SharingRequest.objects.filter(
                    pk=sharing_request.pk, deletion_confirmed_at__isnull=True
                )
                .filter(Q(deletion_reminded_on__isnull=True) | Q(deletion_reminded_on__lt=today))
                .update(deletion_reminded_on=today)
            )
            if not claimed:
                continue
            notify(
                users=[sharing_request.requester],
                kind="sharing_deletion_due",
                context={"sharing_request": sharing_request},
                target=sharing_request,
            )
            sent += 1
    return sent
