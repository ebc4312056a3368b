"""SCIM Users: an account as the directory sees it, and the directory's writes to it.

Every write is one transaction: the account's fields, its row history, one audit event
(``account.provision`` or ``account.update``, naming the fields changed), and, when
``active`` goes false, the leaver (``leavers.deactivate_account``), when the department or
the manager changes, the mover (``leavers.account_moved``). Accounts are never deleted: a
SCIM DELETE deactivates the account and hides it from SCIM (``scim_deleted_at``), so its
audit events keep naming it and its ``userName`` stays taken.
"""

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from scim2_models import (
    GroupMembership,
    InvalidValueException,
    Manager,
    Meta,
    NotFoundException,
    UniquenessException,
)

from portal.audit import audit_record
from portal.audit_actions import AuditAction
from portal.history import save_with_history
from portal.identity import leavers
from portal.identity.scim_models import Email, EnterpriseUser, Name, UserWithExtension, ref
from portal.identity.scim_models import User as ScimUser
from portal.input_limits import as_id
from portal.models import User

SCIM_CHANNEL = "scim"
# Fixed texts, stored in English (history, audit) and translated where they are shown.
DEACTIVATED = gettext_noop("The directory deactivated the account (SCIM).")
REMOVED = gettext_noop("The directory removed the account (SCIM DELETE).")
FIELDS = ("username", "first_name", "last_name", "email", "scim_external_id", "department")


def scim_users() -> QuerySet[User]:
    """The accounts that are SCIM resources: all but those the directory deleted."""
    return User.objects.filter(scim_deleted_at__isnull=True)


def user_get(resource_id: str) -> User:
    """The account of SCIM id ``resource_id`` (its primary key, as text); raises
    ``NotFoundException`` (404) for anything else."""
    pk = as_id(resource_id)
    if pk is None:
        raise NotFoundException(detail=_("No user %(id)s.") % {"id": repr(resource_id[:40])})
    user = scim_users().filter(pk=pk).select_related("manager").first()
    if user is None:
        raise NotFoundException(detail=_("No user %(id)s.") % {"id": repr(resource_id)})
    return user


def user_to_scim(user: User, base: str) -> ScimUser:
    """``user`` as a SCIM User; ``base`` is the ``/scim/v2`` URL, without a final slash.
    Reads the user's groups (prefetch ``groups`` for lists) and their manager."""
    resource = UserWithExtension(
        id=str(user.pk),
        external_id=user.scim_external_id or None,
        user_name=user.username,
        name=Name(given_name=user.first_name or None, family_name=user.last_name or None)
        if (user.first_name or user.last_name)
        else None,
        active=user.is_active,
        emails=[Email(value=user.email)] if user.email else None,
        groups=[
            GroupMembership(
                value=str(group.pk),
                ref=ref(f"{base}/Groups/{group.pk}"),
                display=group.name,
                type="direct",
            )
            for group in user.groups.all()
        ]
        or None,
        meta=Meta(
            resource_type="User",
            created=user.date_joined,
            last_modified=user.date_joined,
            location=f"{base}/Users/{user.pk}",
        ),
    )
    manager = user.manager if user.manager_id else None
    if user.department or manager is not None:
        resource[EnterpriseUser] = EnterpriseUser(
            department=user.department or None,
            manager=Manager(value=str(manager.pk), ref=ref(f"{base}/Users/{manager.pk}"))
            if manager is not None
            else None,
        )
    return resource


def _clean_username(user: User, value: str | None) -> str:
    username = (value or "").strip()
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError as error:
        raise InvalidValueException(detail=f"userName: {error.messages[0]}") from None
    if not 1 <= len(username) <= 150:
        raise InvalidValueException(detail="userName: 1 to 150 characters.")
    taken = User.objects.filter(username__iexact=username).exclude(pk=user.pk)
    if taken.exists():
        raise UniquenessException(
            detail=_("userName %(name)s is taken.") % {"name": repr(username)}
        )
    return username


