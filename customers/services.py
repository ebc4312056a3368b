"""Every write to customers and data assets."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm
from simple_history.utils import bulk_create_with_history

from consent.coverage_cache import coverage_changed
from consent.models import LawfulBasis, Purpose
from consent.selectors import Coverage, coverage_for, eligible_customers
from consent.services import consent_record
from customers import policies
from customers.models import (
    ACCESS_CHAIN_KIND,
    AccessGrant,
    AccessLevel,
    AccessRequest,
    AssetCustomer,
    Classification,
    Customer,
    DataAsset,
    DataSubjectRequest,
    ErasureTask,
    Export,
    ExportedCustomer,
    ReceivedVia,
    ReminderKind,
    RetentionReminder,
    SubjectRequestReminder,
    SubjectRequestStatus,
    SubjectRequestType,
)
from customers.selectors import (
    access_alternatives,
    access_report,
    assets_past_retention,
    grant_records,
    subject_request_due_date,
)
from customers.visibility import active_grants
from portal import approvals, roles
from portal.audit import audit_record
from portal.audit_actions import AuditAction
from portal.errors import ApplicationError, CoverageRefusal, NotAllowed
from portal.history import change_reason, history_user_set, save_with_history
from portal.input_limits import (
    EARLIEST_EVENT,
    day_text,
    require_ahead,
    require_date_between,
    require_visible_text,
)
from portal.models import ApprovalRole, ChainStatus, User
from portal.notifications import notify
from portal.reasons import MIN_REASON_LENGTH, clean_justification, clean_reason
from portal.site_calendar import add_calendar_days


@transaction.atomic
def asset_create(
    *,
    actor: User,
    name: str,
    owner: User,
    description: str = "",
    source_system: str = "",
    retention_date: date | None = None,
    data_categories: Iterable = (),
    collected_for: Iterable = (),
    customers: Iterable[Customer] = (),
) -> DataAsset:
    """Register a data asset. It is ``confidential`` and unconfirmed whatever the caller
    says: only a compliance officer can confirm it or lower the class afterwards."""
    require_visible_text(name, field="name", what="The asset's name")
    if DataAsset.objects.filter(name=name).exists():
        raise ApplicationError(f"An asset called {name!r} already exists.", field="name")
    asset = DataAsset(
        name=name,
        description=description,
        owner=owner,
        source_system=source_system,
        retention_date=retention_date,
        classification=Classification.CONFIDENTIAL,
        classification_confirmed=False,
    )
    history_user_set(asset, actor)
    asset.save()
    asset.data_categories.set(list(data_categories))
    asset.collected_for.set(list(collected_for))
    asset_add_customers(asset=asset, actor=actor, customers=customers)
    return asset


@transaction.atomic
def asset_add_customers(*, asset: DataAsset, actor: User, customers: Iterable[Customer]) -> int:
    """Add customers to an asset in batches, with history; present ones are left alone."""
    _lock_assets([asset.pk])
    present = set(AssetCustomer.objects.filter(asset=asset).values_list("customer_id", flat=True))
    rows = [
        AssetCustomer(asset=asset, customer=customer)
        for customer in customers
        if customer.pk not in present
    ]
    bulk_create_with_history(rows, AssetCustomer, batch_size=2000, default_user=actor)
    _memberships_changed([asset.pk])
    asset.refresh_from_db(fields=["customer_count"])
    return len(rows)


def _lock_assets(asset_ids: Iterable[int]) -> None:
    """Serialise membership changes per asset (in id order: no deadlock between two
    changes of several assets), so each recount sees every change committed before it."""
    list(
        DataAsset.objects.select_for_update()
        .filter(pk__in=set(asset_ids))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _memberships_changed(asset_ids: Iterable[int]) -> None:
    """After customers were added to or removed from these (locked) assets."""
    asset_customer_counts_refresh(asset_ids)
    coverage_changed()


def asset_customer_counts_refresh(asset_ids: Iterable[int] | None = None) -> None:
    """Store the number of customers of these assets (all with ``None``), counted in one
    statement: every service that adds or removes memberships calls it in its transaction,
    after locking the assets (``seed_scale`` writes the counts with the rows it loads)."""
    counted = (
        AssetCustomer.objects.filter(asset=OuterRef("pk"))
        .order_by()
        .values("asset")
        .annotate(n=Count("pk"))
        .values("n")
    )
    assets = (
        DataAsset.objects.all()
        if asset_ids is None
        else DataAsset.objects.filter(pk__in=set(asset_ids))
    )
    assets.update(customer_count=Coalesce(Subquery(counted, output_field=IntegerField()), 0))


@transaction.atomic
def asset_classify(*, asset: DataAsset, actor: User, classification: str, reason: str) -> DataAsset:
    """Confirm or change an asset's classification.

    Only a member of Compliance may, always with a written reason; the change and its reason
    are in the asset's history with who made it.
    """
    policies.require_may_manage_asset(actor, "confirm or change a classification")
    if classification not in Classification.values:
        raise ApplicationError(
            f"Unknown classification {classification!r}.", field="classification"
        )
    reason = clean_reason(reason, what="the reason for this classification")
    # Lock the row: two officers classifying at once must not interleave their writes.
    asset = DataAsset.objects.select_for_update().get(pk=asset.pk)
    before = {"classification": asset.classification, "confirmed": asset.classification_confirmed}
    asset.classification = classification
    asset.classification_confirmed = True
    asset.classification_reason = reason
    asset.classified_by = actor
    asset.classified_at = timezone.now()
    save_with_history(asset, actor=actor, reason=reason)
    audit_record(
        actor=actor,
        action=AuditAction.ASSET_CLASSIFICATION_CHANGE,
        target=asset,
        detail={"from": before, "to": classification, "reason": reason},
    )
    return asset


# --- Access requests and grants --------------------------------------------------------

MAX_DURATION_DAYS = 90
EXPIRY_REMINDER_DAYS = 3

# design.md: the approval chain by (effective) classification.
CHAIN_BY_CLASSIFICATION: dict[str, list[str]] = {
    Classification.PUBLIC: [ApprovalRole.OWNER],
    Classification.INTERNAL: [ApprovalRole.OWNER],
    Classification.CONFIDENTIAL: [ApprovalRole.OWNER, ApprovalRole.COMPLIANCE],
    Classification.RESTRICTED: [ApprovalRole.OWNER, ApprovalRole.COMPLIANCE, ApprovalRole.LEGAL],
}


def refusal_sentence(asset: DataAsset, purpose: Purpose, coverage: Coverage) -> str:
    if coverage.total == 0:
        return f"{asset.name} holds no customers, so there is nothing to grant."
    count = "the one customer" if coverage.total == 1 else f"the {coverage.total:,} customers"
    verb = "agreed to" if purpose.needs_consent else "may be used for"
    return f"None of {count} in {asset.name} {verb} {purpose.key}."


def access_request_create(
    *,
    actor: User,
    asset: DataAsset,
    purpose: Purpose,
    justification: str,
    level: str = AccessLevel.VIEW,
    duration_days: int = 30,
) -> AccessRequest:
    """Ask for access to an asset's records for one purpose.

    The consent coverage is computed at once: with no eligible customer the request is
    refused (``CoverageRefusal``, audited, nothing reaches an approver) and the refusal
    says what would work instead. Otherwise the approval chain of the asset's effective
    classification starts and its first deciders are notified.
    """
    justification = clean_justification(justification)
    if level not in AccessLevel.values:
        raise ApplicationError(f"Unknown access level {level!r}.", field="level")
    if not isinstance(duration_days, int) or not 1 <= duration_days <= MAX_DURATION_DAYS:
        raise ApplicationError(
            f"Access lasts from 1 to {MAX_DURATION_DAYS} days.", field="duration_days"
        )
    if not purpose.active:
        raise ApplicationError(f"The purpose {purpose.key} is not in use.", field="purpose")
    pending = AccessRequest.objects.filter(
        requester=actor, asset=asset, purpose=purpose, chain__status=ChainStatus.PENDING
    )
    if pending.exists():
        raise ApplicationError(
            "You already have a pending request for this asset and purpose.", field="asset"
        )

    coverage = coverage_for(asset, purpose)
    if coverage.eligible == 0:
        message = refusal_sentence(asset, purpose, coverage)
        # Recorded even though nothing is created: compliance sees who asked for what.
        audit_record(
            actor=actor,
            action=AuditAction.ACCESS_REQUEST_REFUSED,
            target=asset,
            detail={"purpose": purpose.key, "total": coverage.total, "reason": message},
        )
        raise CoverageRefusal(
            message, extra={"alternatives": access_alternatives(actor, asset, purpose)}
        )

    with transaction.atomic():
        classification = asset.effective_classification
        chain = approvals.chain_start(
            kind=ACCESS_CHAIN_KIND,
            requester=actor,
            owner=asset.owner,
            steps=[approvals.StepSpec(role) for role in CHAIN_BY_CLASSIFICATION[classification]],
            title=f"{AccessLevel(level).label} of {asset.name} for {purpose.key}",
            summary=f"{coverage.eligible:,} of {coverage.total:,} customers eligible",
        )
        access_request = AccessRequest.objects.create(
            requester=actor,
            asset=asset,
            purpose=purpose,
            justification=justification,
            level=level,
            duration_days=duration_days,
            classification_at_request=classification,
            eligible_at_request=coverage.eligible,
            total_at_request=coverage.total,
            chain=chain,
        )
        audit_record(
            actor=actor,
            action=AuditAction.ACCESS_REQUEST_CREATE,
            target=access_request,
            asset_id=asset.pk,
            detail={
                "purpose": purpose.key,
                "level": level,
                "duration_days": duration_days,
                "eligible": coverage.eligible,
                "total": coverage.total,
            },
        )
        approvals.chain_publish(chain, link=access_request.get_absolute_url())
    return access_request


@transaction.atomic
def access_request_decide(
    *, access_request: AccessRequest, actor: User, approve: bool, reason: str
) -> AccessRequest:
    """Approve or deny the open step; the final approval creates the grant."""
    decision = approvals.step_decide(
        chain=access_request.chain, actor=actor, approve=approve, reason=reason
    )
    access_request.chain = decision.chain
    if decision.final_approval:
        grant_create(access_request=access_request, actor=actor)
    return access_request


def access_request_withdraw(*, access_request: AccessRequest, actor: User) -> AccessRequest:
    access_request.chain = approvals.chain_withdraw(chain=access_request.chain, actor=actor)
    return access_request


GRANT_PERMISSIONS: dict[str, list[str]] = {
    AccessLevel.VIEW: ["view_records"],
    AccessLevel.EXPORT: ["view_records", "export_records"],
}


@transaction.atomic
def grant_create(*, access_request: AccessRequest, actor: User) -> AccessGrant:
    """Turn a fully approved request into a time-limited grant and its object permissions."""
    if hasattr(access_request, "grant"):
        raise ApplicationError("This request already has its grant.")
    grant = AccessGrant(
        user=access_request.requester,
        asset=access_request.asset,
        purpose=access_request.purpose,
        level=access_request.level,
        request=access_request,
        # Days are calendar days in the site's zone: "30 days" from 10:00 ends at 10:00.
        expires_at=add_calendar_days(timezone.now(), access_request.duration_days),
    )
    history_user_set(grant, actor)
    grant.save()
    for codename in GRANT_PERMISSIONS[grant.level]:
        assign_perm(f"customers.{codename}", grant.user, grant.asset)
    audit_record(
        actor=actor,
        action=AuditAction.GRANT_CREATE,
        target=grant,
        asset_id=grant.asset_id,
        detail={
            "user": grant.user.get_username(),
            "purpose": grant.purpose.key,
            "level": grant.level,
            "expires_at": grant.expires_at.isoformat(),
        },
    )
    notify(
        users=[grant.user],
        kind="grant_created",
        context={"grant": grant},
        target=grant,
    )
    return grant


def _remove_unneeded_permissions(grant: AccessGrant) -> None:
    """Remove the grant's object permissions unless another active grant still needs them."""
    others = active_grants().filter(user=grant.user, asset=grant.asset).exclude(pk=grant.pk)
    for codename in GRANT_PERMISSIONS[grant.level]:
        levels = [lvl for lvl, names in GRANT_PERMISSIONS.items() if codename in names]
        if not others.filter(level__in=levels).exists():
            remove_perm(f"customers.{codename}", grant.user, grant.asset)


