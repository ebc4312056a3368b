"""Access grants: the per-object, time-limited django-guardian permission an approved request
becomes, its expiry, reminders and revocation."""

from datetime import datetime

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from guardian.shortcuts import assign_perm, remove_perm

from customers import policies
from customers.models.access import AccessGrant, AccessLevel, AccessRequest
from customers.visibility import active_grants
from portal.audit import audit_record
from portal.audit_actions import AuditAction
from portal.errors import ApplicationError
from portal.history import history_user_set, save_with_history
from portal.models import User
from portal.notifications import notify
from portal.reasons import clean_reason
from portal.site_calendar import add_calendar_days

EXPIRY_REMINDER_DAYS = 3


GRANT_PERMISSIONS: dict[str, list[str]] = {
    AccessLevel.VIEW: ["view_records"],
    AccessLevel.EXPORT: ["view_records", "export_records"],
}


@transaction.atomic
def grant_create(*, access_request: AccessRequest, actor: User) -> AccessGrant:
    """Turn a fully approved request into a time-limited grant and its object permissions."""
    if hasattr(access_request, "grant"):
        raise ApplicationError(_("This request already has its grant."))
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
    reason = clean_reason(reason, what=_("the reason for revoking this grant"))
    return _revoke(grant=grant, actor=actor, reason=reason, told_as=str(actor))


@transaction.atomic
def grant_revoke_unattended(*, grant: AccessGrant, reason: str, by: str | Promise) -> AccessGrant:
    """The system ends a grant now, nobody acting: an access review's close revoking a grant
    no reviewer decided on. ``by`` names the rule in the holder's notification ("The access
    review “Q3”"; a lazy translation reads in the holder's language); ``reason`` (at least
    10 characters) is kept as the revocation's reason. The same revocation as
    ``grant_revoke`` (row history, permissions, audit event, notice), with no revoking user.
    Raises ``ApplicationError`` when the grant is already revoked."""
    reason = clean_reason(reason, what=_("the reason for revoking this grant"))
    return _revoke(grant=grant, actor=None, reason=reason, told_as=by)


def _revoke(
    *, grant: AccessGrant, actor: User | None, reason: str, told_as: str | Promise
) -> AccessGrant:
    grant = AccessGrant.objects.select_for_update().select_related("asset", "user").get(pk=grant.pk)
    if grant.revoked_at:
        raise ApplicationError(_("This grant is already revoked."))
    grant.revoked_at, grant.revoked_by, grant.revoke_reason = timezone.now(), actor, reason
    save_with_history(
        grant,
        actor=actor,
        reason=_("Revoked: %(reason)s") % {"reason": reason},
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
        context={"grant": grant, "actor": told_as, "reason": reason},
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
                # A fixed text: kept in English, translated where the history is shown.
                reason=gettext_noop("Expired: the expiry job removed its permissions."),
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
