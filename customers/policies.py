"""Who may act on assets, grants, erasures and retention: each rule once.

Services call the ``require_*`` functions (they raise ``portal.errors.NotAllowed``, a 403 on
a page and in the API); views and templates call the ``may_*`` ones to show or hide a form,
and a view calls ``require_*`` itself only where the refusal must come before the form is
read. Whether a person may *see* an object is not here: the loaders of
``customers/permissions.py`` answer 404 for that.
"""

from django.utils.translation import gettext as _

from portal import roles
from portal.errors import NotAllowed


def may_manage_asset(user) -> bool:
    """Confirm or change an asset's classification, owner, or what its data was collected
    for: members of Compliance only (design.md, roles)."""
    return roles.is_compliance(user)


def require_may_manage_asset(user, doing: str) -> None:
    """``NotAllowed`` ``Only a compliance officer can <doing>.`` unless ``may_manage_asset``."""
    roles.require_compliance(user, doing)


def may_revoke_grant(user, grant) -> bool:
    """Revoke an access grant: the owner of its asset, or a member of Compliance."""
    return roles.is_compliance(user) or grant.asset.owner_id == getattr(user, "pk", None)


def require_may_revoke_grant(user, grant) -> None:
    """``NotAllowed`` unless ``may_revoke_grant(user, grant)``."""
    if not may_revoke_grant(user, grant):
        raise NotAllowed(_("Only the asset's owner or compliance can revoke a grant."))


def may_confirm_erasure(user, task) -> bool:
    """Confirm an erasure task (GDPR Art. 17): the owner the task was given to, only."""
    return task.owner_id == getattr(user, "pk", None)


def require_may_confirm_erasure(user, task) -> None:
    """``NotAllowed`` unless ``may_confirm_erasure(user, task)``."""
    if not may_confirm_erasure(user, task):
        raise NotAllowed(_("Only the owner of these assets can confirm this erasure."))


def may_record_retention(user, asset) -> bool:
    """Record a new retention date or the deletion of an asset's data: its owner or a
    member of Compliance (shortening a running retention or deleting early is compliance's
    alone, a rule of the retention services)."""
    return asset.owner_id == getattr(user, "pk", None) or roles.is_compliance(user)


def require_may_record_retention(user, asset) -> None:
    """``NotAllowed`` unless ``may_record_retention(user, asset)``."""
    if not may_record_retention(user, asset):
        raise NotAllowed(_("Only the asset's owner or compliance can record this."))


def may_start_access_review(user) -> bool:
    """Start an access review campaign: members of Compliance only (they run certification)."""
    return roles.is_compliance(user)


def require_may_start_access_review(user) -> None:
    """``NotAllowed`` unless ``may_start_access_review(user)``."""
    roles.require_compliance(user, _("start an access review"))


def may_decide_review_item(user, item) -> bool:
    """Keep or revoke a grant under review: the item's reviewer (the asset's owner at the
    campaign's start) or, for an item given to the fallback reviewer, a member of Compliance."""
    if item.reviewer_id is None:
        return roles.is_compliance(user)
    return item.reviewer_id == getattr(user, "pk", None)


def require_may_decide_review_item(user, item) -> None:
    """``NotAllowed`` unless ``may_decide_review_item(user, item)``."""
    if not may_decide_review_item(user, item):
        raise NotAllowed(_("Only the item's reviewer can decide it."))
