"""Access reviews: who reviews which grant, the decisions and their effect on the grant, the
close at the due date, the reminders, and the evidence of use beside each item."""

import threading
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from guardian.shortcuts import get_perms

from customers.models.access import AccessGrant
from customers.models.access_reviews import AccessReview, AccessReviewItem
from customers.selectors.access_reviews import recommendation, review_items_for
from customers.services.access_reviews import (
    review_item_decide,
    review_items_accept_recommendations,
    reviews_close_due,
    reviews_remind,
)
from customers.services.exports import records_viewed
from customers.tasks import run_access_reviews
from portal.errors import ApplicationError, NotAllowed
from portal.models import AuditEvent, Notification, User
from tests.customers.conftest import consent
from tests.customers.reviews import REASON, start
from tests.customers.test_grants import approved_grant
from tests.factories import DataAssetFactory

pytestmark = pytest.mark.django_db


def another_grant(holder, owner, purpose):
    """A view grant of ``holder`` on a second asset of ``owner`` (internal, 2 customers)."""
    asset = DataAssetFactory(
        owner=owner, customers=2, classification="internal", classification_confirmed=True
    )
    consent(asset.customers.all())
    return approved_grant(holder, asset, purpose, level="view")


@pytest.fixture
def grant(requester, compliance_officer, confidential_asset, email_marketing):
    return approved_grant(requester, confidential_asset, email_marketing, level="view")


def test_a_campaign_over_the_demo_grants_gives_each_to_its_assets_owner():
    call_command("seed_demo", stdout=StringIO())
    olivia = User.objects.get(username="olivia")
    active = AccessGrant.objects.filter(revoked_at=None, expires_at__gt=timezone.now())

    review = start(olivia)

    items = review.items.select_related("grant__asset__owner", "reviewer")
    assert items.count() == active.count() > 0
    assert {(i.grant.user.username, i.reviewer.username) for i in items} == {
        (g.user.username, g.asset.owner.username) for g in active
    }
    assert AuditEvent.objects.filter(action="access_review.start", target_id=str(review.pk))
    assert Notification.objects.filter(recipient__username="bob", kind="access_review_started")


def test_the_owner_keeps_one_grant_and_revokes_another(
    requester, owner, compliance_officer, grant, email_marketing
):
    other = another_grant(requester, owner, email_marketing)
    review = start(compliance_officer)
    kept_item, revoked_item = review.items.order_by("grant_id")

    review_item_decide(item=kept_item, actor=owner, decision="keep", reason=REASON)
    review_item_decide(
        item=revoked_item, actor=owner, decision="revoke", reason="No campaign planned now."
    )

    grant.refresh_from_db()
    other.refresh_from_db()
    assert grant.revoked_at is None
    assert other.revoked_by == owner and other.revoke_reason == "No campaign planned now."
    assert "view_records" not in get_perms(requester, other.asset)
    assert "view_records" in get_perms(requester, grant.asset)
    decisions = AuditEvent.objects.filter(action="access_review.decide").order_by("pk")
    assert [e.detail["decision"] for e in decisions] == ["keep", "revoke"]
    assert AuditEvent.objects.filter(action="grant.revoke", target_id=str(other.pk)).count() == 1


def test_someone_else_may_not_decide_an_owners_item(grant, compliance_officer, outsider):
    review = start(compliance_officer)
    item = review.items.get()

    with pytest.raises(NotAllowed):
        review_item_decide(item=item, actor=outsider, decision="revoke", reason=REASON)
    with pytest.raises(NotAllowed):
        review_item_decide(item=item, actor=compliance_officer, decision="keep", reason=REASON)
    assert review.items.get().decision == ""


def test_a_short_reason_is_refused_and_changes_nothing(grant, owner, compliance_officer):
    item = start(compliance_officer).items.get()

    with pytest.raises(ApplicationError, match="10 characters"):
        review_item_decide(item=item, actor=owner, decision="revoke", reason="no")

    grant.refresh_from_db()
    assert grant.revoked_at is None and AccessReviewItem.objects.get().decision == ""


