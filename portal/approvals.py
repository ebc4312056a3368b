"""The approval engine: steps, who may decide them, segregation of duties, locking,
the decision timeline and the notifications of each step.

Written once, for every kind of request. A kind's service (``access_request_create``,
``sharing_request_create``) says which roles its chain needs and acts on the outcome
(a grant, a package); everything about deciding lives here.

Segregation of duties (design.md): nobody decides a step of their own request, no person
decides two steps of one request, and when the requester owns the asset, compliance takes
the owner's step.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from portal import roles
from portal.audit import audit_record
from portal.audit_actions import AuditAction
from portal.compiled_queries import CompiledList
from portal.errors import ApplicationError, NotAllowed
from portal.history import save_with_history, update_with_history
from portal.languages import choice_label
from portal.models import (
    ApprovalChain,
    ApprovalRole,
    ApprovalStep,
    ChainStatus,
    StepStatus,
    User,
)
from portal.notifications import notify
from portal.pagination import PagedValues
from portal.reasons import clean_reason

ROLE_GROUP: dict[str, str] = {
    ApprovalRole.COMPLIANCE: roles.COMPLIANCE,
    ApprovalRole.LEGAL: roles.LEGAL,
}


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
        # An owner step always names its approver (chain_start, owner_steps_reassign).
        people = User.objects.filter(pk=step.approver_id)  # type: ignore[misc]
    else:
        people = roles.role_members(ROLE_GROUP[step.role])
    already = ApprovalStep.objects.filter(chain_id=step.chain_id, decided_by__isnull=False)
    return (
        people.filter(is_active=True)
        .exclude(pk=step.chain.requester_id)
        .exclude(pk__in=already.values("decided_by"))
        .distinct()
    )


def why_not_decider(user: User, step: ApprovalStep) -> str:
    """Empty when ``user`` may decide ``step``; otherwise the reason, in people's words."""
    if step.status != StepStatus.OPEN:
        return _("This step is not waiting for a decision.")
    if user.pk == step.chain.requester_id:
        return _("Nobody decides a step of their own request.")
    if step.chain.steps.filter(decided_by=user).exclude(pk=step.pk).exists():
        return _("You already decided a step of this request; another person must decide this one.")
    if step.role == ApprovalRole.OWNER and user.pk != step.approver_id:
        return _("This step is for the data owner.")
    if step.role in ROLE_GROUP and ROLE_GROUP[step.role] not in roles.group_names(user):
        return _("This step is for %(role)s.") % {"role": step.get_role_display()}
    return ""


def open_steps_for(user: User) -> QuerySet[ApprovalStep]:
    """Open steps ``user`` may decide: the "waiting for me" list, of every kind."""
    return _open_steps(_group_roles(user), user.pk)


def _group_roles(user: User) -> tuple[str, ...]:
    """The roles of a step ``user`` may take through their groups (compliance, legal)."""
    groups = roles.group_names(user)
    return tuple(role for role, group in ROLE_GROUP.items() if group in groups)


def _open_steps(group_roles: Iterable[str], user_id: int) -> QuerySet[ApprovalStep]:
    """``open_steps_for`` the person ``user_id`` who takes ``group_roles`` through groups."""
    mine = Q(role=ApprovalRole.OWNER, approver=user_id)
    for role in group_roles:
        mine |= Q(role=role)
    decided_by_me = ApprovalStep.objects.filter(chain=OuterRef("chain"), decided_by=user_id)
    # Only a pending chain has an open step: saying so lets the database start from the
    # pending chains (an index) instead of joining every chain ever decided.
    return (
        ApprovalStep.objects.filter(mine, status=StepStatus.OPEN, chain__status=ChainStatus.PENDING)
        .exclude(chain__requester=user_id)
        .exclude(Exists(decided_by_me))
        .select_related("chain")
        .order_by("chain__created_at", "chain_id")
    )


# --- the approvals list: every kind of request in one list ------------------------------

