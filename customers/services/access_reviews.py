"""Access reviews (certification campaigns): starting one over the active grants in a scope,
the reviewers' keep-or-revoke decisions (a revocation goes through the grant revoke service),
the reminders before the due date, and the close that applies the configured outcome to the
items nobody decided (and starts the next campaign of a repeating one)."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from simple_history.utils import bulk_create_with_history

from consent.coverage_cache import cached_coverage_for
from consent.models import Purpose
from customers import policies
from customers.models.access import AccessGrant
from customers.models.access_reviews import (
    DEFAULT_UNUSED_DAYS,
    AccessReview,
    AccessReviewItem,
    ReviewDecision,
    ReviewRepeat,
)
from customers.models.catalogue import Classification, DataAsset
from customers.selectors.access_reviews import last_use, recommendation, with_evidence
from customers.services import grants
from customers.visibility import active_grants
from portal import roles
from portal.audit import audit_record
from portal.audit_actions import AuditAction
from portal.errors import ApplicationError
from portal.history import save_with_history
from portal.input_limits import one_line
from portal.models import User
from portal.notifications import notify
from portal.reasons import clean_reason
from portal.site_calendar import add_calendar_days, add_calendar_months

REPEAT_MONTHS = {ReviewRepeat.QUARTERLY: 3, ReviewRepeat.YEARLY: 12}
# Reminders of reviewers with undecided items: (days before the due date, the job marker).
REMINDERS = ((7, "week_reminder_sent_at"), (1, "day_reminder_sent_at"))
# A mover's grants wait this many calendar days for their owners' re-confirmation.
MOVER_REVIEW_DAYS = 14


@dataclass(frozen=True)
class ReviewScope:
    """Which active grants a campaign covers: all of them when every field is empty; each
    field set narrows it (the asset's classification, the asset, its owner, the purpose, the
    person holding the grant)."""

    classification: str = ""
    asset: DataAsset | None = None
    owner: User | None = None
    purpose: Purpose | None = None
    holder: User | None = None


@dataclass(frozen=True)
class ReviewSettings:
    """A campaign's name, due date and rules (see ``AccessReview``)."""

    name: str
    due_at: datetime
    undecided_outcome: str = ReviewDecision.KEEP.value
    repeat: str = ReviewRepeat.NONE.value
    unused_days: int = DEFAULT_UNUSED_DAYS
    scope: ReviewScope = field(default_factory=ReviewScope)


def _clean_settings(settings: ReviewSettings, now: datetime) -> str:
    name = one_line(settings.name)
    if not name or len(name) > 200:
        raise ApplicationError(_("Give the campaign a name of 1 to 200 characters."), field="name")
    if settings.due_at <= now:
        raise ApplicationError(_("The due date must be in the future."), field="due_at")
    if settings.undecided_outcome not in ReviewDecision.values:
        raise ApplicationError(_("Choose keep or revoke."), field="undecided_outcome")
    if settings.repeat not in ReviewRepeat.values:
        raise ApplicationError(_("Choose none, quarterly or yearly."), field="repeat")
    if not 1 <= settings.unused_days <= 365:
        raise ApplicationError(_("Give 1 to 365 days."), field="unused_days")
    if settings.scope.classification not in ("", *Classification.values):
        raise ApplicationError(_("Choose a classification."), field="classification")
    return name


def _grants_in_scope(scope: ReviewScope, now: datetime) -> QuerySet[AccessGrant]:
    conditions = Q()
    if scope.classification:
        conditions &= Q(asset__classification=scope.classification)
    if scope.asset is not None:
        conditions &= Q(asset=scope.asset)
    if scope.owner is not None:
        conditions &= Q(asset__owner=scope.owner)
    if scope.purpose is not None:
        conditions &= Q(purpose=scope.purpose)
    if scope.holder is not None:
        conditions &= Q(user=scope.holder)
    grants_in_scope = active_grants(now).filter(conditions)
    return grants_in_scope.select_related("asset__owner", "purpose").order_by("pk")


def _item_for(review: AccessReview, grant: AccessGrant, coverages: dict) -> AccessReviewItem:
    """The item of one grant: the asset's owner reviews it, unless the owner has left or
    holds the grant; then compliance (reviewer ``None``)."""
    owner = grant.asset.owner
    reviewer: User | None = owner
    fallback = ""
    # Stored in English and translated where shown (the campaign's page).
    if not owner.is_active:
        reviewer, fallback = None, gettext_noop("The asset's owner has left.")
    elif owner.pk == grant.user_id:
        reviewer, fallback = None, gettext_noop("The asset's owner holds the grant.")
    pair = (grant.asset_id, grant.purpose_id)
    if pair not in coverages:
        coverages[pair] = cached_coverage_for(grant.asset, grant.purpose)
    coverage = coverages[pair]
    return AccessReviewItem(
        review=review,
        grant=grant,
        reviewer=reviewer,
        fallback_reason=fallback,
        coverage_eligible=coverage.eligible,
        coverage_total=coverage.total,
    )


