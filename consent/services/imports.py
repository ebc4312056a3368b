"""Importing consent records from a CSV file: every row checked, nothing half-imported, with a
report of the rejected rows; the accepted rows fold into the current state like single records."""

import csv
import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from consent.coverage_cache import coverage_changed
from consent.models import ConsentRecord, ConsentSource, ConsentState, ConsentStatus, Purpose
from consent.services.records import (
    check_record_fields,
    check_recording_actor,
    fold_into_current_state,
    parse_effective_at,
    require_no_nul_in_field,
)
from consent.services.withdrawal_forwarding import sharing_withdrawals_record
from customers.emails import normalise_email
from customers.models.catalogue import Customer
from portal.audit import audit_record
from portal.audit_actions import AuditAction
from portal.errors import ApplicationError
from portal.input_limits import as_id
from portal.models import User

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
            ngettext(
                "Nothing imported: %(count)s bad row.",
                "Nothing imported: %(count)s bad rows.",
                count,
            )
            % {"count": count},
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
        raise ApplicationError(_("More columns than the header names."))
    if any(value is None for value in values.values()):
        raise ApplicationError(_("Fewer columns than the header names."))
    for name in IMPORT_COLUMNS:
        require_no_nul_in_field(name, values.get(name) or "")
    customer_text = values.get("customer") or ""
    if not customer_text:
        raise ApplicationError(_("No customer given."))
    if (pk := as_id(customer_text)) is not None:
        customer_id = known_ids.get(pk)
    else:
        matches = by_email.get(normalise_email(customer_text), [])
        if len(matches) > 1:
            raise ApplicationError(
                _("The e-mail %(email)s belongs to %(count)s customers: use the id.")
                % {"email": repr(customer_text), "count": len(matches)}
            )
        customer_id = matches[0] if matches else None
    if customer_id is None:
        raise ApplicationError(_("Unknown customer %(value)s.") % {"value": repr(customer_text)})
    key = values.get("purpose") or ""
    if key not in purposes:
        raise ApplicationError(_("Unknown purpose %(value)s.") % {"value": repr(key)})
    status = (values.get("status") or "").lower()
    source = (values.get("source") or "").lower() or ConsentSource.IMPORT
    evidence = values.get("evidence") or ""
    notice_version = values.get("notice_version") or ""
    check_record_fields(
        status=status, source=source, evidence=evidence, notice_version=notice_version
    )
    if not values.get("effective_at"):
        raise ApplicationError(_("No effective date given."))
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


def _check_header(reader: "csv.DictReader[str]", report: ImportReport) -> None:
    """Normalise the header row in place; a missing or unknown column rejects the file
    (``ImportRejected``, reported on line 1)."""
    header = [_normalise_column(c) for c in (reader.fieldnames or [])]
    unknown = [c for c in header if c not in IMPORT_COLUMNS]
    missing = sorted(IMPORT_REQUIRED_COLUMNS - set(header))
    if unknown or missing:
        problems = []
        if missing:
            problems.append(_("missing column(s) %(columns)s") % {"columns": ", ".join(missing)})
        if unknown:
            problems.append(_("unknown column(s) %(columns)s") % {"columns": ", ".join(unknown)})
        message = _("Bad header: %(problems)s. Expected %(columns)s.") % {
            "problems": "; ".join(problems),
            "columns": ", ".join(IMPORT_COLUMNS),
        }
        report.errors.append((1, message))
        raise ImportRejected(report)
    reader.fieldnames = header


def _check_batch(
    batch: list[_Row],
    *,
    purposes: dict[str, int],
    seen: dict[tuple, int],
    report: ImportReport,
    now: datetime,
) -> list[ConsentRecord]:
    """The batch's good rows as unsaved records; each bad row and each repeat of an earlier
    row of the file (``seen``: statement to line) goes to ``report.errors`` with its line."""
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
            report.errors.append(
                (row.line, _("Duplicate of line %(line)s.") % {"line": seen[statement]})
            )
            continue
        seen[statement] = row.line
        good.append(record)
    return good


def _audit_import(*, actor: User | None, name: str, report: ImportReport) -> None:
    """One ``consent.import`` event with the row counts and the file's SHA-256."""
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
        _check_header(reader, report)
        purposes = dict(Purpose.objects.filter(active=True).values_list("key", "pk"))
        seen: dict[tuple, int] = {}
        for batch in _batches(reader, IMPORT_BATCH_SIZE):
            good = _check_batch(batch, purposes=purposes, seen=seen, report=report, now=now)
            # Once a row is bad nothing will be kept: stop writing, keep checking.
            if not report.errors:
                report.imported += _store_batch(good, actor=actor, now=now)
            if progress is not None:
                progress(report.rows)
    except UnicodeDecodeError:
        report.errors.append((report.rows + 2, _("The file is not UTF-8 text.")))
    except csv.Error as error:
        report.errors.append(
            (report.rows + 2, _("Not a readable CSV file: %(error)s.") % {"error": error})
        )
    finally:
        text.detach()
    if report.errors:
        raise ImportRejected(report)
    if report.rows == 0:
        report.errors.append((2, _("The file has no rows.")))
        raise ImportRejected(report)
    report.already_recorded = report.rows - report.imported
    _audit_import(actor=actor, name=name, report=report)
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