# The kinds of request that go through the engine, by ``ApprovalChain.kind``: each app
# registers its own in its ``AppConfig.ready`` (``register_request_kind``), so the engine
# lists access and sharing requests without importing the apps that sit above it.
_REQUEST_KINDS: dict[str, Callable[[list[int]], Iterable[Any]]] = {}


def register_request_kind(kind: str, *, requests: Callable[[list[int]], Iterable[Any]]) -> None:
    """Make the requests of ``kind`` (an ``ApprovalChain.kind``) appear in the approvals
    list. ``requests`` takes chain ids and returns the kind's requests on those chains
    (each with a ``chain_id``), with everything their row shows, in a fixed number of
    queries. Registering a kind again replaces its loader (a reload in the test runner)."""
    _REQUEST_KINDS[kind] = requests


@dataclass(frozen=True)
class WaitingChain:
    """What a row of the approvals list needs of a step's chain: its kind of request."""

    kind: str


@dataclass(frozen=True)
class WaitingStep:
    """The open step of a row of the approvals list, from plain values: the names a
    template reads from an ``ApprovalStep`` (``pk``, ``chain_id``, ``role``,
    ``get_role_display``, ``chain.kind``)."""

    pk: int
    chain_id: int
    role: str
    chain: WaitingChain

    def get_role_display(self) -> str:
        return choice_label(ApprovalRole, self.role)


@dataclass(frozen=True)
class WaitingApproval:
    """One row of the approvals list: the open ``step`` the person may decide, and the
    ``request`` (an ``AccessRequest``, a ``SharingRequest``) it belongs to."""

    step: WaitingStep
    request: object

    @property
    def kind(self) -> str:
        return self.step.chain.kind


# What the approvals list reads of each step, with the list's length, in one statement:
# columns of the indexes it is found by (``approvalstep_open_by_chain``,
# ``approvalchain_pending``), so the waiting steps are still read from them alone.
_WAITING_STEP_FIELDS = ("pk", "chain_id", "role", "chain__kind")


def _waiting_approvals(steps: list[tuple]) -> list[WaitingApproval]:
    """The rows of a part of the list of open steps (the values of
    ``_WAITING_STEP_FIELDS``: read with the count for a page, alone for a slice), then each
    kind's requests of the part (one query per kind plus that kind's prefetches)."""
    page = [WaitingStep(pk, chain, role, WaitingChain(kind)) for pk, chain, role, kind in steps]
    by_kind: dict[str, list[int]] = {}
    for step in page:
        by_kind.setdefault(step.chain.kind, []).append(step.chain_id)
    requests = {}
    for kind, chain_ids in by_kind.items():
        for request in _REQUEST_KINDS[kind](chain_ids):
            requests[request.chain_id] = request
    # A chain whose request is not written yet (its kind's transaction is still open)
    # has nothing to show and is left out of the page.
    return [
        WaitingApproval(step=step, request=requests[step.chain_id])
        for step in page
        if step.chain_id in requests
    ]


# The approvals list as a ``Paginator`` (Django's or the API's) reads it: ``len()`` is one
# count, a page is one statement with the count; its cost does not grow with its rows.
WaitingApprovals = PagedValues[WaitingApproval]


def approvals_waiting_for(user: User, *, kinds: Iterable[str] | None = None) -> WaitingApprovals:
    """The approvals list: the open steps ``user`` may decide (``open_steps_for``), of every
    registered kind of request or only of ``kinds``, each with its request.

    Order: oldest request first (when it was asked, then its id), so the person who has
    waited longest is decided first whichever step their request is at. Hand the result to
    ``Paginator`` (pages) or the API's pagination; ``len()`` is the total waiting.
    The approvals page, the dashboard and ``?waiting=1`` of the request APIs all read it."""
    wanted = _REQUEST_KINDS if kinds is None else kinds
    registered = tuple(kind for kind in wanted if kind in _REQUEST_KINDS)
    # The page's steps are read with the count (``PagedValues``): what a row needs of its
    # step is four columns of the statement that finds them, compiled once per shape (the
    # roles taken through groups, the kinds listed) and page: only the reader's id changes.
    return _WAITING_STEPS.paged_values(
        (_group_roles(user), registered),
        (user.pk,),
        _waiting_approvals,
        fields=_WAITING_STEP_FIELDS,
    )


