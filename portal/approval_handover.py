"""Approval steps and requests that change hands: an asset's owner changes (its owner
steps move to the new owner), or a person leaves (their pending requests are withdrawn and
the owner steps they hold go to compliance). The rest of the engine is ``portal.approvals``.
"""

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from portal import approvals
from portal.audit import audit_record
from portal.audit_actions import AuditAction
from portal.history import save_with_history
from portal.models import (
    ApprovalChain,
    ApprovalRole,
    ApprovalStep,
    ChainStatus,
    StepStatus,
    User,
)


@transaction.atomic
def owner_steps_reassign(
    *, chains: QuerySet[ApprovalChain], old_owner: User, new_owner: User, actor: User, reason: str
) -> int:
    """Hand the undecided owner steps of the pending ``chains`` from ``old_owner`` to
    ``new_owner`` (the asset they ask for changed owner); returns how many moved.

    As ``chain_start`` decides: when ``new_owner`` is the requester, compliance takes the
    step instead. Each moved step keeps its history (who, the reason), is an audit event
    ``approval.reassign``, and an open one is announced to its new deciders. Decided steps
    stay as they were: a decision is not undone by a change of owner.
    """
    # Lock the chains first, as step_decide does: a decision racing this move waits for it,
    # then finds the step's new approver.
    chain_ids = list(
        ApprovalChain.objects.select_for_update()
        .filter(pk__in=chains.values("pk"), status=ChainStatus.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    steps = ApprovalStep.objects.filter(
        chain_id__in=chain_ids,
        role=ApprovalRole.OWNER,
        approver=old_owner,
        status__in=[StepStatus.OPEN, StepStatus.WAITING],
    ).select_related("chain")
    moved = 0
    for step in steps:
        _owner_step_move(step, old_owner=old_owner, new_owner=new_owner, actor=actor, reason=reason)
        moved += 1
    return moved


@transaction.atomic
def owner_steps_hand_over(*, approver: User, actor: User | None, reason: str) -> list[int]:
    """Hand the undecided owner steps ``approver`` holds (the data owner is leaving) to
    compliance, who decide an owner's step whenever the owner cannot (design.md), and tell
    the compliance officers who may decide each open one. Each move is an audit event
    ``approval.reassign`` with ``reason``. Returns the ids of the chains whose step moved,
    none the second time. Source: segregation of duties, as ``chain_start`` applies it."""
    undecided = [StepStatus.OPEN, StepStatus.WAITING]
    held = ApprovalStep.objects.filter(
        role=ApprovalRole.OWNER, approver=approver, status__in=undecided
    )
    # Locked first, as step_decide locks them: a decision racing the move waits for it.
    chain_ids = list(
        ApprovalChain.objects.select_for_update()
        .filter(pk__in=held.values("chain_id"), status=ChainStatus.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    steps = held.filter(chain_id__in=chain_ids).select_related("chain")
    moved = []
    for step in steps.order_by("chain_id", "position"):
        _owner_step_move(step, old_owner=approver, new_owner=None, actor=actor, reason=reason)
        moved.append(step.chain_id)
    return moved


def _owner_step_move(
    step: ApprovalStep, *, old_owner: User, new_owner: User | None, actor: User | None, reason: str
) -> None:
    """Give the owner ``step`` to ``new_owner``, or to compliance when that is ``None`` or
    the requester; history, audit event ``approval.reassign``, its deciders told if open."""
    if new_owner is None or step.chain.requester_id == new_owner.pk:
        step.role, step.replaces_owner, step.approver = ApprovalRole.COMPLIANCE, True, None
    else:
        step.approver = new_owner
    save_with_history(
        step, actor=actor, reason=reason, update_fields=["role", "replaces_owner", "approver"]
    )
    audit_record(
        actor=actor,
        action=AuditAction.APPROVAL_REASSIGN,
        target=step.chain,
        detail={
            "kind": step.chain.kind,
            "step": step.position,
            "from": old_owner.get_username(),
            "to": step.approver.get_username() if step.approver else ApprovalRole.COMPLIANCE,
            "reason": reason,
        },
    )
    if step.status == StepStatus.OPEN:
        approvals.notify_deciders(step)


@transaction.atomic
def chains_withdraw_for_leaver(*, requester: User, actor: User | None, reason: str) -> list[int]:
    """Withdraw every pending request of ``requester``, whose account is being deactivated
    (``portal.identity.leavers``): each is ended as the requester's own withdrawal would
    end it, with ``reason`` (at least 10 characters) in its history and audit event.
    ``actor`` is who deactivated the account (``None``: the directory). Returns the ids of
    the chains withdrawn, none the second time."""
    chains = ApprovalChain.objects.select_for_update().filter(
        requester=requester, status=ChainStatus.PENDING
    )
    ids = []
    for chain in chains.order_by("pk"):
        approvals.withdraw_locked(
            chain,
            actor=actor,
            why=_("Withdrawn: the requester left. %(reason)s") % {"reason": reason},
            detail={"reason": reason, "leaver": requester.get_username()},
        )
        ids.append(chain.pk)
    return ids