@transaction.atomic
def grant_revoke(*, grant: AccessGrant, actor: User, reason: str) -> AccessGrant:
    """The asset's owner or compliance ends a grant now, with a reason."""
    policies.require_may_revoke_grant(actor, grant)
    reason = clean_reason(reason, what="the reason for revoking this grant")
    grant = AccessGrant.objects.select_for_update().select_related("asset", "user").get(pk=grant.pk)
    if grant.revoked_at:
        raise ApplicationError("This grant is already revoked.")
    grant.revoked_at, grant.revoked_by, grant.revoke_reason = timezone.now(), actor, reason
    save_with_history(
        grant,
        actor=actor,
        reason=f"Revoked: {reason}",
        update_fields=["revoked_at", "revoked_by", "revoke_reason"],
    )
    _remove_unneeded_permissions(grant)
    audit_record(
        actor=actor,
        action=AuditAction.GRANT_REVOKE,
        target=grant,
        asset_id=grant.asset_id,
        detail={"user": grant.user.get_username(), "reason": reason},
    )
    notify(
        users=[grant.user],
        kind="grant_revoked",
        context={"grant": grant, "actor": actor, "reason": reason},
        link=reverse("customers:grant_list"),
        target=grant,
    )
    return grant


def grants_expire(*, now: datetime | None = None) -> int:
    """Beat job: close the grants past their expiry (permissions removed, grantee told,
    audited). Idempotent; reads never wait for it, they check the expiry themselves."""
    now = now or timezone.now()
    done = 0
    due = AccessGrant.objects.filter(
        revoked_at__isnull=True, expires_at__lte=now, expiry_processed=False
    ).values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            grant = (
                AccessGrant.objects.select_for_update().select_related("asset", "user").get(pk=pk)
            )
            if grant.expiry_processed or grant.revoked_at:
                continue
            grant.expiry_processed = True
            save_with_history(
                grant,
                actor=None,  # the system: the expiry job
                reason="Expired: the expiry job removed its permissions.",
                update_fields=["expiry_processed"],
            )
            _remove_unneeded_permissions(grant)
            audit_record(
                actor=None,
                action=AuditAction.GRANT_EXPIRE,
                target=grant,
                asset_id=grant.asset_id,
                detail={"user": grant.user.get_username(), "expired_at": str(grant.expires_at)},
            )
            notify(
                users=[grant.user],
                kind="grant_expired",
                context={"grant": grant},
                link=reverse("customers:grant_list"),
                target=grant,
            )
            done += 1
    return done


