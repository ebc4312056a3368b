"""The Django admin: an operator's tool, and every change made in it is an audit event.

design.md: an administrator holds no business permission by being one. So the admin manages
accounts, groups, two-factor devices, API tokens, axes lockouts and the text of the taxonomy
(and, where registered, notification delivery); it shows no customer's personal data, no
consent evidence, no audit log, no incident and no data asset, and it changes nothing a
business rule depends on (lawful basis, collection purposes, owner, classification,
memberships, grants, consents). Those change through the portal's services, by the roles that
may, with a reason (``customers.asset_stewardship``, ``consent.lawful_basis``).

Every model admin derives from ``AuditedAdmin``: each addition, change and deletion the admin
logs (its ``LogEntry``) is also an append-only ``AuditEvent`` (``admin.add``,
``admin.change``, ``admin.delete``) with the object and the names of the fields changed,
never their values (a password hash, a device key). The third-party admins (auth's groups,
authtoken, axes, django-otp) are registered again here on that base. None uses
simple-history's admin: its "revert" saves an old version of every field, read-only ones
included, a back door around everything above.
"""

from axes import admin as axes_admin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp.plugins.otp_totp import admin as otp_totp_admin
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken import admin as authtoken_admin
from rest_framework.authtoken.models import TokenProxy

from portal import roles
from portal.audit import audit_record, token_fingerprint
from portal.audit_actions import AuditAction
from portal.identity import leavers
from portal.identity.scim_tokens import scim_token_create, scim_token_revoke
from portal.models import ScimToken, User


class AuditedAdmin(admin.ModelAdmin):
    """A model admin whose every logged change is also an audit event.

    Django's admin calls ``log_addition``, ``log_change`` and ``log_deletions`` (before the
    deletion) inside the transaction of the change: the event commits with the change or
    not at all. ``audit_target`` says which object an event names (the token's owner for a
    token, whose string is its key).
    """

    def audit_target(self, obj):
        """The object the audit event names, and details to add to it."""
        return obj, {}

    def _audit(self, request, obj, action: AuditAction, message=None) -> None:
        target, extra = self.audit_target(obj)
        detail = {"model": obj._meta.label_lower, **extra}
        fields = getattr(request, "_admin_changed_fields", None)
        if fields:
            detail["fields"] = fields
        if isinstance(message, list) and message:
            detail["change"] = message
        audit_record(actor=request.user, action=action, target=target, detail=detail)

    def construct_change_message(self, request, form, formsets, add=False):
        # Names of the fields changed (the form's and its inlines'), never their values.
        fields = list(form.changed_data)
        for formset in formsets or []:
            for inline_form in formset.forms:
                fields += [
                    f"{formset.model._meta.model_name}.{name}" for name in inline_form.changed_data
                ]
        request._admin_changed_fields = sorted(set(fields))
        return super().construct_change_message(request, form, formsets, add)

    def log_addition(self, request, obj, message):
        entry = super().log_addition(request, obj, message)
        self._audit(request, obj, AuditAction.ADMIN_ADD, message)
        return entry

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        self._audit(request, obj, AuditAction.ADMIN_CHANGE, message)
        return entry

    def log_deletions(self, request, queryset):
        request._admin_changed_fields = None
        for obj in queryset:
            self._audit(request, obj, AuditAction.ADMIN_DELETE)
        return super().log_deletions(request, queryset)


class ReadOnlyFieldsAdmin(AuditedAdmin):
    """Shows every field but ``editable_fields`` read-only; nothing is added here."""

    editable_fields: tuple[str, ...] = ()

    def get_readonly_fields(self, request, obj=None):
        return [
            field.name
            for field in self.model._meta.get_fields()
            if getattr(field, "editable", False)
            and field.concrete
            and not field.auto_created
            and field.name not in self.editable_fields
        ]

    def has_add_permission(self, request, obj=None):
        return False


# --- Accounts and groups ------------------------------------------------------------------


def _password_change(request, extra_context=None):
    """The admin's "change password" is the portal's page: one door, which validates the
    new password and records ``auth.password_change`` (Django's own view records nothing)."""
    return redirect("password_change")


admin.site.password_change = _password_change

SELF_PROTECTED_FIELDS = ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")


