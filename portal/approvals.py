"""The approval engine: steps, who may decide them, segregation of duties, locking,
the decision timeline and the notifications of each step.

Written once, for every kind of request. A kind's service (``access_request_create``,
``sharing_request_create``) says which roles its chain needs and acts on the outcome
(a grant, a package); everything about deciding lives here.

Segregation of duties (design.md): nobody decides a step of their own request, no person
decides two steps of one request, and when the requester owns the asset, compliance takes
the owner's step.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from portal import roles
from portal.audit import audit_record
from portal.audit_actions import AuditAction
from portal.errors import ApplicationError, NotAllowed
from portal.history import save_with_history, update_with_history
from portal.models import (
    ApprovalChain,
    ApprovalRole,
    ApprovalStep,
    ChainStatus,
    StepStatus,
)
from portal.notifications import notify
from portal.reasons import clean_reason

MIN_REASON_LENGTH = 5

ROLE_GROUP = {ApprovalRole.COMPLIANCE: roles.COMPLIANCE, ApprovalRole.LEGAL: roles.LEGAL}


@dataclass(frozen=True)
class StepSpec:
    role: str
    requirement: str = ""


@dataclass(frozen=True)
class Decision:
    step: ApprovalStep
    chain: ApprovalChain

    @property
    def final_approval(self) -> bool:
        return self.chain.status == ChainStatus.APPROVED


# --- reads -----------------------------------------------------------------------------


def deciders_for(step: ApprovalStep) -> QuerySet:
    """The active people who may decide ``step`` now, segregation of duties applied."""
    User = get_user_model()
    if step.role == ApprovalRole.OWNER:
        people = User.objects.filter(pk=step.approver_id)
    else:
        people = User.objects.filter(groups__name=ROLE_GROUP[step.role])
    already = ApprovalStep.objects.filter(chain_id=step.chain_id, decided_by__isnull=False)
    return (
        people.filter(is_active=True)
        .exclude(pk=step.chain.requester_id)
        .exclude(pk__in=already.values("decided_by"))
        .distinct()
    )


def why_not_decider(user, step: ApprovalStep) -> str:
    """Empty when ``user`` may decide ``step``; otherwise the reason, in people's words."""
    if step.status != StepStatus.OPEN:
        return "This step is not waiting for a decision."
    if user.pk == step.chain.requester_id:
        return "Nobody decides a step of their own request."
    if step.chain.steps.filter(decided_by=user).exclude(pk=step.pk).exists():
        return "You already decided a step of this request; another person must decide this one."
    if step.role == ApprovalRole.OWNER and user.pk != step.approver_id:
        return "This step is for the data owner."
    if step.role in ROLE_GROUP and ROLE_GROUP[step.role] not in roles.group_names(user):
        return f"This step is for {ROLE_GROUP[step.role]}."
    return ""


def open_steps_for(user) -> QuerySet[ApprovalStep]:
    """Open steps ``user`` may decide: the "waiting for me" list, of every kind."""
    mine = Q(role=ApprovalRole.OWNER, approver=user)
    groups = roles.group_names(user)
    for role, group in ROLE_GROUP.items():
        if group in groups:
            mine |= Q(role=role)
    decided_by_me = ApprovalStep.objects.filter(chain=OuterRef("chain"), decided_by=user)
    return (
        ApprovalStep.objects.filter(mine, status=StepStatus.OPEN)
        .exclude(chain__requester=user)
        .exclude(Exists(decided_by_me))
        .select_related("chain", "chain__requester")
        .order_by("chain__created_at", "chain_id")
    )


def waiting_chain_ids(user) -> dict[str, list[int]]:
    """Ids of the chains with a step ``user`` may decide now, oldest first, by kind.

    The requests of a kind are then read by these ids: as one statement (a join of the
    steps, or an IN subquery, with the requests and their related rows) PostgreSQL joined
    every waiting request with its rows before keeping a page, and spent 20 ms planning it
    (issue 11). A page showing several kinds reads the ids once and hands them on."""
    by_kind: dict[str, dict[int, None]] = {}
    for chain_id, kind in open_steps_for(user).values_list("chain_id", "chain__kind"):
        by_kind.setdefault(kind, {})[chain_id] = None
    return {kind: list(ids) for kind, ids in by_kind.items()}


