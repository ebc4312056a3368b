"""Every write of consent: one record at a time, or a CSV file all at once.

Both paths append ``ConsentRecord`` rows and fold them into ``ConsentState`` (the current
state per customer and purpose key) in the same transaction, through the one statement in
``_fold_into_current_state``; ``consent.selectors`` reads only the state table.
"""

import csv
import hashlib
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, time

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from consent.models import (
    ConsentRecord,
    ConsentSource,
    ConsentState,
    ConsentStatus,
    Purpose,
)
from customers.models import Customer
from portal import roles
from portal.audit import audit_record
from portal.errors import ApplicationError, NotAllowed

EVIDENCE_MAX = ConsentRecord._meta.get_field("evidence").max_length
NOTICE_VERSION_MAX = ConsentRecord._meta.get_field("notice_version").max_length
IMPORT_BATCH_SIZE = 2000
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


def _check_actor(actor) -> None:
    # People record consent only as compliance officers; ``None`` is the system (imports
    # from a command, tasks), which runs with the operator's authority.
    if actor is not None and not roles.is_compliance(actor):
        raise NotAllowed("Only a compliance officer can record consent.")


def parse_effective_at(value, *, now: datetime | None = None) -> datetime:
    """An aware datetime from a datetime, an ISO 8601 date-time or a date (midnight, site
    time zone); naive values are in the site time zone. Never in the future."""
    if isinstance(value, str):
        text = value.strip()
        parsed = None
        try:
            parsed = parse_datetime(text) or (
                datetime.combine(parse_date(text), time()) if parse_date(text) else None
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
    if value > (now or timezone.now()):
        raise ApplicationError(
            "The effective date is in the future: record consent once it is given.",
            field="effective_at",
        )
    return value


def _check_fields(*, status: str, source: str, evidence: str, notice_version: str) -> None:
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


def _fold_into_current_state(records: Iterable[ConsentRecord]) -> None:
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
    table = connection.ops.quote_name(ConsentState._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    rows = list(winners.values())
    for start in range(0, len(rows), IMPORT_BATCH_SIZE):
        chunk = rows[start : start + IMPORT_BATCH_SIZE]
        values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(chunk))
        params = []
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
    actor,
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
    _check_actor(actor)
    evidence = (evidence or "").strip()
    notice_version = (notice_version or "").strip()
    _check_fields(status=status, source=source, evidence=evidence, notice_version=notice_version)
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
    _fold_into_current_state([record])
    audit_record(
        actor=actor,
        action="consent.record",
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


def _sha256(file) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: file.read(1 << 20), b""):
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()


def _normalise_column(name: str) -> str:
    return (name or "").strip().lower().replace(" ", "_").replace("-", "_")


def _batches(reader, size: int) -> Iterator[list[_Row]]:
    batch = []
    for values in reader:
        batch.append(_Row(line=reader.line_num, values=values))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _customers_for(batch: list[_Row]) -> tuple[dict[int, int], dict[str, list[int]]]:
    """Ids that exist and e-mail -> ids, for this batch's customer column only."""
    ids, emails = set(), set()
    for row in batch:
        text = (row.values.get("customer") or "").strip()
        if text.isdigit():
            ids.add(int(text))
        elif text:
            emails.add(text)
    known_ids = {pk: pk for pk in Customer.objects.filter(pk__in=ids).values_list("pk", flat=True)}
    by_email: dict[str, list[int]] = {}
    for pk, email in Customer.objects.filter(email__in=emails).values_list("pk", "email"):
        by_email.setdefault(email, []).append(pk)
    return known_ids, by_email


def _parse_row(row: _Row, *, purposes, known_ids, by_email, now) -> ConsentRecord:
    """One CSV row as an unsaved record, or an ``ApplicationError`` saying what is wrong."""
    values = row.values
    if None in values:
        raise ApplicationError("More columns than the header names.")
    if any(value is None for value in values.values()):
        raise ApplicationError("Fewer columns than the header names.")
    customer_text = (values.get("customer") or "").strip()
    if not customer_text:
        raise ApplicationError("No customer given.")
    if customer_text.isdigit():
        customer_id = known_ids.get(int(customer_text))
    else:
        matches = by_email.get(customer_text, [])
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
    status = (values.get("status") or "").strip().lower()
    source = (values.get("source") or "").strip().lower() or ConsentSource.IMPORT
    evidence = (values.get("evidence") or "").strip()
    notice_version = (values.get("notice_version") or "").strip()
    _check_fields(status=status, source=source, evidence=evidence, notice_version=notice_version)
    if not (values.get("effective_at") or "").strip():
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


def _store_batch(records: list[ConsentRecord], *, actor, now) -> int:
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
    _fold_into_current_state(new)
    return len(new)


@transaction.atomic
def consent_import(*, actor, file, name: str = "") -> ImportReport:
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
    file's SHA-256 (per-record events would be one chain write per row).
    """
    _check_actor(actor)
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
        action="consent.import",
        detail={
            "file": name[:200],
            "sha256": report.sha256,
            "rows": report.rows,
            "imported": report.imported,
            "already_recorded": report.already_recorded,
        },
    )
    return report


@transaction.atomic
def consent_state_rebuild() -> int:
    """Recompute ``ConsentState`` from the append-only records (after a restore, or to
    check the incremental upkeep): same rule, latest ``effective_at``, withdrawal wins a
    tie. Returns the number of states. Derived data only: no audit event."""
    state = connection.ops.quote_name(ConsentState._meta.db_table)
    records = connection.ops.quote_name(ConsentRecord._meta.db_table)
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
