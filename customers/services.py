"""Every write to customers and data assets."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm
from simple_history.utils import bulk_create_with_history

from consent.selectors import coverage_for
from customers.models import (
    AccessGrant,
    AccessLevel,
    AccessRequest,
    AssetCustomer,
    Classification,
    Customer,
    DataAsset,
)
from customers.selectors import access_alternatives, grant_records
from portal import approvals, roles
from portal.audit import audit_record
from portal.errors import ApplicationError, NotAllowed
from portal.models import ApprovalRole, ChainStatus
from portal.notifications import notify

MIN_REASON_LENGTH = 10


@transaction.atomic
def asset_create(
    *,
    actor,
    name: str,
    owner,
    description: str = "",
    source_system: str = "",
    retention_date: date | None = None,
    data_categories: Iterable = (),
    collected_for: Iterable = (),
    customers: Iterable[Customer] = (),
) -> DataAsset:
    """Register a data asset. It is ``confidential`` and unconfirmed whatever the caller
    says: only a compliance officer can confirm it or lower the class afterwards."""
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
    asset._history_user = actor
    asset.save()
    asset.data_categories.set(list(data_categories))
    asset.collected_for.set(list(collected_for))
    asset_add_customers(asset=asset, actor=actor, customers=customers)
    return asset


def asset_add_customers(*, asset: DataAsset, actor, customers: Iterable[Customer]) -> int:
    """Add customers to an asset in batches, with history; present ones are left alone."""
    present = set(AssetCustomer.objects.filter(asset=asset).values_list("customer_id", flat=True))
    rows = [
        AssetCustomer(asset=asset, customer=customer)
        for customer in customers
        if customer.pk not in present
    ]
    bulk_create_with_history(rows, AssetCustomer, batch_size=2000, default_user=actor)
    return len(rows)


@transaction.atomic
def asset_classify(*, asset: DataAsset, actor, classification: str, reason: str) -> DataAsset:
    """Confirm or change an asset's classification.

    Only a member of Compliance may, always with a written reason; the change and its reason
    are in the asset's history with who made it.
    """
    if not roles.is_compliance(actor):
        raise NotAllowed("Only a compliance officer can confirm or change a classification.")
    if classification not in Classification.values:
        raise ApplicationError(
            f"Unknown classification {classification!r}.", field="classification"
        )
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise ApplicationError(
            "Give the reason for this classification (a sentence, at least "
            f"{MIN_REASON_LENGTH} characters).",
            field="reason",
        )
    # Lock the row: two officers classifying at once must not interleave their writes.
    asset = DataAsset.objects.select_for_update().get(pk=asset.pk)
    before = {"classification": asset.classification, "confirmed": asset.classification_confirmed}
    asset.classification = classification
    asset.classification_confirmed = True
    asset.classification_reason = reason
    asset.classified_by = actor
    asset.classified_at = timezone.now()
    asset._history_user = actor
    asset._change_reason = reason
    asset.save()
    audit_record(
        actor=actor,
        action="asset.classification_change",
        target=asset,
        detail={"from": before, "to": classification, "reason": reason},
    )
    return asset


# --- Access requests and grants --------------------------------------------------------

MIN_JUSTIFICATION_LENGTH = 20
MIN_JUSTIFICATION_WORDS = 4
MAX_DURATION_DAYS = 90
EXPIRY_REMINDER_DAYS = 3

# design.md: the approval chain by (effective) classification.
CHAIN_BY_CLASSIFICATION = {
    Classification.PUBLIC: [ApprovalRole.OWNER],
    Classification.INTERNAL: [ApprovalRole.OWNER],
    Classification.CONFIDENTIAL: [ApprovalRole.OWNER, ApprovalRole.COMPLIANCE],
    Classification.RESTRICTED: [ApprovalRole.OWNER, ApprovalRole.COMPLIANCE, ApprovalRole.LEGAL],
}


class CoverageRefusal(ApplicationError):
    """Nobody in the asset may be used for the purpose: refused at once, with what would
    work instead (``extra["alternatives"]``)."""


def clean_justification(text: str) -> str:
    """At least a sentence of real text: 20 characters and four words, not one repeated
    character."""
    text = " ".join((text or "").split())
    letters = [ch for ch in text.lower() if ch.isalnum()]
    if (
        len(text) < MIN_JUSTIFICATION_LENGTH
        or len(text.split()) < MIN_JUSTIFICATION_WORDS
        or len(set(letters)) < 5
    ):
        raise ApplicationError(
            "Explain the business need in at least a sentence "
            f"({MIN_JUSTIFICATION_LENGTH} characters, {MIN_JUSTIFICATION_WORDS} words).",
            field="justification",
        )
    return text


def refusal_sentence(asset: DataAsset, purpose, coverage) -> str:
    if coverage.total == 0:
        return f"{asset.name} holds no customers, so there is nothing to grant."
    count = "the one customer" if coverage.total == 1 else f"the {coverage.total:,} customers"
    verb = "agreed to" if purpose.needs_consent else "may be used for"
    return f"None of {count} in {asset.name} {verb} {purpose.key}."


def access_request_create(
    *,
    actor,
    asset: DataAsset,
    purpose,
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
            action="access_request.refused",
            target=asset,
            detail={"purpose": purpose.key, "total": coverage.total, "reason": message},
        )
        raise CoverageRefusal(
            message, extra={"alternatives": access_alternatives(actor, asset, purpose)}
        )

    with transaction.atomic():
        classification = asset.effective_classification
        chain = approvals.chain_start(
            kind="access",
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
            action="access_request.create",
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
        approvals.chain_publish(
            chain, link=reverse("customers:request_detail", args=[access_request.pk])
        )
    return access_request


@transaction.atomic
def access_request_decide(
    *, access_request: AccessRequest, actor, approve: bool, reason: str
) -> AccessRequest:
    """Approve or deny the open step; the final approval creates the grant."""
    decision = approvals.step_decide(
        chain=access_request.chain, actor=actor, approve=approve, reason=reason
    )
    access_request.chain = decision.chain
    if decision.final_approval:
        grant_create(access_request=access_request, actor=actor)
    return access_request


def access_request_withdraw(*, access_request: AccessRequest, actor) -> AccessRequest:
    access_request.chain = approvals.chain_withdraw(chain=access_request.chain, actor=actor)
    return access_request


GRANT_PERMISSIONS = {
    AccessLevel.VIEW: ["view_records"],
    AccessLevel.EXPORT: ["view_records", "export_records"],
}


@transaction.atomic
def grant_create(*, access_request: AccessRequest, actor) -> AccessGrant:
    """Turn a fully approved request into a time-limited grant and its object permissions."""
    if hasattr(access_request, "grant"):
        raise ApplicationError("This request already has its grant.")
    grant = AccessGrant(
        user=access_request.requester,
        asset=access_request.asset,
        purpose=access_request.purpose,
        level=access_request.level,
        request=access_request,
        expires_at=timezone.now() + timedelta(days=access_request.duration_days),
    )
    grant._history_user = actor
    grant.save()
    for codename in GRANT_PERMISSIONS[grant.level]:
        assign_perm(f"customers.{codename}", grant.user, grant.asset)
    audit_record(
        actor=actor,
        action="grant.create",
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
        subject=f"Access granted: {grant.asset.name}",
        body=(
            f"You may use {grant.asset.name} for {grant.purpose.key} until "
            f"{grant.expires_at:%d %b %Y %H:%M} UTC. Only customers who are eligible for this "
            "purpose at the moment you read are shown."
        ),
        link=reverse("customers:grant_records", args=[grant.pk]),
        target=grant,
    )
    return grant


def _remove_unneeded_permissions(grant: AccessGrant) -> None:
    """Remove the grant's object permissions unless another active grant still needs them."""
    others = AccessGrant.objects.filter(
        user=grant.user,
        asset=grant.asset,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).exclude(pk=grant.pk)
    for codename in GRANT_PERMISSIONS[grant.level]:
        levels = [lvl for lvl, names in GRANT_PERMISSIONS.items() if codename in names]
        if not others.filter(level__in=levels).exists():
            remove_perm(f"customers.{codename}", grant.user, grant.asset)


