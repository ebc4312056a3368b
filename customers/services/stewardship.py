"""Who answers for an asset and what its data was collected for: compliance's changes.

Both changes decide who may be used for what and who approves
access, so only a member of Compliance makes them, always with a written reason, under a row
lock, with a history row carrying the reason and an audit event (design.md: every decision
leaves a trace; the administrator holds no business permission, so the Django admin offers
neither field).
"""

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from consent.coverage_cache import coverage_changed
from consent.models import Purpose
from customers import policies
from customers.models.catalogue import DataAsset
from portal import approval_handover
from portal.audit import audit_record
from portal.audit_actions import AuditAction
from portal.errors import ApplicationError
from portal.history import history_paused, save_with_history
from portal.models import ApprovalChain, User
from portal.notifications import notify
from portal.reasons import clean_reason


def _reason(reason: str) -> str:
    return clean_reason(reason, kept_in=_("the asset's history"))


def _locked(asset: DataAsset) -> DataAsset:
    # Two officers changing the same asset at once queue here; the second sees the first's
    # result when it re-reads the row.
    return DataAsset.objects.select_for_update().get(pk=asset.pk)


@transaction.atomic
def asset_owner_change(*, actor: User, asset: DataAsset, owner: User, reason: str) -> DataAsset:
    """Make ``owner`` (an active user) the data owner of ``asset``.

    The owner decides the first approval step of every request for the asset, sees a
    restricted asset and its grants, and may revoke them (design.md, Roles). Guarantees:
    only compliance (else ``NotAllowed``); the new owner is active and not the current one
    (else ``ApplicationError`` on ``owner``); a reason of at least a sentence (on
    ``reason``). Open owner steps of pending requests and sharing requests for the asset move
    to the new owner (``portal.approval_handover.owner_steps_reassign``: compliance takes a step of
    the new owner's own request); decided steps stay as decided. Open erasure tasks stay
    with the owner who received them. History row with the reason, audit event
    ``asset.owner_change``, both owners told.
    """
    policies.require_may_manage_asset(actor, _("change an asset's owner"))
    reason = _reason(reason)
    if owner is None or not owner.is_active:
        raise ApplicationError(_("The new owner must be an active user."), field="owner")
    asset = _locked(asset)
    previous = get_user_model().objects.get(pk=asset.owner_id)
    if previous.pk == owner.pk:
        raise ApplicationError(
            _("%(owner)s already owns %(asset)s.") % {"owner": owner, "asset": asset.name},
            field="owner",
        )
    asset.owner = owner
    save_with_history(asset, actor=actor, reason=reason, update_fields=["owner", "updated_at"])
    chains = ApprovalChain.objects.filter(
        Q(access_request__asset=asset) | Q(sharing_request__asset=asset)
    )
    moved = approval_handover.owner_steps_reassign(
        chains=chains, old_owner=previous, new_owner=owner, actor=actor, reason=reason
    )
    audit_record(
        actor=actor,
        action=AuditAction.ASSET_OWNER_CHANGE,
        target=asset,
        detail={
            "from": previous.get_username(),
            "to": owner.get_username(),
            "reason": reason,
            "steps_reassigned": moved,
        },
    )
    notify(
        users=[previous, owner],
        kind="asset_owner_changed",
        context={
            "asset": asset,
            "owner": owner,
            "previous": previous,
            "actor": actor,
            "reason": reason,
            "moved": moved,
        },
        target=asset,
    )
    return asset


@transaction.atomic
def asset_collection_purposes_change(
    *, actor: User, asset: DataAsset, purposes: Iterable[Purpose], reason: str
) -> DataAsset:
    """Set the purposes ``asset``'s data was collected for (``collected_for``).

    A customer is eligible for a purpose covered by these whose lawful basis is not consent,
    without any consent of theirs (design.md, consent coverage): adding one can make every
    customer of the asset eligible. Guarantees: only compliance (else ``NotAllowed``); only
    active purposes and a real change (else ``ApplicationError`` on ``purposes``); a reason
    (on ``reason``). History row with the new purposes and the reason, audit event
    ``asset.collection_purposes_change`` with the keys before and after, cached coverage
    forgotten on commit.
    """
    policies.require_may_manage_asset(actor, _("change what an asset's data was collected for"))
    reason = _reason(reason)
    purposes = list(purposes)
    if any(not purpose.active for purpose in purposes):
        raise ApplicationError(_("Only active purposes can be chosen."), field="purposes")
    asset = _locked(asset)
    before = sorted(asset.collected_for.values_list("key", flat=True))
    after = sorted({purpose.key for purpose in purposes})
    if before == after:
        raise ApplicationError(
            _("These are already the purposes it was collected for."), field="purposes"
        )
    with history_paused(asset):
        asset.collected_for.set(purposes)
    # One history row for the change, written by the save: the new purposes, who and why.
    save_with_history(asset, actor=actor, reason=reason, update_fields=["updated_at"])
    coverage_changed()
    audit_record(
        actor=actor,
        action=AuditAction.ASSET_COLLECTION_PURPOSES_CHANGE,
        target=asset,
        detail={"from": before, "to": after, "reason": reason},
    )
    return asset