def grants_remind_expiring(*, now: datetime | None = None) -> int:
    """Beat job: remind each grantee once, three days before the grant expires."""
    now = now or timezone.now()
    due = (
        active_grants(now)
        .filter(
            expires_at__lte=add_calendar_days(now, EXPIRY_REMINDER_DAYS),
            expiry_reminder_sent_at__isnull=True,
        )
        .select_related("asset", "user")
    )
    sent = 0
    for grant in due:
        with transaction.atomic():
            claimed = AccessGrant.objects.filter(
                pk=grant.pk, expiry_reminder_sent_at__isnull=True
            ).update(expiry_reminder_sent_at=now)
            if not claimed:
                continue
            notify(
                users=[grant.user],
                kind="grant_expiring",
                context={"grant": grant},
                link=reverse("customers:grant_list"),
                target=grant,
            )
            sent += 1
    return sent


@dataclass(frozen=True)
class ExportBatch:
    export_id: str
    columns: list[str]
    rows: object  # a queryset of dicts, streamed by the caller
    count: int

    @property
    def filename(self) -> str:
        return f"export-{self.export_id}.csv"


def records_viewed(*, grant: AccessGrant, actor: User, page_number: int, shown: int) -> None:
    """Every page of records read through a grant is an audit event with the count shown."""
    audit_record(
        actor=actor,
        action=AuditAction.RECORDS_VIEW,
        target=grant,
        asset_id=grant.asset_id,
        detail={"purpose": grant.purpose.key, "page": page_number, "shown": shown},
    )