def can_revoke(user, grant: AccessGrant) -> bool:
    return roles.is_compliance(user) or grant.asset.owner_id == user.pk


@transaction.atomic
def grant_revoke(*, grant: AccessGrant, actor, reason: str) -> AccessGrant:
    """The asset's owner or compliance ends a grant now, with a reason."""
    if not can_revoke(actor, grant):
        raise NotAllowed("Only the asset's owner or compliance can revoke a grant.")
    reason = (reason or "").strip()
    if len(reason) < approvals.MIN_REASON_LENGTH:
        raise ApplicationError("Give the reason for revoking this grant.", field="reason")
    grant = AccessGrant.objects.select_for_update().select_related("asset", "user").get(pk=grant.pk)
    if grant.revoked_at:
        raise ApplicationError("This grant is already revoked.")
    grant.revoked_at, grant.revoked_by, grant.revoke_reason = timezone.now(), actor, reason
    grant._history_user = actor
    grant.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    _remove_unneeded_permissions(grant)
    audit_record(
        actor=actor,
        action="grant.revoke",
        target=grant,
        asset_id=grant.asset_id,
        detail={"user": grant.user.get_username(), "reason": reason},
    )
    notify(
        users=[grant.user],
        kind="grant_revoked",
        subject=f"Access revoked: {grant.asset.name}",
        body=f"{actor} revoked your access to {grant.asset.name}: {reason}",
        link=reverse("customers:grant_list"),
        target=grant,
    )
    return grant