@transaction.atomic
def review_start(
    *, actor: User, settings: ReviewSettings, now: datetime | None = None
) -> AccessReview:
    """Compliance starts a campaign: one item per grant active at ``now`` (aware, default
    this moment) in ``settings.scope``, fixed now (later grants are not in it). Each
    reviewer is told. Raises ``NotAllowed`` for anyone but compliance and
    ``ApplicationError`` (naming the field) for a bad setting; nothing is written then."""
    policies.require_may_start_access_review(actor)
    return _review_create(started_by=actor, settings=settings, now=now or timezone.now())


@transaction.atomic
def mover_review_start(*, holder: User, change: str, actor: User | None) -> AccessReview | None:
    """The portal asks the owners to re-confirm the active grants of ``holder``, whose
    department or manager changed (the mover; ``change`` says how, e.g. ``department
    Sales → Marketing``). One campaign over the holder's grants, each item for the asset's
    owner (compliance when the owner has left or is the holder), due in
    ``MOVER_REVIEW_DAYS`` calendar days; a grant nobody re-confirms by then is revoked.
    ``actor`` (who changed the person, ``None`` for the directory) is not checked: the
    change itself is the trigger. Returns ``None`` when the holder has no active grant.
    Source: ISO/IEC 27002:2022 control 5.18 (access rights reviewed on a change of role)."""
    now = timezone.now()
    if not active_grants(now).filter(user=holder).exists():
        return None
    name = _("Mover: %(holder)s (%(change)s)") % {"holder": holder, "change": change}
    settings = ReviewSettings(
        name=one_line(name)[:200],
        due_at=add_calendar_days(now, MOVER_REVIEW_DAYS),
        undecided_outcome=ReviewDecision.REVOKE.value,
        scope=ReviewScope(holder=holder),
    )
    return _review_create(started_by=actor, settings=settings, now=now)


def _review_create(
    *, started_by: User | None, settings: ReviewSettings, now: datetime
) -> AccessReview:
    """Write a campaign, its items and its audit event, and tell each reviewer."""
    name = _clean_settings(settings, now)
    scope = settings.scope
    review = AccessReview(
        name=name,
        due_at=settings.due_at,
        undecided_outcome=settings.undecided_outcome,
        repeat=settings.repeat,
        unused_days=settings.unused_days,
        scope_classification=scope.classification,
        scope_asset=scope.asset,
        scope_owner=scope.owner,
        scope_purpose=scope.purpose,
        scope_holder=scope.holder,
        started_by=started_by,
    )
    save_with_history(review, actor=started_by, reason=gettext_noop("Access review started"))
    coverages: dict = {}
    items = [_item_for(review, grant, coverages) for grant in _grants_in_scope(scope, now)]
    bulk_create_with_history(items, AccessReviewItem, batch_size=1000, default_user=started_by)
    audit_record(
        actor=started_by,
        action=AuditAction.ACCESS_REVIEW_START,
        target=review,
        detail={"name": name, "items": len(items), "due_at": review.due_at.isoformat()},
    )
    reviewers = {item.reviewer for item in items if item.reviewer is not None}
    # Compliance, the fallback reviewer, started the campaign itself unless the portal did.
    if started_by is None and any(item.reviewer is None for item in items):
        reviewers |= set(roles.role_members(roles.COMPLIANCE))
    notify(
        users=sorted(reviewers, key=lambda user: user.pk),
        kind="access_review_started",
        context={"review": review},
        link=review.get_absolute_url(),
    )
    return review


def _decide(
    item: AccessReviewItem,
    *,
    actor: User | None,
    decision: str,
    reason: str,
    now: datetime,
) -> None:
    """Record ``decision`` on a locked, undecided ``item`` read ``with_evidence`` (the
    evidence is kept beside it) and revoke its grant when that is the decision."""
    item.decision, item.reason, item.decided_by, item.decided_at = decision, reason, actor, now
    item.automatic = actor is None
    item.last_viewed_at = item.seen_viewed_at  # type: ignore[attr-defined]
    item.last_exported_at = item.seen_exported_at  # type: ignore[attr-defined]
    item.uses_in_window = item.seen_uses  # type: ignore[attr-defined]
    save_with_history(
        item,
        actor=actor,
        # The decision's label in the language active now (a stored text with values).
        reason=f"{ReviewDecision(decision).label}: {reason}",
    )
    grant = item.grant
    if decision == ReviewDecision.REVOKE and grant.is_active(now):
        if actor is None:
            grants.grant_revoke_unattended(
                grant=grant,
                reason=reason,
                by=_("The access review “%(name)s”") % {"name": item.review.name},
            )
        else:
            grants.grant_revoke(grant=grant, actor=actor, reason=reason)