def test_compliance_reviews_when_the_owner_holds_the_grant(
    owner, compliance_officer, second_compliance_officer, confidential_asset, email_marketing
):
    approved_grant(owner, confidential_asset, email_marketing, level="view")
    item = start(compliance_officer).items.get()

    assert item.reviewer is None and item.fallback_reason == "The asset's owner holds the grant."
    with pytest.raises(NotAllowed):
        review_item_decide(item=item, actor=owner, decision="keep", reason=REASON)
    review_item_decide(item=item, actor=compliance_officer, decision="keep", reason=REASON)
    assert AccessReviewItem.objects.get().decided_by == compliance_officer


def test_compliance_reviews_when_the_owner_has_left(grant, owner, compliance_officer):
    owner.is_active = False
    owner.save()

    item = start(compliance_officer).items.get()

    assert item.reviewer is None and item.fallback_reason == "The asset's owner has left."
    assert review_items_for(compliance_officer, item.review).get() == item


def test_a_grant_made_after_the_start_is_not_in_the_campaign(
    grant, requester, compliance_officer, email_marketing, owner
):
    review = start(compliance_officer)
    another_grant(requester, owner, email_marketing)

    assert list(review.items.values_list("grant", flat=True)) == [grant.pk]


def test_only_compliance_starts_a_campaign_and_the_due_date_must_be_ahead(
    grant, owner, compliance_officer
):
    with pytest.raises(NotAllowed):
        start(owner)
    with pytest.raises(ApplicationError, match="future"):
        start(compliance_officer, days=-1)
    assert not AccessReview.objects.exists()


@pytest.mark.parametrize("outcome", ["revoke", "keep"])
def test_at_the_due_date_undecided_items_get_the_configured_outcome(
    requester, owner, compliance_officer, grant, email_marketing, outcome
):
    kept = another_grant(requester, owner, email_marketing)
    review = start(compliance_officer, days=14, outcome=outcome)
    review_item_decide(
        item=review.items.get(grant=kept), actor=owner, decision="keep", reason=REASON
    )

    with time_machine.travel(timezone.now() + timedelta(days=13), tick=False):
        assert reviews_close_due() == 0
    with time_machine.travel(timezone.now() + timedelta(days=14, minutes=1), tick=False):
        assert reviews_close_due() == 1
        assert reviews_close_due() == 0

    grant.refresh_from_db()
    kept.refresh_from_db()
    undecided = review.items.get(grant=grant)
    assert undecided.decision == outcome and undecided.automatic and undecided.decided_by is None
    assert (grant.revoked_at is not None) == (outcome == "revoke")
    assert kept.revoked_at is None
    assert AccessReview.objects.get().closed_at is not None
    assert AuditEvent.objects.filter(action="access_review.close").count() == 1
    revoked = AuditEvent.objects.filter(action="access_review.auto_revoke").count()
    assert revoked == (1 if outcome == "revoke" else 0)
    if outcome == "revoke":
        told = Notification.objects.get(recipient=requester, kind="grant_revoked")
        assert "The access review “Q3 customer data”" in told.body


def test_a_quarterly_campaign_starts_its_next_round_when_it_closes(grant, compliance_officer):
    review = start(compliance_officer, repeat="quarterly")

    with time_machine.travel(review.due_at + timedelta(minutes=1), tick=False):
        run_access_reviews()

    later = AccessReview.objects.exclude(pk=review.pk).get()
    assert later.is_open and later.repeat == "quarterly"
    assert later.due_at.month == (review.due_at.month + 2) % 12 + 1
    assert later.items.get().grant == grant


def test_a_repeating_campaign_whose_starter_left_compliance_closes_without_a_next_round(
    grant, compliance_officer
):
    review = start(compliance_officer, repeat="yearly")
    compliance_officer.groups.clear()

    with time_machine.travel(review.due_at + timedelta(minutes=1), tick=False):
        assert reviews_close_due() == 1

    assert list(AccessReview.objects.all()) == [review]
    closed = AuditEvent.objects.get(action="access_review.close")
    assert closed.detail["next_round"] == "not started"


