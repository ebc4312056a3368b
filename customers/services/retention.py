"""The end of an asset's retention period: the owner extends it with a reason or deletes the data,
and is reminded weekly while it is past due."""

from datetime import date, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from customers import policies
from customers.models.catalogue import AssetCustomer, DataAsset
from customers.models.retention import RetentionReminder
from customers.selectors.retention import assets_past_retention
from customers.services.assets import memberships_remove
from portal import roles
from portal.audit import audit_record
from portal.audit_actions import AuditAction
from portal.display import date_text
from portal.errors import ApplicationError
from portal.history import save_with_history
from portal.input_limits import require_ahead
from portal.models import User
from portal.notifications import notify
from portal.reasons import clean_reason

RETENTION_REMINDER_INTERVAL_DAYS = 7


@transaction.atomic
def asset_retention_extend(
    *, actor: User, asset: DataAsset, retention_date: date, reason: str
) -> DataAsset:
    """Set a new retention date, with the reason the data must be kept longer (in the
    asset's history and the audit trail).

    The date lies after today and at most ``FUTURE_YEARS`` years ahead. Only compliance
    may bring a date that has not passed forward: an owner who could would delete early by
    two steps what ``asset_retention_delete`` refuses in one."""
    policies.require_may_record_retention(actor, asset)
    reason = clean_reason(
        reason, field="reason", message=_("Give the reason the data must be kept longer.")
    )
    if retention_date is None or retention_date <= timezone.localdate():
        raise ApplicationError(
            _("The new retention date must be in the future."), field="retention_date"
        )
    require_ahead(retention_date, field="retention_date", what=_("The new retention date"))
    asset = DataAsset.objects.select_for_update().get(pk=asset.pk)
    if asset.retired_at:
        raise ApplicationError(_("This asset's data was already deleted."))
    before = asset.retention_date
    if (
        before
        and retention_date < before
        and before >= timezone.localdate()
        and not roles.is_compliance(actor)
    ):
        raise ApplicationError(
            _(
                "The data must be kept until %(date)s. Only compliance can shorten a "
                "retention period."
            )
            % {"date": date_text(before)},
            field="retention_date",
        )
    asset.retention_date = retention_date
    save_with_history(
        asset, actor=actor, reason=reason, update_fields=["retention_date", "updated_at"]
    )
    audit_record(
        actor=actor,
        action=AuditAction.ASSET_RETENTION_CHANGE,
        target=asset,
        detail={"from": before, "to": retention_date, "reason": reason},
    )
    return asset


@transaction.atomic
def asset_retention_delete(*, actor: User, asset: DataAsset, reason: str) -> DataAsset:
    """Record that the asset's data was deleted at the end of its retention: the asset is
    retired and holds no customer in the portal any more (each removal in the membership
    history), so no grant reads and no export carries anyone from it.

    The retention date is how long the data must be kept (a contract, bookkeeping law): an
    owner records the deletion once it has passed (from the day after), or at any time for
    an asset with no retention date. Before it, only compliance records the deletion, when
    the law requires it early (an erasure the retention does not override, GDPR Art. 17(1)
    and (3)(b); a court order); its reason says which, and the audit event is marked
    ``early``. Raises ``NotAllowed`` for anyone else, ``ApplicationError`` when refused."""
    policies.require_may_record_retention(actor, asset)
    reason = clean_reason(
        reason, field="reason", message=_("Say how and where the data was deleted (a sentence).")
    )
    asset = DataAsset.objects.select_for_update().get(pk=asset.pk)
    if asset.retired_at:
        raise ApplicationError(_("This asset's data was already deleted."))
    early = bool(asset.retention_date and asset.retention_date >= timezone.localdate())
    if early and asset.retention_date and not roles.is_compliance(actor):
        raise ApplicationError(
            _(
                "The data of %(asset)s must be kept until %(date)s (its retention date). "
                "Record the deletion after that date; if the law requires deleting it earlier "
                "(an erasure request, a court order), ask compliance to record it."
            )
            % {"asset": asset.name, "date": date_text(asset.retention_date)}
        )
    removed = memberships_remove(
        memberships=AssetCustomer.objects.filter(asset=asset), actor=actor, reason=reason
    )
    asset.retired_at, asset.retired_by = timezone.now(), actor
    save_with_history(
        asset, actor=actor, reason=reason, update_fields=["retired_at", "retired_by", "updated_at"]
    )
    audit_record(
        actor=actor,
        action=AuditAction.ASSET_RETENTION_DELETE,
        target=asset,
        detail={
            "retention_date": asset.retention_date,
            "early": early,
            "removed": removed,
            "reason": reason,
        },
    )
    return asset


def retention_remind(*, today: date | None = None) -> int:
    """Beat job: remind the owner of each asset past its retention date, once a week, until
    they record the deletion or a new date. What was sent is recorded (``RetentionReminder``),
    so running the job again the same week sends nothing. Returns how many were sent."""
    today = today or timezone.localdate()
    since = today - timedelta(days=RETENTION_REMINDER_INTERVAL_DAYS - 1)
    sent = 0
    for pk in list(assets_past_retention(today=today).values_list("pk", flat=True)):
        with transaction.atomic():
            asset = DataAsset.objects.select_for_update().select_related("owner").get(pk=pk)
            if asset.retired_at or not asset.retention_date or asset.retention_date >= today:
                continue
            recent = RetentionReminder.objects.filter(
                asset=asset, retention_date=asset.retention_date, sent_on__gte=since
            )
            if recent.exists():
                continue
            RetentionReminder.objects.create(
                asset=asset, retention_date=asset.retention_date, sent_on=today
            )
            notify(
                users=[asset.owner],
                kind="retention_past",
                context={"asset": asset},
                link=reverse("customers:retention_list"),
                target=asset,
            )
            sent += 1
    return sent
