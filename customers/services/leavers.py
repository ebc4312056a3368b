"""What customers' access code ends when a person leaves, and flags when they move
(registered with ``portal.identity.leavers`` in ``CustomersConfig.ready``)."""

from django.utils import timezone
from django.utils.translation import gettext_lazy, gettext_noop

from customers.models.access_reviews import AccessReviewItem
from customers.services import access_reviews, grants
from customers.visibility import active_grants
from portal.history import update_with_history
from portal.models import User

# A fixed history reason: kept in English, translated where the history is shown.
LEFT = gettext_noop("The reviewer has left.")


def leaver_grants_end(user: User, actor: User | None, reason: str) -> dict[str, list[int]]:
    """Revoke every active grant of ``user`` now, with ``reason`` (the revocation service:
    permissions removed, audited, the holder told), and give the undecided access-review
    items ``user`` was to decide to compliance, the fallback reviewer. Idempotent.
    ``actor`` is named by the deactivation's own audit event. Returns the ids, as
    ``{"grants_revoked": [...], "review_items_handed_over": [...]}``."""
    revoked = []
    for grant in active_grants(timezone.now()).filter(user=user).order_by("pk"):
        grants.grant_revoke_unattended(
            grant=grant, reason=reason, by=gettext_lazy("The deactivation of your account")
        )
        revoked.append(grant.pk)
    items = AccessReviewItem.objects.filter(
        reviewer=user, decision="", review__closed_at__isnull=True
    ).order_by("pk")
    handed = list(items.values_list("pk", flat=True))
    update_with_history(
        AccessReviewItem.objects.filter(pk__in=handed),
        actor=actor,
        reason=LEFT,
        reviewer=None,
        fallback_reason=LEFT,
    )
    return {"grants_revoked": revoked, "review_items_handed_over": handed}


def mover_grants_flag(user: User, change: str, actor: User | None) -> dict[str, list[int]]:
    """Flag the active grants of ``user`` (a mover: ``change`` says what changed) for
    their owners to re-confirm: one re-confirmation campaign
    (``access_reviews.mover_review_start``). Returns ``{"reviews_started": [id]}``, empty
    when ``user`` holds no active grant."""
    review = access_reviews.mover_review_start(holder=user, change=change, actor=actor)
    return {"reviews_started": [review.pk] if review else []}
