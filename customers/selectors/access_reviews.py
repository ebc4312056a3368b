"""Access reviews as compliance and the reviewers see them: the campaigns, their items with
the evidence of use beside each (from the audit trail), the recommendation, and the progress
per reviewer."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import (
    CharField,
    Count,
    DateTimeField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from customers.models.access_reviews import (
    EVIDENCE_WINDOW_DAYS,
    AccessReview,
    AccessReviewItem,
    ReviewDecision,
)
from portal import roles
from portal.audit_actions import AuditAction
from portal.models import AuditEvent, User

# How the audit trail names a grant as the target of a record view or an export.
GRANT_TARGET_TYPE = "customers.accessgrant"


def review_list_for(user: User) -> QuerySet[AccessReview]:
    """Campaigns ``user`` may see: every one for compliance, for anyone else those with an
    item they review. Newest first."""
    reviews = AccessReview.objects.select_related("started_by")
    if roles.is_compliance(user):
        return reviews
    return reviews.filter(pk__in=AccessReviewItem.objects.filter(reviewer=user).values("review"))


def review_item_list_for(user: User) -> QuerySet[AccessReviewItem]:
    """Items ``user`` may see: every one for compliance, for anyone else their own."""
    items = AccessReviewItem.objects.all()
    if not roles.is_compliance(user):
        items = items.filter(reviewer=user)
    return items


def _grant_events(*actions: AuditAction) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(
        target_type=GRANT_TARGET_TYPE,
        target_id=Cast(OuterRef("grant_id"), output_field=CharField()),
        action__in=[action.value for action in actions],
    )


def _last(action: AuditAction) -> Subquery:
    latest = _grant_events(action).order_by("-created_at").values("created_at")[:1]
    return Subquery(latest, output_field=DateTimeField())


def with_evidence(
    items: QuerySet[AccessReviewItem], *, now: datetime | None = None
) -> QuerySet[AccessReviewItem]:
    """``items`` with the evidence of use of their grants, read from the audit trail in the
    same query (a constant number of queries whatever the number of items): ``seen_viewed_at``
    and ``seen_exported_at`` (the last ``records.view`` and ``export.download`` through the
    grant, aware datetimes or ``None`` for never) and ``seen_uses`` (how many of both in the
    ``EVIDENCE_WINDOW_DAYS`` days before ``now``, default this moment)."""
    since = (now or timezone.now()) - timedelta(days=EVIDENCE_WINDOW_DAYS)
    uses = (
        _grant_events(AuditAction.RECORDS_VIEW, AuditAction.EXPORT_DOWNLOAD)
        .filter(created_at__gte=since)
        .order_by()
        .values("target_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return items.annotate(
        seen_viewed_at=_last(AuditAction.RECORDS_VIEW),
        seen_exported_at=_last(AuditAction.EXPORT_DOWNLOAD),
        seen_uses=Coalesce(Subquery(uses, output_field=IntegerField()), Value(0)),
    ).select_related(
        "grant__user", "grant__asset__owner", "grant__purpose", "reviewer", "decided_by", "review"
    )


def review_items_for(user: User, review: AccessReview) -> QuerySet[AccessReviewItem]:
    """The items of ``review`` that ``user`` sees (compliance: all; a reviewer: their own),
    with their evidence (``with_evidence``), in a stable order (holder, asset, id)."""
    items = review_item_list_for(user).filter(review=review)
    return with_evidence(items).order_by("grant__user__username", "grant__asset__name", "pk")


def review_items_waiting_for(user: User) -> QuerySet[AccessReviewItem]:
    """The undecided items of open campaigns that ``user`` reviews (for compliance also the
    fallback items, reviewer ``None``), soonest due first, with their evidence."""
    return with_evidence(_waiting_for(user)).order_by("review__due_at", "pk")


def _waiting_for(user: User) -> QuerySet[AccessReviewItem]:
    mine = Q(reviewer=user)
    if roles.is_compliance(user):
        mine |= Q(reviewer__isnull=True)
    return AccessReviewItem.objects.filter(mine, decision="", review__closed_at__isnull=True)


def last_use(item: AccessReviewItem) -> datetime | None:
    """The last view or export through the item's grant (``evidence``: live before the
    decision, as kept after it), ``None`` for never."""
    return evidence(item).last_used_at


@dataclass(frozen=True)
class Evidence:
    """What a reviewer sees of a grant's use: the last view and the last export through it
    (aware datetimes, ``None`` for never) and the number of both in the
    ``EVIDENCE_WINDOW_DAYS`` days before it was read."""

    viewed_at: datetime | None
    exported_at: datetime | None
    uses: int

    @property
    def last_used_at(self) -> datetime | None:
        """The later of ``viewed_at`` and ``exported_at``, ``None`` for never."""
        seen = [when for when in (self.viewed_at, self.exported_at) if when]
        return max(seen) if seen else None


def evidence(item: AccessReviewItem) -> Evidence:
    """The evidence shown beside ``item`` on the page, in the API and in the report: as kept
    when it was decided (what the reviewer saw; an access review is evidence for auditors,
    ISO/IEC 27001 A.5.18), live from the audit trail (``with_evidence``) before that."""
    if item.decided_at:
        return Evidence(item.last_viewed_at, item.last_exported_at, item.uses_in_window or 0)
    return Evidence(
        item.seen_viewed_at,  # type: ignore[attr-defined]
        item.seen_exported_at,  # type: ignore[attr-defined]
        item.seen_uses,  # type: ignore[attr-defined]
    )


def recommendation(item: AccessReviewItem, *, now: datetime | None = None) -> str:
    """``"revoke"`` when the item's grant was never used or not for ``unused_days`` days or
    more (the campaign's setting, default 30) before ``now``; ``"keep"`` otherwise. Reads
    the evidence of ``evidence``; a decided item keeps the recommendation of the moment it
    was decided (``decided_at``), which is what the reviewer was shown."""
    used = last_use(item)
    now = item.decided_at or now or timezone.now()
    if used is None or now - used >= timedelta(days=item.review.unused_days):
        return ReviewDecision.REVOKE.value
    return ReviewDecision.KEEP.value


@dataclass(frozen=True)
class ReviewerProgress:
    """One reviewer's items of a campaign (``reviewer`` ``None``: compliance, the fallback)."""

    reviewer: str
    kept: int
    revoked: int
    undecided: int

    @property
    def done(self) -> int:
        return self.kept + self.revoked

    @property
    def total(self) -> int:
        return self.done + self.undecided


def review_progress(review: AccessReview, viewer: User) -> list[ReviewerProgress]:
    """Per reviewer: kept, revoked and undecided items of ``review``, in one query, ordered
    by reviewer's username (compliance, the fallback, last). Compliance's alone: for any
    other ``viewer`` (a reviewer sees only their own items) an empty list, so no page or API
    shows one reviewer another's progress."""
    if not roles.is_compliance(viewer):
        return []
    rows = (
        review.items.order_by()
        .values("reviewer__username")
        .annotate(
            kept=Count("pk", filter=Q(decision=ReviewDecision.KEEP)),
            revoked=Count("pk", filter=Q(decision=ReviewDecision.REVOKE)),
            undecided=Count("pk", filter=Q(decision="")),
        )
    )
    progress = [
        ReviewerProgress(
            reviewer=row["reviewer__username"] or "compliance",
            kept=row["kept"],
            revoked=row["revoked"],
            undecided=row["undecided"],
        )
        for row in rows
    ]
    return sorted(progress, key=lambda p: (p.reviewer == "compliance", p.reviewer))


def reviews_waiting_for(user: User) -> list[dict]:
    """Per open campaign with items waiting for ``user`` (``review_items_waiting_for``): the
    campaign (``review``) and how many of its items wait (``undecided``), soonest due first;
    two queries whatever the number of items."""
    counts = dict(
        _waiting_for(user)
        .order_by()
        .values_list("review")
        .annotate(n=Count("pk"))
        .values_list("review", "n")
    )
    reviews = AccessReview.objects.filter(pk__in=counts).order_by("due_at", "pk")
    return [{"review": review, "undecided": counts[review.pk]} for review in reviews]


def review_items_chosen(
    user: User, ids: list[int], *, review: AccessReview | None = None
) -> tuple[list[AccessReviewItem], list[int]]:
    """The review items of ``ids`` that ``user`` sees (``review_item_list_for``; within
    ``review`` when given), and the ids among ``ids`` that name none of them (sorted), for
    the page and the API to refuse alike."""
    items = review_item_list_for(user).filter(pk__in=ids)
    if review is not None:
        items = items.filter(review=review)
    found = list(items)
    return found, sorted(set(ids) - {item.pk for item in found})