def _locked_undecided(pk: int, now: datetime) -> AccessReviewItem:
    """The item ``pk``, its row locked, re-read with its evidence; ``ApplicationError`` when
    it is decided or its campaign closed (a second click, or a decision after the close)."""
    AccessReviewItem.objects.select_for_update().get(pk=pk)
    item = with_evidence(AccessReviewItem.objects.filter(pk=pk), now=now).get()
    if item.decision:
        raise ApplicationError(
            _("This item was already decided (%(decision)s) by %(by)s.")
            % {
                "decision": ReviewDecision(item.decision).label.lower(),
                "by": item.decided_by or _("the campaign close"),
            }
        )
    if not item.review.is_open:
        raise ApplicationError(_("This access review is closed."))
    return item


@transaction.atomic
def review_item_decide(
    *, item: AccessReviewItem, actor: User, decision: str, reason: str
) -> AccessReviewItem:
    """The reviewer keeps or revokes the item's grant (``decision`` ``"keep"`` or
    ``"revoke"``) with a reason (at least 10 characters). A revocation ends the grant at once
    through ``grants.grant_revoke``. The evidence at this moment is kept on the item.
    Raises ``NotAllowed`` unless ``actor`` may decide it, ``ApplicationError`` for a bad
    decision or reason, a decided item (two clicks at once make one decision) or a closed
    campaign. Returns the item as decided."""
    policies.require_may_decide_review_item(actor, item)
    if decision not in ReviewDecision.values:
        raise ApplicationError(_("Choose keep or revoke."), field="decision")
    reason = clean_reason(reason, what=_("the reason for this decision"))
    now = timezone.now()
    item = _locked_undecided(item.pk, now)
    _decide(item, actor=actor, decision=decision, reason=reason, now=now)
    audit_record(
        actor=actor,
        action=AuditAction.ACCESS_REVIEW_DECIDE,
        target=item.review,
        asset_id=item.grant.asset_id,
        detail={"item": item.pk, "grant": item.grant_id, "decision": decision, "reason": reason},
    )
    return item


@transaction.atomic
def review_items_accept_recommendations(
    *,
    items: list[AccessReviewItem],
    actor: User,
    reason: str,
    shown: Mapping[int, str] | None = None,
) -> int:
    """Decide each undecided item of ``items`` (a page the reviewer saw) as recommended
    (``selectors.access_reviews.recommendation``), all with one ``reason``. ``shown``: the
    recommendation the page showed per item id; when the evidence changed since (a use, or
    days passing), the decision would not be the one the reviewer accepted, so nothing is
    decided. All or nothing: ``NotAllowed`` if ``actor`` may not decide one of them,
    ``ApplicationError`` for a short reason or a changed recommendation. Items decided
    meanwhile are skipped. Returns how many were decided."""
    for item in items:
        policies.require_may_decide_review_item(actor, item)
    reason = clean_reason(reason, what=_("the reason for these decisions"))
    now = timezone.now()
    decided = 0
    for pk in sorted(item.pk for item in items):
        try:
            item = _locked_undecided(pk, now)
        except ApplicationError:
            continue
        decision = recommendation(item, now=now)
        if shown is not None and shown.get(pk) != decision:
            raise ApplicationError(
                _(
                    "The recommendation for %(holder)s on %(asset)s is now “%(decision)s”, "
                    "not what the page showed: nothing was decided. Reload the page and "
                    "check the evidence."
                )
                % {
                    "holder": item.grant.user,
                    "asset": item.grant.asset.name,
                    "decision": ReviewDecision(decision).label.lower(),
                }
            )
        _decide(item, actor=actor, decision=decision, reason=reason, now=now)
        audit_record(
            actor=actor,
            action=AuditAction.ACCESS_REVIEW_DECIDE,
            target=item.review,
            asset_id=item.grant.asset_id,
            detail={"item": pk, "grant": item.grant_id, "decision": decision, "reason": reason},
        )
        decided += 1
    return decided


def _close_undecided(review: AccessReview, now: datetime) -> int:
    outcome = review.undecided_outcome
    reason = _("Nobody decided by the due date of the access review “%(name)s”: %(outcome)s.") % {
        "name": review.name,
        "outcome": ReviewDecision(outcome).label.lower(),
    }
    undecided = review.items.filter(decision="").order_by("pk").values_list("pk", flat=True)
    for pk in list(undecided):
        item = _locked_undecided(pk, now)
        revoking = outcome == ReviewDecision.REVOKE and item.grant.is_active(now)
        _decide(item, actor=None, decision=outcome, reason=reason, now=now)
        if revoking:
            audit_record(
                actor=None,
                action=AuditAction.ACCESS_REVIEW_AUTO_REVOKE,
                target=item.review,
                asset_id=item.grant.asset_id,
                detail={"item": pk, "grant": item.grant_id, "last_used": str(last_use(item))},
            )
    return len(undecided)