def _waiting_steps(shape: Any, values: tuple[Any, ...]) -> QuerySet[ApprovalStep]:
    group_roles, kinds = shape
    (user_id,) = values
    return _open_steps(group_roles, user_id).filter(chain__kind__in=kinds)


_WAITING_STEPS = CompiledList(_waiting_steps)


def steps_with_deciders() -> QuerySet[ApprovalStep]:
    """Steps in order with who may and who did decide them: what a request's row shows."""
    return ApprovalStep.objects.select_related("decided_by", "approver").order_by("position")


def timeline(chain: ApprovalChain) -> list[ApprovalStep]:
    return list(chain.steps.select_related("approver", "decided_by").order_by("position"))


# --- writes ----------------------------------------------------------------------------


def chain_start(
    *,
    kind: str,
    requester: User,
    owner: User,
    steps: Sequence[StepSpec],
    title: str,
    summary: str,
) -> ApprovalChain:
    """Create a pending chain with its steps, the first one open.

    Call inside the kind's transaction, then ``chain_publish`` once the kind's page exists.
    An owner step of a requester who owns the asset, or of an owner whose account is
    deactivated (a leaver, until compliance names a new owner), is decided by compliance
    instead: a step nobody can decide would hold the request forever.
    """
    chain = ApprovalChain.objects.create(
        kind=kind, requester=requester, title=title, summary=summary
    )
    rows = []
    for position, spec in enumerate(steps, start=1):
        role, replaces_owner, approver = spec.role, False, None
        if role == ApprovalRole.OWNER:
            if owner.pk == requester.pk or not owner.is_active:
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
    first = chain.open_step
    if first is not None:  # a chain is built with its first step open
        notify_deciders(first)


def notify_deciders(step: ApprovalStep) -> None:
    """Tell the people who may decide the open ``step`` now (``deciders_for``) that it waits."""
    chain = step.chain
    notify(
        users=deciders_for(step),
        kind="approval_needed",
        context={"chain": chain, "step": step},
        target=chain,
    )


def _already_decided(chain: ApprovalChain) -> str:
    """The refusal of a decision or withdrawal on a chain that is no longer pending."""
    return _("This request is already %(status)s.") % {"status": chain.get_status_display().lower()}


def _locked_open_step(chain: ApprovalChain) -> tuple[ApprovalChain, ApprovalStep]:
    # Lock the chain, then re-read its state: two approvers deciding the same step at the
    # same moment queue here, and the second finds the step already decided.
    chain = ApprovalChain.objects.select_for_update().get(pk=chain.pk)
    if chain.status != ChainStatus.PENDING:
        raise ApplicationError(_already_decided(chain))
    step = chain.open_step
    if step is None:
        raise ApplicationError(_("This request is not waiting for a decision."))
    return chain, step


