"""The account behind a single sign-on, its roles from directory groups, and the provider's
second factor.

Called by ``portal.sso.backends.SingleSignOnBackend`` once the id_token is verified, in this
order: ``account_for_sign_in`` (find, link or create the account), ``directory_roles_apply``
(the roles the directory says, committed even if the sign-in is then refused: the directory
is the truth about roles), ``require_provider_mfa`` (privileged roles need the provider's
multi-factor sign-in). A refusal is a ``SignInRefused``; ``sign_in_refused_record`` writes it
to the audit trail outside any transaction that the refusal rolls back.

``claims`` is the verified id_token's payload merged with the userinfo answer
(``Mapping[str, Any]``); ``issuer`` is ``OIDC_ISSUER``.
"""

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils.translation import gettext as _

from portal import roles
from portal.audit import audit_record, security_event
from portal.audit_actions import AuditAction
from portal.errors import ApplicationError
from portal.identity.leavers import deactivate_account
from portal.models import SingleSignOnIdentity, User

SUPERUSER = "superuser"
USERNAME_MAX = 150  # AbstractUser.username


class SignInRefused(ApplicationError):
    """A single sign-on the portal refuses; ``extra["reason"]`` names why for the audit
    trail (``mfa_missing``, ``deactivated``, ``claims_missing``, ``ambiguous``, ...)."""


def _refusal(reason: str, message: str) -> SignInRefused:
    return SignInRefused(message, extra={"reason": reason})


def claimed_username(claims: Mapping[str, Any]) -> str:
    """The user name the provider asserts (``OIDC_USERNAME_CLAIM``), at most 150
    characters; ``""`` when the claim is missing or not text."""
    value = claims.get(settings.OIDC_USERNAME_CLAIM)
    return value.strip()[:USERNAME_MAX] if isinstance(value, str) else ""


def claimed_groups(claims: Mapping[str, Any]) -> list[str]:
    """The directory groups in ``OIDC_GROUPS_CLAIM``: a list of names (or ids), or one
    name; anything else counts as no group."""
    value = claims.get(settings.OIDC_GROUPS_CLAIM)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(group) for group in value if isinstance(group, str | int)]
    return []


def directory_roles(groups: list[str]) -> set[str]:
    """The roles (``Compliance``, ``Legal``, ``superuser``) that ``groups`` carry under
    ``OIDC_GROUP_ROLES``."""
    mapping: dict[str, str] = settings.OIDC_GROUP_ROLES
    return {mapping[group] for group in groups if group in mapping}


def has_provider_mfa(claims: Mapping[str, Any]) -> bool:
    """Did the provider sign the person in with more than one factor?

    ``OIDC_MFA_CLAIM`` ``amr`` (a list of methods, RFC 8176: ``mfa``, ``otp``, ``hwk``...)
    holds one of ``OIDC_MFA_VALUES``, or ``acr`` (one authentication context class, e.g.
    Okta's ``urn:okta:loa:2fa:any``) is one of them. OIDC Core 1.0, section 2.
    """
    wanted = set(settings.OIDC_MFA_VALUES)
    value = claims.get(settings.OIDC_MFA_CLAIM)
    if settings.OIDC_MFA_CLAIM == "amr":
        return isinstance(value, list) and bool(wanted & {str(method) for method in value})
    return isinstance(value, str) and value in wanted


def is_privileged(user: User) -> bool:
    """Compliance, Legal or superuser: the roles that need a second factor."""
    return bool(user.is_superuser or roles.is_compliance_or_legal(user))


def _names_from_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    fields = {"email": "email", "given_name": "first_name", "family_name": "last_name"}
    limits = {"email": 254, "first_name": 150, "last_name": 150}
    return {
        field: claims[claim].strip()[: limits[field]]
        for claim, field in fields.items()
        if isinstance(claims.get(claim), str)
    }


def _require_storable(texts: list[str]) -> None:
    """``SignInRefused`` when a claimed name or e-mail holds a NUL character, which
    PostgreSQL cannot store (the portal's other doors refuse it too: portal.input_limits)."""
    if any("\x00" in text for text in texts):
        raise _refusal(
            "claims_invalid",
            _(
                "The identity provider sent a name or e-mail holding a NUL character, which "
                "the portal cannot store. Ask the service desk to correct your directory "
                "profile."
            ),
        )