def grants_expire(*, now=None) -> int:
    """Beat job: close the grants past their expiry (permissions removed, grantee told,
    audited). Idempotent; reads never wait for it, they check the expiry themselves."""
    now = now or timezone.now()
    done = 0
    due = AccessGrant.objects.filter(
        revoked_at__isnull=True, expires_at__lte=now, expiry_processed=False
    ).values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            grant = AccessGrant.objects.select_for_update().select_related("asset", "user")
            grant = grant.get(pk=pk)
            if grant.expiry_processed or grant.revoked_at:
                continue
            grant.expiry_processed = True
            grant.save(update_fields=["expiry_processed"])
            _remove_unneeded_permissions(grant)
            audit_record(
                actor=None,
                action="grant.expire",
                target=grant,
                asset_id=grant.asset_id,
                detail={"user": grant.user.get_username(), "expired_at": str(grant.expires_at)},
            )
            notify(
                users=[grant.user],
                kind="grant_expired",
                subject=f"Access expired: {grant.asset.name}",
                body=f"Your access to {grant.asset.name} for {grant.purpose_id} has expired.",
                link=reverse("customers:grant_list"),
                target=grant,
            )
            done += 1
    return done


def grants_remind_expiring(*, now=None) -> int:
    """Beat job: remind each grantee once, three days before the grant expires."""
    now = now or timezone.now()
    due = AccessGrant.objects.filter(
        revoked_at__isnull=True,
        expires_at__gt=now,
        expires_at__lte=now + timedelta(days=EXPIRY_REMINDER_DAYS),
        expiry_reminder_sent_at__isnull=True,
    ).select_related("asset", "user")
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
                subject=f"Access ends soon: {grant.asset.name}",
                body=(
                    f"Your access to {grant.asset.name} ends on {grant.expires_at:%d %b %Y}. "
                    "Ask again if you still need it."
                ),
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


def records_viewed(*, grant: AccessGrant, actor, page_number: int, shown: int) -> None:
    """Every page of records read through a grant is an audit event with the count shown."""
    audit_record(
        actor=actor,
        action="records.view",
        target=grant,
        asset_id=grant.asset_id,
        detail={"purpose": grant.purpose.key, "page": page_number, "shown": shown},
    )


def grant_export_start(*, grant: AccessGrant, actor) -> ExportBatch:
    """Open an export through an ``export`` grant: the eligible customers at this moment,
    only the columns of the asset's categories, under a new export id recorded in the audit
    trail with the row count. The caller streams ``rows``."""
    if grant.level != AccessLevel.EXPORT:
        raise NotAllowed("This grant allows viewing only, not exporting.")
    columns, rows = grant_records(grant)
    count = rows.count()
    export_id = uuid.uuid4().hex
    audit_record(
        actor=actor,
        action="export.download",
        target=grant,
        asset_id=grant.asset_id,
        detail={
            "export_id": export_id,
            "rows": count,
            "columns": columns,
            "purpose": grant.purpose.key,
        },
    )
    return ExportBatch(export_id=export_id, columns=columns, rows=rows, count=count)