@transaction.atomic
def review_close(*, review: AccessReview, now: datetime | None = None) -> AccessReview:
    """Close ``review`` at ``now`` (aware; default this moment): every undecided item gets
    the campaign's ``undecided_outcome`` (a revocation through the grant revoke service, no
    user acting), the close is audited, and a repeating campaign starts its next round with
    the same scope and rules, due 3 or 12 calendar months later. Closing a closed campaign
    changes nothing. Returns the campaign as closed."""
    now = now or timezone.now()
    review = AccessReview.objects.select_for_update().get(pk=review.pk)
    if not review.is_open:
        return review
    applied = _close_undecided(review, now)
    review.closed_at = now
    save_with_history(review, actor=None, reason=gettext_noop("Closed at its due date"))
    months = REPEAT_MONTHS.get(ReviewRepeat(review.repeat))
    # The next round starts in the name of whoever started this one; once they have left
    # Compliance it does not start (the close event says so) and compliance starts anew.
    repeats = bool(months) and policies.may_start_access_review(review.started_by)
    audit_record(
        actor=None,
        action=AuditAction.ACCESS_REVIEW_CLOSE,
        target=review,
        detail={
            "undecided": applied,
            "outcome": review.undecided_outcome,
            "next_round": "started" if repeats else ("not started" if months else "none"),
        },
    )
    if months and repeats:
        _start_next(review, months)
    return review


def _start_next(review: AccessReview, months: int) -> None:
    """The next round of a repeating campaign, started in the name of whoever started it."""
    settings = ReviewSettings(
        name=review.name,
        due_at=add_calendar_months(review.due_at, months),
        undecided_outcome=review.undecided_outcome,
        repeat=review.repeat,
        unused_days=review.unused_days,
        scope=ReviewScope(
            classification=review.scope_classification,
            asset=review.scope_asset,
            owner=review.scope_owner,
            purpose=review.scope_purpose,
            holder=review.scope_holder,
        ),
    )
    if review.started_by is not None:  # repeats is False for a portal-started campaign
        review_start(actor=review.started_by, settings=settings, now=review.closed_at)


def reviews_close_due(*, now: datetime | None = None) -> int:
    """Beat job: close every open campaign whose due date has passed (``review_close``).
    Idempotent. Returns how many were closed."""
    now = now or timezone.now()
    due = AccessReview.objects.filter(closed_at__isnull=True, due_at__lte=now)
    closed = 0
    for review in list(due):
        review_close(review=review, now=now)
        closed += 1
    return closed


def reviews_remind(*, now: datetime | None = None) -> int:
    """Beat job: tell each reviewer with undecided items of an open campaign once a week
    (7 calendar days) and once a day before its due date. Each reminder is claimed on the
    campaign first, so two workers send it once. Returns how many reminders went out."""
    now = now or timezone.now()
    sent = 0
    for days, marker in REMINDERS:
        due = AccessReview.objects.filter(
            closed_at__isnull=True,
            due_at__gt=now,
            due_at__lte=add_calendar_days(now, days),
            **{f"{marker}__isnull": True},
        )
        for review in list(due):
            with transaction.atomic():
                if _claim_reminder(review, marker, now):
                    sent += _remind(review, days)
    return sent


def _claim_reminder(review: AccessReview, marker: str, now: datetime) -> bool:
    """Set the reminder's job marker unless another run did: whether this run sends it."""
    unclaimed = AccessReview.objects.filter(pk=review.pk)
    if marker == "week_reminder_sent_at":
        claimed = unclaimed.filter(week_reminder_sent_at=None).update(week_reminder_sent_at=now)
    else:
        claimed = unclaimed.filter(day_reminder_sent_at=None).update(day_reminder_sent_at=now)
    return claimed == 1


def _remind(review: AccessReview, days: int) -> int:
    undecided = review.items.filter(decision="")
    reviewers = list(User.objects.filter(pk__in=undecided.values("reviewer")).order_by("pk"))
    if undecided.filter(reviewer__isnull=True).exists():
        reviewers += [
            user for user in roles.role_members(roles.COMPLIANCE) if user not in reviewers
        ]
    notify(
        users=reviewers,
        kind="access_review_reminder",
        context={"review": review, "days": days},
        link=review.get_absolute_url(),
    )
    return len(reviewers)