def grant_export_start(*, grant: AccessGrant, actor: User) -> ExportBatch:
    """Open an export through an ``export`` grant: the eligible customers at this moment,
    only the columns of the asset's categories, under a new export id recorded in the audit
    trail with the row count and in the export ledger (``Export``, with the customers it
    carries as ``ExportedCustomer`` rows), in one transaction. The caller streams ``rows``."""
    if grant.level != AccessLevel.EXPORT:
        raise NotAllowed("This grant allows viewing only, not exporting.")
    columns, _ = grant_records(grant)
    export_id = uuid.uuid4().hex
    with transaction.atomic():
        # Which customers the export carried, so a customer's footprint names
        # exactly the exports that included them; the count is the number recorded.
        count = _record_exported_customers(grant=grant, export_id=export_id)
        event = audit_record(
            actor=actor,
            action=AuditAction.EXPORT_DOWNLOAD,
            target=grant,
            asset_id=grant.asset_id,
            detail={
                "export_id": export_id,
                "rows": count,
                "columns": columns,
                "purpose": grant.purpose.key,
                "customers_recorded": True,
            },
        )
        Export.objects.record(event=event, grant=grant, columns=columns, customers_recorded=True)
    # The file streams exactly the customers recorded above: the audited count, the
    # footprints and the file agree even if a consent changes while the export runs.
    rows = (
        Customer.objects.filter(
            pk__in=ExportedCustomer.objects.filter(export_id=export_id).values("customer_id")
        )
        .order_by("id")
        .values(*columns)
    )
    return ExportBatch(export_id=export_id, columns=columns, rows=rows, count=count)


def _record_exported_customers(*, grant: AccessGrant, export_id: str) -> int:
    """One ``ExportedCustomer`` row per customer of the export, written by the database in
    one INSERT ... SELECT over the same eligible set the file streams (no ids travel to
    Python, so a 100,000-row export costs one statement). Returns how many."""
    eligible = eligible_customers(grant.asset, grant.purpose).order_by().values("pk")
    select_sql, params = eligible.query.sql_with_params()
    table = connection.ops.quote_name(ExportedCustomer._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (export_id, grant_id, customer_id, exported_at) "  # noqa: S608
            f"SELECT %s, %s, eligible.pk, %s FROM ({select_sql}) eligible",
            [export_id, grant.pk, adapt(timezone.now()), *params],
        )
        return cursor.rowcount


# --- Data subject requests and retention -----------------------------------------------

MAX_EXTENSION_MONTHS = 2  # Art. 12(3): "extended by two further months" (three in total)
REMINDER_DAYS: dict[str, int] = {ReminderKind.DUE_IN_7: 7, ReminderKind.DUE_IN_2: 2}
REMINDER_ACTIONS = {
    ReminderKind.DUE_IN_7: AuditAction.SUBJECT_REQUEST_DUE_IN_7,
    ReminderKind.DUE_IN_2: AuditAction.SUBJECT_REQUEST_DUE_IN_2,
    ReminderKind.OVERDUE: AuditAction.SUBJECT_REQUEST_OVERDUE,
}


def memberships_remove(*, memberships: QuerySet[AssetCustomer], actor: User, reason: str) -> int:
    """Remove customers from assets, leaving one removal row in the membership history for
    each (who, when, why): the footprint and the asset's history still show that the asset
    held them, and until when. Two statements per 2,000 rows, whatever the size.

    The assets are locked before their rows are read, and only the locked assets' rows are
    removed in a round; a membership another transaction committed meanwhile in a further
    asset is taken in the next round, under that asset's lock (each count stays exact)."""
    removed = 0
    while asset_ids := sorted(
        set(memberships.order_by().values_list("asset_id", flat=True).distinct())
    ):
        _lock_assets(asset_ids)
        rows = list(memberships.filter(asset_id__in=asset_ids).select_for_update())
        _delete_with_history(rows, actor=actor, reason=reason)
        _memberships_changed(asset_ids)
        removed += len(rows)
    return removed


