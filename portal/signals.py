"""Audit events for changes that do not pass through our services.

Signals, against the house rule "prefer explicit calls", because these changes also come
from doors we do not own: the Django admin's group and permission widgets, guardian's
``assign_perm``/``remove_perm`` shortcuts, Django's login views. A receiver is the one
place that sees them all. Each runs inside the transaction of the change it records.
"""

from axes.signals import user_locked_out
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed, post_delete, post_save
from guardian.models.models import BaseObjectPermission

from portal import roles, security
from portal.audit import audit_record, current_user, security_event
from portal.audit_actions import AuditAction

# --- Logins -------------------------------------------------------------------------------


def _logged_in(sender, request, user, **kwargs):
    single_sign_on = getattr(request, "portal_single_sign_on", None)
    if single_sign_on:
        # Which provider, how it signed the person in, the roles the directory changed.
        audit_record(actor=user, action=AuditAction.AUTH_SSO_LOGIN, detail=single_sign_on)
    else:
        audit_record(actor=user, action=AuditAction.AUTH_LOGIN)


def _logged_out(sender, request, user, **kwargs):
    audit_record(actor=user, action=AuditAction.AUTH_LOGOUT)


def _login_failed(sender, credentials, request=None, **kwargs):
    # Django has already masked the password in ``credentials``; keep only the name tried.
    username = str(credentials.get(get_user_model().USERNAME_FIELD, ""))[:150]
    audit_record(
        actor=None,
        actor_label="anonymous",
        action=AuditAction.AUTH_LOGIN_FAILED,
        detail={"username": username},
    )
    security_event("auth.login_failed", username=username)


def _locked_out(sender, request, username, ip_address, **kwargs):
    """django-axes refused a login: too many wrong passwords for this name from this IP, or
    from this IP over every name (then ``scope`` is ``address``)."""
    username = str(username or "")[:150]
    detail = {"username": username, "ip": ip_address or ""}
    if getattr(request, "portal_address_locked", False):
        detail["scope"] = "address"
    audit_record(
        actor=None, actor_label="anonymous", action=AuditAction.AUTH_LOCKOUT, detail=detail
    )
    security_event(
        "auth.lockout",
        username=username,
        locked_ip=ip_address or "",
        scope=detail.get("scope", "name"),
    )


# --- Object permissions (guardian) ----------------------------------------------------------


def _permission_detail(permission) -> dict:
    holder = (
        {"user": permission.user.get_username()}
        if hasattr(permission, "user_id")
        else {"group": permission.group.name}
    )
    return {"permission": permission.permission.codename, **holder}


def _object_permission_saved(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        audit_record(
            actor=current_user(),
            action=AuditAction.PERMISSION_ASSIGN,
            target=instance.content_object,
            detail=_permission_detail(instance),
        )


def _object_permission_deleted(sender, instance, **kwargs):
    audit_record(
        actor=current_user(),
        action=AuditAction.PERMISSION_REMOVE,
        target=instance.content_object,
        detail=_permission_detail(instance),
    )


# --- Membership of Compliance and Legal -----------------------------------------------------


def _group_membership_changed(sender, instance, action, reverse, pk_set, **kwargs):
    """``user.groups.add/remove/clear/set`` and ``group.user_set.add/remove/clear/set``.

    Additions are recorded after the rows exist (``pk_set`` then holds only the new ones);
    removals before the rows go (the receiver still sees which memberships really end),
    inside the same transaction.
    """
    if action not in {"post_add", "pre_remove", "pre_clear"}:
        return
    memberships = sender.objects.filter(group__name__in=roles.ROLE_GROUPS)
    if reverse:  # group.user_set.<action>(users)
        memberships = memberships.filter(group_id=instance.pk)
        if pk_set is not None:
            memberships = memberships.filter(user_id__in=pk_set)
    else:  # user.groups.<action>(groups)
        memberships = memberships.filter(user_id=instance.pk)
        if pk_set is not None:
            memberships = memberships.filter(group_id__in=pk_set)
    verb = AuditAction.GROUP_MEMBER_ADD if action == "post_add" else AuditAction.GROUP_MEMBER_REMOVE
    for membership in memberships.select_related("user", "group").order_by("pk"):
        audit_record(
            actor=current_user(),
            action=verb,
            target=membership.user,
            detail={"group": membership.group.name, "user": membership.user.get_username()},
        )


def connect() -> None:
    """Called once from ``PortalConfig.ready``."""
    user_logged_in.connect(_logged_in, dispatch_uid="audit_login")
    user_logged_out.connect(_logged_out, dispatch_uid="audit_logout")
    user_login_failed.connect(_login_failed, dispatch_uid="audit_login_failed")
    user_locked_out.connect(_locked_out, dispatch_uid="audit_lockout")
    user_logged_in.connect(security.session_started, dispatch_uid="session_idle_clock")
    m2m_changed.connect(
        _group_membership_changed,
        sender=get_user_model().groups.through,
        dispatch_uid="audit_group_membership",
    )
    # Every object-permission model: DataAsset's direct ones and guardian's generic ones.
    for model in apps.get_models():
        if issubclass(model, BaseObjectPermission):
            post_save.connect(_object_permission_saved, sender=model, dispatch_uid=f"audit_{model}")
            post_delete.connect(
                _object_permission_deleted, sender=model, dispatch_uid=f"audit_del_{model}"
            )