def _claimed_subject(claims: Mapping[str, Any], username: str) -> str:
    """The ``sub`` claim; ``SignInRefused`` when it or the claimed ``username`` is missing:
    the provider did not say who this is."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or not username:
        raise _refusal(
            "claims_missing",
            _(
                "The identity provider did not say who you are (claims sub and %(claim)s). "
                "Ask the service desk to check the portal's application at the provider."
            )
            % {"claim": settings.OIDC_USERNAME_CLAIM},
        )
    return subject


def _existing_account(issuer: str, username: str) -> User | None:
    """A local account of the same user name (any case) that no other identity of this
    issuer holds; ``SignInRefused`` when two accounts match or it is taken."""
    matches = list(User.objects.filter(username__iexact=username)[:2])
    if len(matches) > 1:
        raise _refusal(
            "ambiguous",
            _(
                "Two portal accounts are called %(username)s; an administrator must merge or "
                "rename one before you can sign in."
            )
            % {"username": repr(username)},
        )
    if not matches:
        return None
    if SingleSignOnIdentity.objects.filter(issuer=issuer, user=matches[0]).exists():
        raise _refusal(
            "taken",
            _(
                "The portal account %(username)s belongs to another person at the identity "
                "provider. Ask the service desk to check your user name."
            )
            % {"username": repr(username)},
        )
    if matches[0].is_superuser or matches[0].is_staff:
        # A claimed user name is only as trustworthy as the provider's rules for it (an
        # editable name, an e-mail as user name): an administrator's account, the
        # break-glass door, is never handed to a sign-in by its name.
        raise _refusal(
            "administrator",
            _(
                "The portal account %(username)s is an administrator's and is not opened by "
                "single sign-on. Sign in with your own directory account, or ask an "
                "administrator."
            )
            % {"username": repr(username)},
        )
    return matches[0]


def require_access_group(*, issuer: str, claims: Mapping[str, Any]) -> None:
    """The leaver at sign-in. With ``OIDC_ACCESS_GROUP`` set (the directory group whose
    members may use the portal: the application's assignment group at the provider), a
    person the provider signs in without that group is refused; if their account is linked
    to this provider (``issuer`` and ``sub``) and still active, the leaver process ends it
    first (``portal.identity.leavers.deactivate_account``, channel ``sign-in``): every
    grant, pending request, held step, token and session, in one transaction, committed
    before the refusal. An unlinked local account of the same name is never touched.

    Raises ``SignInRefused`` (reason ``not_in_access_group``). Does nothing while the
    setting is empty (anyone the provider signs in may use the portal).
    """
    group = settings.OIDC_ACCESS_GROUP
    if not group or group in claimed_groups(claims):
        return
    subject = claims.get("sub")
    identity = (
        SingleSignOnIdentity.objects.select_related("user")
        .filter(issuer=issuer, subject=str(subject)[:255])
        .first()
    )
    if identity is not None and identity.user.is_active:
        deactivate_account(
            identity.user,
            # Kept in the account's history: written in the language active now.
            reason=_(
                "The identity provider no longer lists this person in the directory group "
                "%(group)s that gives access to the portal."
            )
            % {"group": repr(group)},
            channel="sign-in",
        )
    raise _refusal(
        "not_in_access_group",
        _(
            "Your directory account is not in the group %(group)s that gives access to the "
            "portal, so you cannot sign in. Ask your manager or the service desk for access."
        )
        % {"group": repr(group)},
    )


@transaction.atomic
def account_for_sign_in(*, issuer: str, claims: Mapping[str, Any]) -> User:
    """The account of this sign-in: the one linked to (``issuer``, ``sub``); else the local
    account with the claimed user name, linked now; else a new account (just-in-time
    provisioning: no password, names and e-mail from the claims).

    Name and e-mail are refreshed from the claims. Raises ``SignInRefused`` when ``sub`` or
    the user name claim is missing, the name is ambiguous or taken, or the account is
    deactivated (``is_active`` False): a deactivated account is never reactivated here, it
    is the leaver process's decision.
    """
    username = claimed_username(claims)
    _require_storable([username, *_names_from_claims(claims).values()])
    subject = _claimed_subject(claims, username)
    identity = (
        SingleSignOnIdentity.objects.select_related("user")
        .filter(issuer=issuer, subject=subject[:255])
        .first()
    )
    user = identity.user if identity else _existing_account(issuer, username)
    if user is not None and not user.is_active:
        raise _refusal(
            "deactivated",
            _(
                "Your portal account is deactivated, so single sign-on cannot open it. Ask "
                "compliance or the service desk if you need access again."
            ),
        )
    names = _names_from_claims(claims)
    if user is None:
        user = User.objects.create_user(username=username, **names)
        user.set_unusable_password()
        user.save(update_fields=["password"])
        audit_record(
            actor=None,
            actor_label="directory",
            action=AuditAction.ACCOUNT_SSO_PROVISION,
            target=user,
            detail={"user": username, "issuer": issuer},
        )
    elif changed := {field for field, value in names.items() if getattr(user, field) != value}:
        for field in changed:
            setattr(user, field, names[field])
        user.save(update_fields=sorted(changed))
    if identity is None:
        SingleSignOnIdentity.objects.create(user=user, issuer=issuer, subject=subject[:255])
        audit_record(
            actor=None,
            actor_label="directory",
            action=AuditAction.ACCOUNT_SSO_LINK,
            target=user,
            detail={"user": user.get_username(), "issuer": issuer},
        )
    return user


def _held_roles(user: User, managed: set[str]) -> set[str]:
    held = set(
        user.groups.filter(name__in=managed & set(roles.ROLE_GROUPS)).values_list("name", flat=True)
    )
    if SUPERUSER in managed and user.is_superuser:
        held.add(SUPERUSER)
    return held


def _set_role(user: User, role: str, *, holds: bool) -> None:
    if role == SUPERUSER:
        # The admin site needs is_staff; the portal has no staff role without superuser.
        user.is_superuser = user.is_staff = holds
        user.save(update_fields=["is_superuser", "is_staff"])
        return
    # Through the membership table: the ``role.*`` event below is the one record of the
    # change (the group signal would add a second, anonymous ``group.member_*`` event).
    membership = User.groups.through
    group = Group.objects.get(name=role)
    if holds:
        membership.objects.create(user_id=user.pk, group_id=group.pk)
    else:
        membership.objects.filter(user_id=user.pk, group_id=group.pk).delete()


@transaction.atomic
def directory_roles_apply(*, user: User, issuer: str, claims: Mapping[str, Any]) -> list[str]:
    """Make the roles of ``OIDC_GROUP_ROLES`` match the directory groups in ``claims``.

    Only roles named in the mapping are the directory's: each is granted when one of its
    groups is claimed and taken away when none is (removed from the group in the directory,
    the person loses the role at the next sign-in). Roles outside the mapping are left as
    they are. Each change is one ``role.grant`` or ``role.revoke`` event (actor
    ``directory``, the groups that carried it). Returns the changes as ``+Role``/``-Role``.
    """
    managed = set(settings.OIDC_GROUP_ROLES.values())
    if not managed:
        return []
    user = User.objects.select_for_update().get(pk=user.pk)
    groups = claimed_groups(claims)
    wanted = directory_roles(groups)
    held = _held_roles(user, managed)
    changes: list[str] = []
    for role, holds in [(r, True) for r in sorted(wanted - held)] + [
        (r, False) for r in sorted(held - wanted)
    ]:
        _set_role(user, role, holds=holds)
        carried_by = sorted(g for g in groups if settings.OIDC_GROUP_ROLES.get(g) == role)
        audit_record(
            actor=None,
            actor_label="directory",
            action=AuditAction.ROLE_GRANT if holds else AuditAction.ROLE_REVOKE,
            target=user,
            detail={
                "role": role,
                "user": user.get_username(),
                "issuer": issuer,
                "groups": carried_by,
            },
        )
        changes.append(("+" if holds else "-") + role)
    roles.forget_groups(user)
    return changes


def require_provider_mfa(*, user: User, claims: Mapping[str, Any]) -> None:
    """Raise ``SignInRefused`` when ``user`` holds a privileged role (Compliance, Legal,
    superuser) and the id_token shows no multi-factor sign-in (``has_provider_mfa``), unless
    ``OIDC_MFA_REQUIRED`` is off. The message names the roles and the claim it read."""
    roles.forget_groups(user)
    if not settings.OIDC_MFA_REQUIRED or not is_privileged(user) or has_provider_mfa(claims):
        return
    # The roles as the menu names them (the group names are the same in every language).
    held = [_(name) for name in sorted(roles.group_names(user) & set(roles.ROLE_GROUPS))]
    if user.is_superuser:
        held.append(_("administrator"))
    claim = settings.OIDC_MFA_CLAIM
    shown = claims.get(claim)
    shown_text = ", ".join(map(str, shown)) if isinstance(shown, list) else str(shown or "none")
    raise _refusal(
        "mfa_missing",
        _(
            "Your role (%(roles)s) needs multi-factor sign-in at %(provider)s, and this "
            "sign-in used none (%(claim)s: %(shown)s). Sign in again with your second factor "
            "(authenticator app or security key)."
        )
        % {
            "roles": _(" and ").join(held),
            "provider": settings.OIDC_PROVIDER_NAME,
            "claim": claim,
            "shown": shown_text,
        },
    )


def sign_in_refused_record(*, claims: Mapping[str, Any], issuer: str, error: SignInRefused) -> None:
    """The refusal in the audit trail (``auth.sso_refused``, actor ``anonymous``, the
    claimed user name and the reason) and in the security log. Call it outside the
    transaction the refusal rolled back."""
    username = claimed_username(claims)
    reason = str(error.extra.get("reason", "refused"))
    audit_record(
        actor=None,
        actor_label="anonymous",
        action=AuditAction.AUTH_SSO_REFUSED,
        detail={"username": username, "issuer": issuer, "reason": reason},
    )
    security_event("auth.sso_refused", username=username, reason=reason)