class InChainOrder(Sequence):
    """The requests of ``chain_ids`` in that order, for a ``Paginator``: the count is the
    number of ids, and a page reads only the requests of its own chains (one query, plus
    the queryset's prefetches)."""

    def __init__(self, requests: QuerySet, chain_ids: list[int]):
        self.requests, self.chain_ids = requests, chain_ids

    def __len__(self) -> int:
        return len(self.chain_ids)

    def __getitem__(self, index):
        ids = self.chain_ids[index] if isinstance(index, slice) else [self.chain_ids[index]]
        by_chain = {r.chain_id: r for r in self.requests.filter(chain_id__in=ids)}
        found = [by_chain[chain_id] for chain_id in ids if chain_id in by_chain]
        return found if isinstance(index, slice) else found[0]


def steps_with_deciders() -> QuerySet[ApprovalStep]:
    """Steps in order with who may and who did decide them: what a request's row shows."""
    return ApprovalStep.objects.select_related("decided_by", "approver").order_by("position")


def timeline(chain: ApprovalChain) -> list[ApprovalStep]:
    return list(chain.steps.select_related("approver", "decided_by").order_by("position"))


# --- writes ----------------------------------------------------------------------------


def chain_start(
    *,
    kind: str,
    requester,
    owner,
    steps: Sequence[StepSpec],
    title: str,
    summary: str,
) -> ApprovalChain:
    """Create a pending chain with its steps, the first one open.

    Call inside the kind's transaction, then ``chain_publish`` once the kind's page exists.
    An owner step of a requester who owns the asset is decided by compliance instead.
    """
    chain = ApprovalChain.objects.create(
        kind=kind, requester=requester, title=title, summary=summary
    )
    rows = []
    for position, spec in enumerate(steps, start=1):
        role, replaces_owner, approver = spec.role, False, None
        if role == ApprovalRole.OWNER:
            if owner.pk == requester.pk:
                role, replaces_owner = ApprovalRole.COMPLIANCE, True
            else:
                approver = owner
        rows.append(
            ApprovalStep(
                chain=chain,
                position=position,
                role=role,
                approver=approver,
                replaces_owner=replaces_owner,
                requirement=spec.requirement,
                status=StepStatus.OPEN if position == 1 else StepStatus.WAITING,
            )
        )
    for row in rows:
        row.save()
    return chain


def chain_publish(chain: ApprovalChain, *, link: str) -> None:
    """Give the chain the address of its request's page and tell the first deciders."""
    chain.link = link
    chain.save(update_fields=["link"])
    _notify_deciders(chain.steps.get(status=StepStatus.OPEN))


def _notify_deciders(step: ApprovalStep) -> None:
    chain = step.chain
    notify(
        users=deciders_for(step),
        kind="approval_needed",
        subject=f"Approval needed: {chain.title}",
        body=(
            f"{chain.requester} asks: {chain.title}.\n{chain.summary}\n\n"
            f"Step {step.position}: {step.get_role_display()}. Decide in the portal: {chain.link}"
        ),
        link=chain.link,
        target=chain,
    )


def _locked_open_step(chain: ApprovalChain) -> tuple[ApprovalChain, ApprovalStep]:
    # Lock the chain, then re-read its state: two approvers deciding the same step at the
    # same moment queue here, and the second finds the step already decided.
    chain = ApprovalChain.objects.select_for_update().get(pk=chain.pk)
    if chain.status != ChainStatus.PENDING:
        raise ApplicationError(f"This request is already {chain.get_status_display().lower()}.")
    step = chain.steps.select_related("chain").get(status=StepStatus.OPEN)
    return chain, step