@admin.register(User)
class UserAdmin(AuditedAdmin, DjangoUserAdmin):
    """Accounts. Nobody changes their own roles or rights here (another administrator
    must), and accounts are deactivated, never deleted: their audit events and history
    keep naming them."""

    fieldsets = DjangoUserAdmin.fieldsets + (
        ("Portal", {"fields": ("time_zone", "department", "manager")}),
    )
    raw_id_fields = ("manager",)

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.pk == request.user.pk:
            readonly += SELF_PROTECTED_FIELDS
        return readonly

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        """Unticking "active" runs the leaver in the admin's transaction, before the form is
        saved: every grant, request, held approval step, API token and session of the
        person ends, listed in one ``account.deactivate`` event. Ticking it again restores
        none of them, and is recorded as ``account.reactivate``, as the directory's
        reactivation is. A new department or manager runs the mover."""
        if change and "is_active" in form.changed_data and not obj.is_active:
            leavers.deactivate_account(
                obj,
                reason=_("Deactivated in the Django admin by %(user)s.") % {"user": request.user},
                channel="admin",
                actor=request.user,
            )
        elif change and "is_active" in form.changed_data:
            # As the directory's reactivation does: one ``account.reactivate`` event.
            leavers.reactivate_account(
                obj,
                reason=_("Reactivated in the Django admin by %(user)s.") % {"user": request.user},
                channel="admin",
                actor=request.user,
            )
        super().save_model(request, obj, form, change)
        moved = [field for field in ("department", "manager") if field in form.changed_data]
        if change and moved:
            before = {
                "department": form.initial.get("department") or "",
                "manager": User.objects.filter(pk=form.initial.get("manager")).first() or "",
            }
            changes = {
                field: (str(before[field]), str(getattr(obj, field) or "")) for field in moved
            }
            leavers.account_moved(obj, changes=changes, channel="admin", actor=request.user)


@admin.register(ScimToken)
class ScimTokenAdmin(AuditedAdmin):
    """SCIM bearer tokens: created here (the token is shown once, in the message) or with
    ``manage.py create_scim_token``; revoked with the list's action. Only a hash is kept,
    so no token can be read back."""

    list_display = ("name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at")
    fields = ("name",)
    actions = ["revoke"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        token, raw = scim_token_create(actor=request.user, name=form.cleaned_data["name"])
        obj.pk = token.pk
        messages.warning(request, _("The SCIM token, shown this once: %(token)s") % {"token": raw})

    def log_addition(self, request, obj, message):
        return None  # scim_token_create wrote the audit event, without the token

    @admin.action(description=gettext_lazy("Revoke the selected SCIM tokens"))
    def revoke(self, request, queryset):
        for token in queryset:
            scim_token_revoke(actor=request.user, token=token)


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(AuditedAdmin, DjangoGroupAdmin):
    """Groups. Compliance and Legal are roles: they keep their names and are never deleted
    (renaming another group to one of them would hand its members the role silently);
    joining and leaving them is audited as such (``portal.signals``)."""

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.name in roles.ROLE_GROUPS:
            readonly.append("name")
        return readonly

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.name in roles.ROLE_GROUPS:
            return False
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset.exclude(name__in=roles.ROLE_GROUPS))


# --- API tokens and two-factor devices ----------------------------------------------------

admin.site.unregister(TokenProxy)

# The admin names an object by its string everywhere (titles, confirmations, messages, its
# own log): a token's is its key. TokenProxy exists only for the admin; it gets a name that
# identifies the token without revealing it.
TokenProxy.__str__ = lambda token: f"API token of {token.user} ({token_fingerprint(token.key)})"


@admin.register(TokenProxy)
class TokenAdmin(AuditedAdmin, authtoken_admin.TokenAdmin):
    """API tokens: listed by owner and fingerprint (the ``token_id`` of their audit
    events), revoked by deleting. Never the key, and never issued here: a token issued by
    an administrator would be a way in as someone else (``manage.py drf_create_token``
    applies the two-factor rule)."""

    list_display = ("user", "fingerprint", "created")
    fields = ("user", "fingerprint", "created")
    readonly_fields = fields

    @admin.display(description=gettext_lazy("Fingerprint"))
    def fingerprint(self, token):
        return token_fingerprint(token.key)

    def audit_target(self, obj):
        return obj.user, {"token": token_fingerprint(obj.key)}

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


admin.site.unregister(TOTPDevice)


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(AuditedAdmin, otp_totp_admin.TOTPDeviceAdmin):
    """Two-factor devices: a lost phone's device is deleted (its owner enrols again in the
    portal), a throttled one released. Never added here, never its secret or settings:
    enrolment is the person's own (``/accounts/two-factor/enrol/``)."""

    editable = ("name", "throttling_failure_timestamp", "throttling_failure_count")

    def get_readonly_fields(self, request, obj=None):
        fieldsets = self.get_fieldsets(request, obj)
        fields = {name for _title, options in fieldsets for name in options["fields"]}
        return sorted(fields - set(self.editable))

    def has_add_permission(self, request):
        return False


# --- Lockouts (axes) ------------------------------------------------------------------------

# Logs of logins are audit material: the audit trail records logins, lockouts and failures
# for compliance. The lockouts themselves stay, to be lifted by deleting them.
for _log_model in (AccessLog, AccessFailureLog):
    if admin.site.is_registered(_log_model):
        admin.site.unregister(_log_model)
if admin.site.is_registered(AccessAttempt):
    admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class AccessAttemptAdmin(AuditedAdmin, axes_admin.AccessAttemptAdmin):
    """Failed logins counting towards a lockout; deleting one lifts the lock. No action
    that deletes behind the admin's log (axes' "clean up expired attempts")."""

    def get_actions(self, request):
        return {
            name: action
            for name, action in super().get_actions(request).items()
            if name == "delete_selected"
        }

    def has_change_permission(self, request, obj=None):
        return False
