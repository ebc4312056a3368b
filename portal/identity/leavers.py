"""The leaver and the mover: what ends when a person's account is deactivated, and what is
re-confirmed when their department or manager changes.

The portal core cannot import the apps above it (the dependency contract), so each app
registers what it holds of a person in its ``AppConfig.ready``: ``register_leaver_step``
(customers: revoke the grants) and ``register_mover_step`` (customers: a re-confirmation
campaign over the grants), as apps register their kinds of request with the approval
engine. Everything the core holds itself (requests, approval steps, API tokens, sessions) is
ended here.

Source of the rule: ISO/IEC 27002:2022 controls 5.18 (access rights: removed on
termination, adjusted on a change of role) and 8.2; GDPR Art. 32(1)(b) (ongoing
confidentiality): access to customer data ends with the need for it, not at the next expiry.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from portal import approval_handover
from portal.audit import audit_record, token_fingerprint
from portal.audit_actions import AuditAction
from portal.errors import ApplicationError
from portal.history import save_with_history
from portal.models import User, UserSession
from portal.reasons import clean_reason

# What deactivated the account: who answers for it in the audit event.
CHANNELS = ("scim", "admin", "sign-in", "command")

# A leaver step: (person, acting user or None, reason) -> {what ended: [ids]}.
LeaverStep = Callable[[User, User | None, str], dict[str, list[int]]]
# A mover step: (person, what changed, acting user or None) -> {what was started: [ids]}.
MoverStep = Callable[[User, str, User | None], dict[str, list[int]]]
_LEAVER_STEPS: dict[str, LeaverStep] = {}
_MOVER_STEPS: dict[str, MoverStep] = {}


def register_leaver_step(name: str, step: LeaverStep) -> None:
    """Run ``step`` in every deactivation, inside its transaction. ``step`` must be
    idempotent (a second deactivation ends nothing) and return what it ended as
    ``{label: [ids]}``, which the deactivation's audit event lists. Registering ``name``
    again replaces the step (a reload in the test runner)."""
    _LEAVER_STEPS[name] = step


def register_mover_step(name: str, step: MoverStep) -> None:
    """Run ``step`` when a person's department or manager changes; as
    ``register_leaver_step``, returning what it started as ``{label: [ids]}``."""
    _MOVER_STEPS[name] = step


@dataclass(frozen=True)
class Ended:
    """What one deactivation ended: ids per kind (``grants_revoked``,
    ``requests_withdrawn``, ``steps_handed_over``), API tokens and sessions deleted.
    ``changed`` is False when there was nothing left to end (a repeated deactivation)."""

    ended: dict[str, list[int]]
    api_tokens: list[str]
    sessions: int
    changed: bool


def deactivate_account(
    user: User, *, reason: str, channel: str, actor: User | None = None
) -> Ended:
    """Deactivate ``user`` and end, in one transaction, everything their account held.

    Inputs: ``reason`` (at least 10 characters: why, e.g. "Left the company on 30 June"),
    ``channel`` (one of ``CHANNELS``: the directory over SCIM, the Django admin, the
    identity provider at sign-in, a command), ``actor`` (the administrator, or ``None`` for
    the directory). Ends: the account (``is_active`` off), every active grant (revoked with
    the reason, by the apps' registered steps), every pending request (withdrawn), the
    undecided owner steps the person held (handed to compliance, who are told), the API
    token and every session. One audit event ``account.deactivate`` lists it all.

    Idempotent: a second call finds nothing to end, writes nothing and returns
    ``changed=False``. Reactivating the account later restores none of it.
    Raises ``ApplicationError`` for a short reason or an unknown channel (nothing changed).
    """
    reason = clean_reason(reason, what=_("the reason for deactivating this account"))
    if channel not in CHANNELS:
        raise ApplicationError(
            _("Unknown channel %(channel)s.") % {"channel": repr(channel)}, field="channel"
        )
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        was_active = user.is_active
        if was_active:
            user.is_active = False
            save_with_history(
                user,
                actor=actor,
                reason=_("Deactivated: %(reason)s") % {"reason": reason},
                update_fields=["is_active"],
            )
        ended = _end_holdings(user, actor=actor, reason=reason)
        tokens = [token_fingerprint(key) for key in _tokens_delete(user)]
        sessions = sessions_end(user)
        changed = was_active or bool(tokens or sessions) or any(ended.values())
        if changed:
            audit_record(
                actor=actor,
                action=AuditAction.ACCOUNT_DEACTIVATE,
                target=user,
                detail={
                    "user": user.get_username(),
                    "reason": reason,
                    "via": channel,
                    **ended,
                    "api_tokens_deleted": tokens,
                    "sessions_ended": sessions,
                },
                actor_label=None if actor else channel,
            )
    return Ended(ended=ended, api_tokens=tokens, sessions=sessions, changed=changed)


def _end_holdings(user: User, *, actor: User | None, reason: str) -> dict[str, list[int]]:
    """Requests withdrawn, owner steps handed over, then each app's registered step."""
    ended = {
        "requests_withdrawn": approval_handover.chains_withdraw_for_leaver(
            requester=user, actor=actor, reason=reason
        ),
        "steps_handed_over": approval_handover.owner_steps_hand_over(
            approver=user,
            actor=actor,
            reason=_("The approver left: %(reason)s") % {"reason": reason},
        ),
    }
    for name in sorted(_LEAVER_STEPS):
        ended.update(_LEAVER_STEPS[name](user, actor, reason))
    return ended


def _tokens_delete(user: User) -> list[str]:
    """Delete the person's API token (DRF authtoken); the keys deleted, for fingerprints."""
    keys = list(Token.objects.filter(user=user).values_list("key", flat=True))
    Token.objects.filter(user=user).delete()
    return keys


def sessions_end(user: User) -> int:
    """Delete every session signed in as ``user`` (``portal.sessions`` keeps each
    session's person, indexed); returns how many unexpired ones ended. Their next request
    is anonymous."""
    sessions = UserSession.objects.filter(user_id=user.pk)
    ended = sessions.filter(expire_date__gt=timezone.now()).count()
    sessions.delete()
    return ended


def reactivate_account(user: User, *, reason: str, channel: str, actor: User | None) -> bool:
    """Turn ``user``'s account back on (a rehire, a mistaken deactivation): nothing that
    ended comes back; they ask for access again. Audited ``account.reactivate``.
    Returns False when the account was already active (nothing written)."""
    reason = clean_reason(reason, what=_("the reason for reactivating this account"))
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.is_active:
            return False
        user.is_active = True
        save_with_history(
            user,
            actor=actor,
            reason=_("Reactivated: %(reason)s") % {"reason": reason},
            update_fields=["is_active"],
        )
        audit_record(
            actor=actor,
            action=AuditAction.ACCOUNT_REACTIVATE,
            target=user,
            detail={"user": user.get_username(), "reason": reason, "via": channel},
            actor_label=None if actor else channel,
        )
    return True


def account_moved(
    user: User, *, changes: dict[str, tuple[str, str]], channel: str, actor: User | None = None
) -> dict[str, list[int]]:
    """``user``'s department or manager changed (``changes``: field -> (before, after), as
    text): each registered mover step flags their grants for their owners to re-confirm
    (customers: a re-confirmation campaign). One audit event ``account.move`` names the
    change and what was started. Call in the transaction of the change. Returns what the
    steps started; nothing when ``changes`` is empty or the account is inactive."""
    if not changes or not user.is_active:
        return {}
    change = "; ".join(
        f"{field} {old or '—'} → {new or '—'}" for field, (old, new) in changes.items()
    )
    started: dict[str, list[int]] = {}
    for name in sorted(_MOVER_STEPS):
        started.update(_MOVER_STEPS[name](user, change, actor))
    audit_record(
        actor=actor,
        action=AuditAction.ACCOUNT_MOVE,
        target=user,
        detail={"user": user.get_username(), "change": change, "via": channel, **started},
        actor_label=None if actor else channel,
    )
    return started
