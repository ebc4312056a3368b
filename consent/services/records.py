"""Recording consent one record at a time. Every write appends ``ConsentRecord`` rows and folds
them into ``ConsentState`` (the current state per customer and purpose key) in the same
transaction, through the one statement in ``fold_into_current_state``; ``consent.selectors``
reads only the state table."""

from collections.abc import Iterable
from datetime import date, datetime, time
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from consent import policies
from consent.coverage_cache import coverage_changed
from consent.models import ConsentRecord, ConsentSource, ConsentState, ConsentStatus, Purpose
from consent.services.withdrawal_forwarding import sharing_withdrawals_record
from customers.models.catalogue import Customer
from portal.audit import audit_record
from portal.audit_actions import AuditAction
from portal.display import date_text
from portal.errors import ApplicationError
from portal.input_limits import max_length, require_no_nul
from portal.models import User

EVIDENCE_MAX = max_length(ConsentRecord, "evidence")


NOTICE_VERSION_MAX = max_length(ConsentRecord, "notice_version")


# Rows per statement when folding records into the current state.
FOLD_BATCH_SIZE = 2000


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
                _("Bad date %(value)s: use ISO 8601, e.g. 2024-05-01 or 2024-05-01T14:30:00Z.")
                % {"value": repr(value)},
                field="effective_at",
            )
        value = parsed
    if not isinstance(value, datetime):
        raise ApplicationError(_("Bad date: give a date and time."), field="effective_at")
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    # Compared as aware datetimes (no conversion to UTC, which overflows near year 1).
    if value < timezone.make_aware(datetime.combine(EARLIEST_EFFECTIVE_DATE, time())):
        raise ApplicationError(
            _(
                "The effective date is before %(earliest)s: give the date the customer agreed "
                "or withdrew."
            )
            % {"earliest": date_text(EARLIEST_EFFECTIVE_DATE)},
            field="effective_at",
        )
    if value > (now or timezone.now()):
        raise ApplicationError(
            _("The effective date is in the future: record consent once it is given."),
            field="effective_at",
        )
    return value


# A field as a refusal names it ("The evidence holds a NUL character").
FIELD_LABELS = {
    "customer": gettext_lazy("The customer"),
    "purpose": gettext_lazy("The purpose"),
    "status": gettext_lazy("The status"),
    "source": gettext_lazy("The source"),
    "evidence": gettext_lazy("The evidence"),
    "notice_version": gettext_lazy("The notice version"),
    "effective_at": gettext_lazy("The effective date"),
}


def require_no_nul_in_field(field: str, value: str) -> None:
    require_no_nul(value, field=field, what=str(FIELD_LABELS[field]))


def check_record_fields(*, status: str, source: str, evidence: str, notice_version: str) -> None:
    require_no_nul_in_field("evidence", evidence)
    require_no_nul_in_field("notice_version", notice_version)
    if status not in ConsentStatus.values:
        raise ApplicationError(
            _("Bad status %(value)s: use %(granted)s or %(withdrawn)s.")
            % {
                "value": repr(status),
                "granted": ConsentStatus.GRANTED.value,
                "withdrawn": ConsentStatus.WITHDRAWN.value,
            },
            field="status",
        )
    if source not in ConsentSource.values:
        raise ApplicationError(
            _("Bad source %(value)s: use one of %(values)s.")
            % {"value": repr(source), "values": ", ".join(ConsentSource.values)},
            field="source",
        )
    if len(evidence) > EVIDENCE_MAX:
        raise ApplicationError(
            _("The evidence reference is longer than %(max)s characters.") % {"max": EVIDENCE_MAX},
            field="evidence",
        )
    if len(notice_version) > NOTICE_VERSION_MAX:
        raise ApplicationError(
            _("The notice version is longer than %(max)s characters.")
            % {"max": NOTICE_VERSION_MAX},
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


def _statement_check(
    customer: Customer, purpose: Purpose, status: str, effective_at: datetime | None
) -> datetime:
    """The moment a new statement takes effect (default: now; never in the future), once
    it is sure the purpose is in use and the same statement (customer, purpose, status,
    moment) is not recorded already; ``ApplicationError`` otherwise."""
    if not purpose.active:
        raise ApplicationError(
            _("The purpose %(purpose)s is no longer in use.") % {"purpose": purpose.key},
            field="purpose",
        )
    effective_at = timezone.now() if effective_at is None else parse_effective_at(effective_at)
    if ConsentRecord.objects.filter(
        customer=customer, purpose=purpose, effective_at=effective_at, status=status
    ).exists():
        raise ApplicationError(_("This consent statement is already recorded."))
    return effective_at


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
    effective_at = _statement_check(customer, purpose, status, effective_at)
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
