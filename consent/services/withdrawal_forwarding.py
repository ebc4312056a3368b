"""GDPR Art. 19: when a customer withdraws consent, every recipient that received their data for
that purpose is told, and the forwarding is recorded."""

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from consent import policies
from consent.models import (
    SHARING_PURPOSE_KEY,
    ConsentRecord,
    ConsentStatus,
    Purpose,
    SharingPackageCustomer,
    SharingRequest,
    SharingWithdrawal,
    key_and_ancestors,
)
from consent.selectors import consent_granted
from consent.sharing_selectors import sharing_purpose
from customers.models.catalogue import Customer
from portal import roles
from portal.audit import audit_record
from portal.audit_actions import AuditAction
from portal.errors import ApplicationError
from portal.history import history_user_set
from portal.input_limits import one_line
from portal.models import User
from portal.notifications import notify
from portal.reasons import MIN_REASON_LENGTH, clean_reason

# Customer ids named in one withdrawal notification; the page lists them all.
IDS_IN_NOTIFICATION = 20


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


def _withdrawals_by_customer(records: Iterable[ConsentRecord]) -> dict[int, list[ConsentRecord]]:
    """The withdrawn records among ``records``, by customer id."""
    withdrawals: dict[int, list[ConsentRecord]] = {}
    for record in records:
        if record.status == ConsentStatus.WITHDRAWN:
            withdrawals.setdefault(record.customer_id, []).append(record)
    return withdrawals


def _forwarding_candidates(
    withdrawals: dict[int, list[ConsentRecord]], memberships: list[SharingPackageCustomer]
) -> list[tuple[SharingPackageCustomer, ConsentRecord]]:
    """Each package membership with the latest withdrawal that covers its purpose, unless
    that customer is already waiting to be forwarded on that package."""
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
    return candidates


def _withdrawals_to_forward(
    candidates: list[tuple[SharingPackageCustomer, ConsentRecord]],
) -> list[SharingWithdrawal]:
    """Unsaved withdrawals for the candidates whose current state no longer allows the
    sharing (a withdrawal that changes nothing, an older record, adds nothing)."""
    by_purpose: dict[int, set[int]] = {}
    for membership, _record in candidates:
        purpose = membership.package.request.purpose
        by_purpose.setdefault(purpose.pk, set()).add(membership.customer_id)
    still = {
        purpose_id: _still_shareable(ids, Purpose.objects.get(pk=purpose_id))
        for purpose_id, ids in by_purpose.items()
    }
    return [
        SharingWithdrawal(package=membership.package, customer_id=record.customer_id, record=record)
        for membership, record in candidates
        if membership.customer_id not in still[membership.package.request.purpose_id]
    ]


def _announce_withdrawals(rows: list[SharingWithdrawal]) -> None:
    """Per package: one audit event and one notification to the requester and compliance."""
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
    withdrawals = _withdrawals_by_customer(records)
    if not withdrawals:
        return 0
    memberships = list(
        SharingPackageCustomer.objects.filter(customer_id__in=list(withdrawals)).select_related(
            "package__request__purpose", "package__request__asset", "package__request__requester"
        )
    )
    if not memberships:
        return 0
    rows = _withdrawals_to_forward(_forwarding_candidates(withdrawals, memberships))
    if not rows:
        return 0
    bulk_create_with_history(rows, SharingWithdrawal, default_user=None)
    _announce_withdrawals(rows)
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
        raise ApplicationError(_("This withdrawal is already marked forwarded."))
    note = clean_reason(
        one_line(note),
        field="note",
        message=_("Say how the recipient was told (at least %(min)s characters).")
        % {"min": MIN_REASON_LENGTH},
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