@transaction.atomic
def step_decide(
    *,
    chain: ApprovalChain,
    actor: User,
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
    reason = clean_reason(reason, what=_("a reason for your decision"))
    inputs = _decision_inputs(step, approve=approve, inputs=inputs)
    now = timezone.now()
    step.status = StepStatus.APPROVED if approve else StepStatus.DENIED
    step.decided_by, step.decided_at, step.reason, step.inputs = actor, now, reason, inputs
    save_with_history(step, actor=actor, reason=f"{step.get_status_display()}: {reason}")

    next_step = chain.steps.filter(status=StepStatus.WAITING).order_by("position").first()
    if approve and next_step is not None:
        _step_open_after(next_step, decided=step, actor=actor)
    else:
        _chain_conclude(chain, decided=step, actor=actor, reason=reason, now=now)
    audit_record(
        actor=actor,
        action=AuditAction.APPROVAL_APPROVE if approve else AuditAction.APPROVAL_DENY,
        target=chain,
        detail={"kind": chain.kind, "step": step.position, "role": step.role, "reason": reason},
    )
    notify(
        users=[chain.requester],
        kind="request_decided" if chain.status != ChainStatus.PENDING else "request_progress",
        context={
            "chain": chain,
            "step": step,
            "next_step": next_step,
            "actor": actor,
            "approve": approve,
            "reason": reason,
        },
        target=chain,
    )
    return Decision(step=step, chain=chain)


def _decision_inputs(step: ApprovalStep, *, approve: bool, inputs: dict | None) -> dict:
    """The decider's inputs without empty values; an approval must give the step's
    ``requirement`` (else ``ApplicationError`` on that field)."""
    inputs = {key: value for key, value in (inputs or {}).items() if value not in ("", None)}
    if approve and step.requirement and not inputs.get(step.requirement):
        raise ApplicationError(
            _("This step needs %(requirement)s to be approved.")
            % {"requirement": step.requirement.replace("_", " ")},
            field=step.requirement,
        )
    return inputs


def _step_open_after(next_step: ApprovalStep, *, decided: ApprovalStep, actor: User) -> None:
    """Open ``next_step`` now that ``decided`` was approved, and tell its deciders."""
    next_step.status = StepStatus.OPEN
    save_with_history(
        next_step,
        actor=actor,
        reason=_("Opened: step %(position)s approved.") % {"position": decided.position},
        update_fields=["status"],
    )
    notify_deciders(next_step)


def _chain_conclude(
    chain: ApprovalChain,
    *,
    decided: ApprovalStep,
    actor: User,
    reason: str,
    now: datetime,
) -> None:
    """End ``chain`` with the outcome of its last decided step (``decided``: the last
    approval or a denial) and cancel the steps still waiting."""
    approve = decided.status == StepStatus.APPROVED
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
        reason=_("Cancelled: step %(position)s %(outcome)s by %(actor)s: %(reason)s")
        % {
            "position": decided.position,
            "outcome": decided.get_status_display().lower(),
            "actor": actor,
            "reason": reason,
        },
        status=StepStatus.CANCELLED,
    )


@transaction.atomic
def chain_withdraw(*, chain: ApprovalChain, actor: User) -> ApprovalChain:
    """The requester withdraws a pending request; open and later steps are cancelled."""
    chain = ApprovalChain.objects.select_for_update().get(pk=chain.pk)
    if actor.pk != chain.requester_id:
        raise NotAllowed(_("Only the person who asked can withdraw a request."))
    if chain.status != ChainStatus.PENDING:
        raise ApplicationError(_already_decided(chain))
    # A fixed text is stored in English and translated where it is shown.
    withdraw_locked(chain, actor=actor, why=gettext_noop("Withdrawn by the requester."), detail={})
    return chain


def withdraw_locked(chain: ApprovalChain, *, actor: User | None, why: str, detail: dict) -> None:
    """End the locked (``select_for_update``), pending ``chain`` as withdrawn (``why`` in its
    history), cancel its open and waiting steps, and audit ``approval.withdraw``."""
    chain.status = ChainStatus.WITHDRAWN
    chain.decided_at = timezone.now()
    save_with_history(chain, actor=actor, reason=why, update_fields=["status", "decided_at"])
    update_with_history(
        chain.steps.filter(status__in=[StepStatus.OPEN, StepStatus.WAITING]),
        actor=actor,
        reason=_("Cancelled: %(why)s") % {"why": _(why)},
        status=StepStatus.CANCELLED,
    )
    audit_record(
        actor=actor,
        action=AuditAction.APPROVAL_WITHDRAW,
        target=chain,
        detail={"kind": chain.kind, **detail},
    )