def _delete_with_history(rows: list[AssetCustomer], *, actor: User | None, reason: str) -> None:
    now = timezone.now()
    History = AssetCustomer.history.model
    History.objects.bulk_create(
        [
            History(
                id=row.pk,
                asset_id=row.asset_id,
                customer_id=row.customer_id,
                added_at=row.added_at,
                history_date=now,
                history_type="-",
                history_user=actor if getattr(actor, "is_authenticated", False) else None,
                history_change_reason=change_reason(reason),
            )
            for row in rows
        ],
        batch_size=2000,
    )
    # Raw DELETE: the ORM's delete() would make simple-history write a second removal row
    # per membership, one query each, without the reason.
    table = connection.ops.quote_name(AssetCustomer._meta.db_table)
    ids = [row.pk for row in rows]
    with connection.cursor() as cursor:
        for start in range(0, len(ids), 2000):
            chunk = ids[start : start + 2000]
            placeholders = ", ".join(["%s"] * len(chunk))
            cursor.execute(f"DELETE FROM {table} WHERE id IN ({placeholders})", chunk)  # noqa: S608


@transaction.atomic
def subject_request_create(
    *,
    actor: User,
    type: str,  # noqa: A002 - the GDPR word, and the API field
    customer: Customer,
    identity_verification: str,
    received_on: date | None = None,
    received_via: str = ReceivedVia.EMAIL,
    purposes: Iterable = (),
    notes: str = "",
) -> DataSubjectRequest:
    """Register a data subject request whose requester's identity has been verified.

    Guarantees: nothing is created without a description of the identity check (work
    must not start before it); the due date is one month after receipt; an erasure gets one
    task per owner of the assets holding the customer (each owner notified); an objection
    records, through the consent service, a withdrawal of each purpose objected to,
    effective at once in every grant and export, and is then answered.
    """
    roles.require_compliance(actor, "register a data subject request")
    if type not in SubjectRequestType.values:
        raise ApplicationError(f"Unknown request type {type!r}.", field="type")
    if received_via not in ReceivedVia.values:
        raise ApplicationError(f"Unknown channel {received_via!r}.", field="received_via")
    identity_verification = clean_reason(
        identity_verification,
        field="identity_verification",
        message="Say how the requester's identity was verified before any work starts "
        f"(at least {MIN_REASON_LENGTH} characters, e.g. 'passport checked at the desk').",
    )
    today = timezone.localdate()
    received_on = received_on or today
    if received_on > today:
        raise ApplicationError("The request cannot be received in the future.", field="received_on")
    require_date_between(
        received_on,
        field="received_on",
        earliest=EARLIEST_EVENT,
        latest=today,
        what="The day the request was received",
    )
    purposes = list(purposes)
    if type == SubjectRequestType.OBJECTION:
        if not purposes:
            raise ApplicationError("Name the purposes the customer objects to.", field="purposes")
        for purpose in purposes:
            if purpose.lawful_basis in (LawfulBasis.CONTRACT, LawfulBasis.LEGAL_OBLIGATION):
                raise ApplicationError(
                    f"{purpose.key} rests on {LawfulBasis(purpose.lawful_basis).label.lower()}"
                    ": an objection (Art. 21) covers consent, legitimate interest and direct "
                    "marketing only.",
                    field="purposes",
                )
    elif purposes:
        raise ApplicationError("Purposes are given with an objection only.", field="purposes")

    now = timezone.now()
    subject_request = DataSubjectRequest(
        type=type,
        customer=customer,
        received_on=received_on,
        received_via=received_via,
        identity_verification=identity_verification,
        verified_by=actor,
        verified_at=now,
        due_on=subject_request_due_date(received_on),
        notes=(notes or "").strip(),
        created_by=actor,
    )
    history_user_set(subject_request, actor)
    subject_request.save()
    subject_request.purposes.set(purposes)
    audit_record(
        actor=actor,
        action=AuditAction.SUBJECT_REQUEST_CREATE,
        target=subject_request,
        detail={
            "type": type,
            "customer": customer.pk,
            "received_on": received_on,
            "due_on": subject_request.due_on,
            "purposes": [purpose.key for purpose in purposes],
        },
    )
    if type == SubjectRequestType.ERASURE:
        _erasure_tasks_create(subject_request=subject_request, actor=actor)
    elif type == SubjectRequestType.OBJECTION:
        _objection_apply(subject_request=subject_request, actor=actor, purposes=purposes)
    return subject_request


def _erasure_tasks_create(*, subject_request: DataSubjectRequest, actor: User) -> list[ErasureTask]:
    """One task per owner of an asset holding the customer and not yet given a task."""
    holding = (
        DataAsset.objects.filter(memberships__customer_id=subject_request.customer_id)
        .select_related("owner")
        .order_by("name")
    )
    have_task = set(subject_request.erasure_tasks.values_list("owner_id", flat=True))
    covered = set(
        ErasureTask.assets.through.objects.filter(erasuretask__request=subject_request).values_list(
            "dataasset_id", flat=True
        )
    )
    by_owner: dict[int, list[DataAsset]] = {}
    for asset in holding:
        if asset.pk not in covered:
            by_owner.setdefault(asset.owner_id, []).append(asset)
    created = []
    for owner_id, assets in by_owner.items():
        owner = assets[0].owner
        if owner_id in have_task:
            # The owner's task exists but the customer turned up in another of their
            # assets: the task covers it too, and is no longer confirmed.
            task = subject_request.erasure_tasks.select_for_update().get(owner_id=owner_id)
            task.confirmed_at = task.confirmed_by = None
            history_user_set(task, actor)
            task.save(update_fields=["confirmed_at", "confirmed_by"])
        else:
            task = ErasureTask(request=subject_request, owner=owner)
            history_user_set(task, actor)
            task.save()
        task.assets.add(*assets)
        created.append(task)
        names = ", ".join(asset.name for asset in assets)
        audit_record(
            actor=actor,
            action=AuditAction.ERASURE_TASK_CREATE,
            target=task,
            detail={"request": subject_request.pk, "owner": owner.get_username(), "assets": names},
        )
        notify(
            users=[owner],
            kind="erasure_task",
            context={"subject_request": subject_request, "names": names},
            link=reverse("customers:erasure_task_list"),
            target=task,
        )
    return created