def _manager(user: User, extension: EnterpriseUser | None) -> User | None:
    if extension is None or extension.manager is None or not extension.manager.value:
        return None
    value = extension.manager.value
    pk = as_id(value)
    manager = None if pk is None else scim_users().filter(pk=pk).first()
    if manager is None or (user.pk and manager.pk == user.pk):
        raise InvalidValueException(
            detail=_("manager: no other user %(value)s.") % {"value": repr(value[:40])}
        )
    return manager


def _apply(user: User, resource: ScimUser) -> None:
    """Copy ``resource`` onto ``user`` (unsaved): replace semantics, an attribute absent is
    cleared, except ``active`` (absent: unchanged; a new account is active)."""
    extension = resource[EnterpriseUser]
    user.username = _clean_username(user, resource.user_name)
    user.first_name = ((resource.name and resource.name.given_name) or "")[:150]
    user.last_name = ((resource.name and resource.name.family_name) or "")[:150]
    first = next((email.value for email in resource.emails or [] if email.value), None)
    user.email = str(first) if first else ""
    user.scim_external_id = (resource.external_id or "")[:255]
    user.department = ((extension and extension.department) or "")[:200]
    user.manager = _manager(user, extension)


@transaction.atomic
def user_create(resource: ScimUser) -> User:
    """Provision a new account from ``resource``: no password (sign-in is the identity
    provider's), active as ``active`` says. Raises ``UniquenessException`` (409)
    for a taken ``userName``, ``InvalidValueException`` (400) for a bad value."""
    user = User()
    _apply(user, resource)
    user.set_unusable_password()
    user.is_active = resource.active is not False
    save_with_history(user, actor=None, reason=gettext_noop("Provisioned by the directory (SCIM)"))
    audit_record(
        actor=None,
        action=AuditAction.ACCOUNT_PROVISION,
        target=user,
        detail={"user": user.username, "active": user.is_active},
        actor_label="scim",
    )
    return user


@transaction.atomic
def user_replace(user: User, resource: ScimUser) -> User:
    """Replace ``user``'s attributes with ``resource`` (PUT, and PATCH once applied):
    audited ``account.update`` with the fields changed; ``active`` false runs the leaver,
    true reactivates (nothing restored); a new department or manager runs the mover.
    Raises as ``user_create``."""
    user = User.objects.select_for_update().get(pk=user.pk)
    before = {field: getattr(user, field) for field in FIELDS}
    old_manager = user.manager
    _apply(user, resource)
    changed = [field for field in FIELDS if getattr(user, field) != before[field]]
    if user.manager != old_manager:
        changed.append("manager")
    if changed:
        save_with_history(
            user, actor=None, reason=_("Changed by the directory: %(fields)s") % {"fields": changed}
        )
        audit_record(
            actor=None,
            action=AuditAction.ACCOUNT_UPDATE,
            target=user,
            detail={"user": user.username, "fields": changed},
            actor_label="scim",
        )
    _active_apply(user, resource.active)
    moves = {
        field: (str(old or ""), str(new or ""))
        for field, old, new in (
            ("department", before["department"], user.department),
            ("manager", old_manager, user.manager),
        )
        if field in changed
    }
    leavers.account_moved(user, changes=moves, channel=SCIM_CHANNEL)
    return user


def _active_apply(user: User, active: bool | None) -> None:
    if active is False and user.is_active:
        leavers.deactivate_account(user, reason=DEACTIVATED, channel=SCIM_CHANNEL)
        user.is_active = False
    elif active is True and not user.is_active:
        leavers.reactivate_account(
            user,
            reason=gettext_noop("The directory reactivated the account."),
            channel=SCIM_CHANNEL,
            actor=None,
        )
        user.is_active = True


@transaction.atomic
def user_delete(user: User) -> None:
    """SCIM DELETE: the leaver, then the account is no longer a SCIM resource (404 from
    now on). The account itself stays, deactivated, for the audit trail."""
    leavers.deactivate_account(user, reason=REMOVED, channel=SCIM_CHANNEL)
    user = User.objects.get(pk=user.pk)
    user.scim_deleted_at = timezone.now()
    save_with_history(user, actor=None, reason=REMOVED, update_fields=["scim_deleted_at"])