def test_reviewers_are_reminded_a_week_and_a_day_before_once_each(grant, owner, compliance_officer):
    review = start(compliance_officer, days=14)

    def reminders():
        return Notification.objects.filter(recipient=owner, kind="access_review_reminder").count()

    with time_machine.travel(review.due_at - timedelta(days=8), tick=False):
        reviews_remind()
    assert reminders() == 0
    with time_machine.travel(review.due_at - timedelta(days=6), tick=False):
        reviews_remind()
        reviews_remind()
    assert reminders() == 1
    with time_machine.travel(review.due_at - timedelta(hours=20), tick=False):
        reviews_remind()
        reviews_remind()
    assert reminders() == 2


def test_a_decided_item_is_not_reminded(grant, owner, compliance_officer):
    review = start(compliance_officer, days=14)
    review_item_decide(item=review.items.get(), actor=owner, decision="keep", reason=REASON)

    with time_machine.travel(review.due_at - timedelta(hours=20), tick=False):
        reviews_remind()

    assert not Notification.objects.filter(kind="access_review_reminder").exists()


@pytest.mark.django_db(transaction=True)
def test_the_same_decision_twice_at_once_makes_one_decision(
    requester, owner, compliance_officer, confidential_asset, email_marketing
):
    grant = approved_grant(requester, confidential_asset, email_marketing, level="view")
    item = start(compliance_officer).items.get()
    barrier = threading.Barrier(2)
    outcomes = []

    def revoke():
        try:
            barrier.wait(timeout=10)
            review_item_decide(item=item, actor=owner, decision="revoke", reason=REASON)
            outcomes.append("decided")
        except ApplicationError as error:
            outcomes.append(error.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=revoke) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["This item was already decided (revoke) by Otto Owner.", "decided"]
    assert AuditEvent.objects.filter(action="access_review.decide").count() == 1
    assert AuditEvent.objects.filter(action="grant.revoke", target_id=str(grant.pk)).count() == 1


# Evidence


def test_a_grant_viewed_yesterday_shows_it_and_is_recommended_to_keep(
    grant, requester, owner, compliance_officer
):
    yesterday = timezone.now() - timedelta(days=1)
    with time_machine.travel(yesterday, tick=False):
        records_viewed(grant=grant, actor=requester, page_number=1, shown=4)
    review = start(compliance_officer)

    item = review_items_for(owner, review).get()

    assert item.seen_viewed_at == yesterday
    assert item.seen_exported_at is None
    assert item.seen_uses == 1
    assert (item.coverage_eligible, item.coverage_total) == (4, 10)
    assert recommendation(item) == "keep"


def test_a_grant_never_used_shows_never_and_is_recommended_for_revocation(
    api_client, grant, owner, compliance_officer
):
    review = start(compliance_officer)
    api_client.force_authenticate(owner)

    response = api_client.get(f"/api/reviews/{review.pk}/items/")

    item = response.json()["results"][0]
    assert item["evidence"]["last_viewed_at"] == "never"
    assert item["evidence"]["last_exported_at"] == "never"
    assert item["evidence"]["uses_last_90_days"] == 0
    assert item["recommendation"] == "revoke"


def test_a_grant_last_used_over_30_days_ago_is_recommended_for_revocation(
    grant, requester, owner, compliance_officer
):
    with time_machine.travel(timezone.now() - timedelta(days=31), tick=False):
        records_viewed(grant=grant, actor=requester, page_number=1, shown=4)
    item = review_items_for(owner, start(compliance_officer)).get()

    assert item.seen_uses == 1
    assert recommendation(item) == "revoke"


def test_accepting_a_pages_recommendations_decides_each_with_one_reason(
    grant, requester, owner, compliance_officer, email_marketing
):
    used = another_grant(requester, owner, email_marketing)
    records_viewed(grant=used, actor=requester, page_number=1, shown=2)
    review = start(compliance_officer)

    decided = review_items_accept_recommendations(
        items=list(review.items.all()), actor=owner, reason="Accepted the evidence as shown."
    )

    assert decided == 2
    assert dict(review.items.values_list("grant", "decision")) == {
        grant.pk: "revoke",
        used.pk: "keep",
    }
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    kept = review.items.get(grant=used)
    assert kept.uses_in_window == 1 and kept.last_viewed_at is not None