def _objection_apply(
    *, subject_request: DataSubjectRequest, actor: User, purposes: Iterable[Purpose]
) -> None:
    for purpose in purposes:
        consent_record(
            actor=actor,
            customer=subject_request.customer,
            purpose=purpose,
            status="withdrawn",
            source=OBJECTION_SOURCE.get(subject_request.received_via, "email"),
            evidence=subject_request.reference,
        )
    _close(
        subject_request,
        actor=actor,
        response="Withdrawal recorded for " + ", ".join(p.key for p in purposes) + ".",
    )


# The consent record's source for each channel a request arrives by (letters and visits
# are recorded as e-mail: written, signed correspondence).
OBJECTION_SOURCE = {"web_form": "web_form", "phone": "phone"}


def _close(subject_request: DataSubjectRequest, *, actor: User | None, response: str) -> None:
    subject_request.status = SubjectRequestStatus.CLOSED
    subject_request.closed_at = timezone.now()
    subject_request.closed_by = actor if getattr(actor, "is_authenticated", False) else None
    subject_request.response = response
    history_user_set(subject_request, subject_request.closed_by)
    subject_request.save(update_fields=["status", "closed_at", "closed_by", "response"])
    audit_record(
        actor=actor,
        action=AuditAction.SUBJECT_REQUEST_CLOSE,
        target=subject_request,
        detail={"type": subject_request.type, "response": response},
    )


def _lock(subject_request: DataSubjectRequest) -> DataSubjectRequest:
    locked = DataSubjectRequest.objects.select_for_update().get(pk=subject_request.pk)
    if not locked.is_open:
        raise ApplicationError(f"{locked.reference} is already closed.")
    return locked


@transaction.atomic
def subject_request_extend(
    *, actor: User, subject_request: DataSubjectRequest, months: int, reason: str
) -> DataSubjectRequest:
    """Extend the deadline by one or two months, with the reason the customer is told
    (Art. 12(3): complexity or number of requests); never beyond three months in total."""
    roles.require_compliance(actor, "extend a data subject request")
    reason = clean_reason(
        reason,
        field="reason",
        message="Give the reason for the extension (the customer must be told why).",
    )
    subject_request = _lock(subject_request)
    if not isinstance(months, int) or months < 1:
        raise ApplicationError("Extend by one or two months.", field="months")
    total = subject_request.extension_months + months
    if total > MAX_EXTENSION_MONTHS:
        raise ApplicationError(
            "A request may be extended by two months at most (three months in total); "
            f"{subject_request.extension_months} already used.",
            field="months",
        )
    before = subject_request.due_on
    subject_request.extension_months = total
    subject_request.due_on = subject_request_due_date(subject_request.received_on, total)
    subject_request.extension_reason = "\n".join(
        filter(None, [subject_request.extension_reason, reason])
    )
    save_with_history(
        subject_request,
        actor=actor,
        reason=reason,
        update_fields=["extension_months", "due_on", "extension_reason"],
    )
    audit_record(
        actor=actor,
        action=AuditAction.SUBJECT_REQUEST_EXTEND,
        target=subject_request,
        detail={"from": before, "to": subject_request.due_on, "reason": reason},
    )
    return subject_request


@transaction.atomic
def subject_request_close(
    *, actor: User, subject_request: DataSubjectRequest, response: str
) -> DataSubjectRequest:
    """Answer a request. An access request needs its report produced first; an erasure
    closes only when every owner has confirmed (and then removes the customer from every
    asset in the portal); objections are answered when registered."""
    roles.require_compliance(actor, "close a data subject request")
    response = clean_reason(
        response, field="response", message="Say what the customer was told (a sentence)."
    )
    subject_request = _lock(subject_request)
    if subject_request.type == SubjectRequestType.ACCESS and not (
        subject_request.report_generated_at
    ):
        raise ApplicationError("Produce the access report before answering the request.")
    if subject_request.type == SubjectRequestType.ERASURE:
        pending = _waiting_owners(subject_request)
        if pending:
            raise ApplicationError(
                "Waiting for the owners to confirm the erasure: "
                + ", ".join(str(owner) for owner in pending)
                + "."
            )
        _erasure_try_finish(subject_request, actor=actor, response=response)
        return subject_request
    _close(subject_request, actor=actor, response=response)
    return subject_request


def _waiting_owners(subject_request: DataSubjectRequest) -> list:
    return [
        task.owner
        for task in subject_request.erasure_tasks.filter(confirmed_at__isnull=True)
        .select_related("owner")
        .order_by("id")
    ]