@transaction.atomic
def step_decide(
    *,
    chain: ApprovalChain,
    actor,
    approve: bool,
    reason: str,
    inputs: dict | None = None,
) -> Decision:
    """Approve or deny the open step of ``chain``.

    Guarantees: only a permitted decider decides (else ``NotAllowed``), each step is decided
    exactly once even under concurrent clicks, a denial ends the chain, the next step's
    deciders are notified, and the requester is told of every outcome.
    """
    chain, step = _locked_open_step(chain)
    refusal = why_not_decider(actor, step)
    if refusal:
        raise NotAllowed(refusal)
    reason = clean_reason(
        reason, minimum=MIN_REASON_LENGTH, message="Give a reason for your decision."
    )
    inputs = {key: value for key, value in (inputs or {}).items() if value not in ("", None)}
    if approve and step.requirement and not inputs.get(step.requirement):
        raise ApplicationError(
            f"This step needs {step.requirement.replace('_', ' ')} to be approved.",
            field=step.requirement,
        )
    now = timezone.now()
    step.status = StepStatus.APPROVED if approve else StepStatus.DENIED
    step.decided_by, step.decided_at, step.reason, step.inputs = actor, now, reason, inputs
    save_with_history(step, actor=actor, reason=f"{step.get_status_display()}: {reason}")

    next_step = chain.steps.filter(status=StepStatus.WAITING).order_by("position").first()
    if approve and next_step is not None:
        next_step.status = StepStatus.OPEN
        save_with_history(
            next_step,
            actor=actor,
            reason=f"Opened: step {step.position} approved.",
            update_fields=["status"],
        )
        _notify_deciders(next_step)
        outcome = f"Step {step.position} approved by {actor}; next: {next_step.get_role_display()}."
    else:
        chain.status = ChainStatus.APPROVED if approve else ChainStatus.DENIED
        chain.decided_at = now
        save_with_history(
            chain,
            actor=actor,
            reason=f"{chain.get_status_display()}: {reason}",
            update_fields=["status", "decided_at"],
        )
        update_with_history(
            chain.steps.filter(status=StepStatus.WAITING),
            actor=actor,
            reason=f"Cancelled: step {step.position} {step.status} by {actor}: {reason}",
            status=StepStatus.CANCELLED,
        )
        outcome = f"{'Approved' if approve else 'Denied'} by {actor}: {reason}"
    audit_record(
        actor=actor,
        action=AuditAction.APPROVAL_APPROVE if approve else AuditAction.APPROVAL_DENY,
        target=chain,
        detail={"kind": chain.kind, "step": step.position, "role": step.role, "reason": reason},
    )
    notify(
        users=[chain.requester],
        kind="request_decided" if chain.status != ChainStatus.PENDING else "request_progress",
        subject=f"Your request: {chain.title}",
        body=f"{outcome}\n{chain.link}",
        link=chain.link,
        target=chain,
    )
    return Decision(step=step, chain=chain)


@transaction.atomic
def chain_withdraw(*, chain: ApprovalChain, actor) -> ApprovalChain:
    """The requester withdraws a pending request; open and later steps are cancelled."""
    chain = ApprovalChain.objects.select_for_update().get(pk=chain.pk)
    if actor.pk != chain.requester_id:
        raise NotAllowed("Only the person who asked can withdraw a request.")
    if chain.status != ChainStatus.PENDING:
        raise ApplicationError(f"This request is already {chain.get_status_display().lower()}.")
    chain.status = ChainStatus.WITHDRAWN
    chain.decided_at = timezone.now()
    save_with_history(
        chain,
        actor=actor,
        reason="Withdrawn by the requester.",
        update_fields=["status", "decided_at"],
    )
    update_with_history(
        chain.steps.filter(status__in=[StepStatus.OPEN, StepStatus.WAITING]),
        actor=actor,
        reason=f"Cancelled: the request was withdrawn by {actor}.",
        status=StepStatus.CANCELLED,
    )
    audit_record(
        actor=actor, action=AuditAction.APPROVAL_WITHDRAW, target=chain, detail={"kind": chain.kind}
    )
    return chain


@transaction.atomic
def owner_steps_reassign(*, chains, old_owner, new_owner, actor, reason: str) -> int:
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
        if step.chain.requester_id == new_owner.pk:
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
            _notify_deciders(step)
        moved += 1
    return moved