def _erasure_try_finish(subject_request: DataSubjectRequest, *, actor: User, response: str) -> bool:
    """Close an erasure whose tasks are all confirmed: the customer is removed from every
    asset in the portal. The caller holds the request's lock. Returns whether it closed.

    The customer may have been added to another asset since the tasks were made: its owner
    gets a task (or their task reopens) and the request stays open.
    """
    if _erasure_tasks_create(subject_request=subject_request, actor=actor):
        return False
    removed = memberships_remove(
        memberships=AssetCustomer.objects.filter(customer_id=subject_request.customer_id),
        actor=actor,
        reason=f"Erasure {subject_request.reference}",
    )
    audit_record(
        actor=actor,
        action=AuditAction.SUBJECT_REQUEST_ERASE,
        target=subject_request,
        detail={"customer": subject_request.customer_id, "memberships_removed": removed},
    )
    _close(subject_request, actor=actor, response=response)
    return True


@transaction.atomic
def erasure_task_confirm(*, actor: User, task: ErasureTask, note: str = "") -> ErasureTask:
    """The task's owner confirms the customer is deleted from their source systems. The
    last confirmation closes the request and removes the customer from the portal's assets."""
    task = ErasureTask.objects.select_for_update().select_related("request").get(pk=task.pk)
    policies.require_may_confirm_erasure(actor, task)
    subject_request = _lock(task.request)
    if task.confirmed_at:
        raise ApplicationError("You already confirmed this erasure.")
    task.confirmed_at, task.confirmed_by, task.note = timezone.now(), actor, (note or "").strip()
    history_user_set(task, actor)
    task.save(update_fields=["confirmed_at", "confirmed_by", "note"])
    audit_record(
        actor=actor,
        action=AuditAction.ERASURE_TASK_CONFIRM,
        target=task,
        detail={"request": subject_request.pk, "note": task.note},
    )
    if not _waiting_owners(subject_request) and _erasure_try_finish(
        subject_request,
        actor=actor,
        response="Erased: every owner confirmed the deletion from their systems.",
    ):
        notify(
            users=[subject_request.created_by],
            kind="subject_request_closed",
            context={"subject_request": subject_request},
            target=subject_request,
        )
    task.request = subject_request
    return task


@transaction.atomic
def subject_request_report(*, actor: User, subject_request: DataSubjectRequest) -> dict:
    """Produce the access report (everything the portal holds about the customer) and
    record that it was produced and by whom."""
    roles.require_compliance(actor, "produce an access report")
    subject_request = DataSubjectRequest.objects.select_for_update().get(pk=subject_request.pk)
    report = access_report(subject_request.customer)
    if subject_request.report_generated_at is None:
        subject_request.report_generated_at = timezone.now()
        history_user_set(subject_request, actor)
        subject_request.save(update_fields=["report_generated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.SUBJECT_REQUEST_REPORT,
        target=subject_request,
        detail={
            "customer": subject_request.customer_id,
            "assets": len(report["assets"]),
            "exports": len(report["exports"]),
        },
    )
    return report


def _reminder_due(subject_request: DataSubjectRequest, today: date) -> str | None:
    """The most urgent reminder the request has reached today, if any."""
    if today > subject_request.due_on:
        return ReminderKind.OVERDUE
    days_left = (subject_request.due_on - today).days
    for kind in (ReminderKind.DUE_IN_2, ReminderKind.DUE_IN_7):
        if days_left <= REMINDER_DAYS[kind]:
            return kind
    return None


def subject_requests_remind(*, today: date | None = None) -> int:
    """Beat job: remind 7 and 2 days before the due date, escalate to every compliance
    officer once overdue. Each (request, kind, due date) is sent once, recorded in
    ``SubjectRequestReminder`` under the request's lock; a job that ran late sends only the
    most urgent stage reached. Returns how many were sent."""
    today = today or timezone.localdate()
    horizon = today + timedelta(days=REMINDER_DAYS[ReminderKind.DUE_IN_7])
    due = DataSubjectRequest.objects.filter(
        status=SubjectRequestStatus.OPEN, due_on__lte=horizon
    ).values_list("pk", flat=True)
    sent = 0
    for pk in list(due):
        with transaction.atomic():
            subject_request = (
                DataSubjectRequest.objects.select_for_update().select_related("created_by")
            ).get(pk=pk)
            kind = _reminder_due(subject_request, today) if subject_request.is_open else None
            if (
                kind is None
                or subject_request.reminders.filter(
                    kind=kind, due_on=subject_request.due_on
                ).exists()
            ):
                continue
            SubjectRequestReminder.objects.create(
                request=subject_request,
                kind=kind,
                due_on=subject_request.due_on,
                sent_at=timezone.now(),
            )
            _send_reminder(subject_request, kind, today)
            sent += 1
    return sent


def _send_reminder(subject_request: DataSubjectRequest, kind: str, today: date) -> None:
    waiting_owners = [
        task.owner
        for task in subject_request.erasure_tasks.filter(confirmed_at__isnull=True).select_related(
            "owner"
        )
    ]
    if kind == ReminderKind.OVERDUE:
        users = [*roles.role_members(roles.COMPLIANCE), *waiting_owners]
    else:
        users = [subject_request.created_by, *waiting_owners]
    audit_record(
        actor=None,
        action=REMINDER_ACTIONS[ReminderKind(kind)],
        target=subject_request,
        detail={"due_on": subject_request.due_on},
    )
    notify(
        users=users,
        kind=f"subject_request_{kind}",
        context={
            "subject_request": subject_request,
            "waiting_owners": waiting_owners,
            "days": REMINDER_DAYS.get(kind),
            "days_late": (today - subject_request.due_on).days,
        },
        target=subject_request,
    )


# Retention ------------------------------------------------------------------------------

RETENTION_REMINDER_INTERVAL_DAYS = 7


@transaction.atomic
def asset_retention_extend(
    *, actor: User, asset: DataAsset, retention_date: date, reason: str
) -> DataAsset:
    """Set a new retention date, with the reason the data must be kept longer (in the
    asset's history and the audit trail).

    The date lies after today and at most ``FUTURE_YEARS`` years ahead. Only compliance
    may bring a date that has not passed forward: an owner who could would delete early by
    two steps what ``asset_retention_delete`` refuses in one."""
    policies.require_may_record_retention(actor, asset)
    reason = clean_reason(
        reason, field="reason", message="Give the reason the data must be kept longer."
    )
    if retention_date is None or retention_date <= timezone.localdate():
        raise ApplicationError(
            "The new retention date must be in the future.", field="retention_date"
        )
    require_ahead(retention_date, field="retention_date", what="The new retention date")
    asset = DataAsset.objects.select_for_update().get(pk=asset.pk)
    if asset.retired_at:
        raise ApplicationError("This asset's data was already deleted.")
    before = asset.retention_date
    if (
        before
        and retention_date < before
        and before >= timezone.localdate()
        and not roles.is_compliance(actor)
    ):
        raise ApplicationError(
            f"The data must be kept until {day_text(before)}. Only compliance can shorten a "
            "retention period.",
            field="retention_date",
        )
    asset.retention_date = retention_date
    save_with_history(
        asset, actor=actor, reason=reason, update_fields=["retention_date", "updated_at"]
    )
    audit_record(
        actor=actor,
        action=AuditAction.ASSET_RETENTION_CHANGE,
        target=asset,
        detail={"from": before, "to": retention_date, "reason": reason},
    )
    return asset


@transaction.atomic
def asset_retention_delete(*, actor: User, asset: DataAsset, reason: str) -> DataAsset:
    """Record that the asset's data was deleted at the end of its retention: the asset is
    retired and holds no customer in the portal any more (each removal in the membership
    history), so no grant reads and no export carries anyone from it.

    The retention date is how long the data must be kept (a contract, bookkeeping law): an
    owner records the deletion once it has passed (from the day after), or at any time for
    an asset with no retention date. Before it, only compliance records the deletion, when
    the law requires it early (an erasure the retention does not override, GDPR Art. 17(1)
    and (3)(b); a court order); its reason says which, and the audit event is marked
    ``early``. Raises ``NotAllowed`` for anyone else, ``ApplicationError`` when refused."""
    policies.require_may_record_retention(actor, asset)
    reason = clean_reason(
        reason, field="reason", message="Say how and where the data was deleted (a sentence)."
    )
    asset = DataAsset.objects.select_for_update().get(pk=asset.pk)
    if asset.retired_at:
        raise ApplicationError("This asset's data was already deleted.")
    early = bool(asset.retention_date and asset.retention_date >= timezone.localdate())
    if early and asset.retention_date and not roles.is_compliance(actor):
        raise ApplicationError(
            f"The data of {asset.name} must be kept until {day_text(asset.retention_date)} "
            "(its retention date). Record the deletion after that date; if the law requires "
            "deleting it earlier (an erasure request, a court order), ask compliance to record "
            "it."
        )
    removed = memberships_remove(
        memberships=AssetCustomer.objects.filter(asset=asset), actor=actor, reason=reason
    )
    asset.retired_at, asset.retired_by = timezone.now(), actor
    save_with_history(
        asset, actor=actor, reason=reason, update_fields=["retired_at", "retired_by", "updated_at"]
    )
    audit_record(
        actor=actor,
        action=AuditAction.ASSET_RETENTION_DELETE,
        target=asset,
        detail={
            "retention_date": asset.retention_date,
            "early": early,
            "removed": removed,
            "reason": reason,
        },
    )
    return asset


def retention_remind(*, today: date | None = None) -> int:
    """Beat job: remind the owner of each asset past its retention date, once a week, until
    they record the deletion or a new date. What was sent is recorded (``RetentionReminder``),
    so running the job again the same week sends nothing. Returns how many were sent."""
    today = today or timezone.localdate()
    since = today - timedelta(days=RETENTION_REMINDER_INTERVAL_DAYS - 1)
    sent = 0
    for pk in list(assets_past_retention(today=today).values_list("pk", flat=True)):
        with transaction.atomic():
            asset = DataAsset.objects.select_for_update().select_related("owner").get(pk=pk)
            if asset.retired_at or not asset.retention_date or asset.retention_date >= today:
                continue
            recent = RetentionReminder.objects.filter(
                asset=asset, retention_date=asset.retention_date, sent_on__gte=since
            )
            if recent.exists():
                continue
            RetentionReminder.objects.create(
                asset=asset, retention_date=asset.retention_date, sent_on=today
            )
            notify(
                users=[asset.owner],
                kind="retention_past",
                context={"asset": asset},
                link=reverse("customers:retention_list"),
                target=asset,
            )
            sent += 1
    return sent
