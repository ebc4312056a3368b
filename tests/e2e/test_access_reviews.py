"""An access review in a real browser: bob reviews his items from his dashboard and revokes
alice's grant; alice's grant is gone from her grants at once. Every page is checked by axe;
the campaign page as compliance sees it is the screenshot in docs/access-reviews.md."""

import pytest

from customers.models.access import AccessGrant, AccessRequest
from customers.services.access import access_request_decide
from portal.approvals import deciders_for
from portal.models import User
from tests.customers.reviews import start

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

NEWSLETTER = "Newsletter subscribers"


def approve_alices_waiting_request() -> AccessGrant:
    """The demo's request of alice, waiting for bob, approved by each step's decider."""
    access_request = AccessRequest.objects.get(requester__username="alice", asset__name=NEWSLETTER)
    for step in access_request.chain.steps.order_by("position"):
        step.refresh_from_db()
        access_request_decide(
            access_request=access_request,
            actor=deciders_for(step).first(),
            approve=True,
            reason="Fits the newsletter the customers asked for.",
        )
    return AccessGrant.objects.get(request=access_request)


def test_bob_revokes_alices_grant_from_his_dashboard_and_alice_has_lost_it(visit):
    grant = approve_alices_waiting_request()
    review = start(User.objects.get(username="olivia"))
    item = review.items.get(grant=grant)

    bob = visit()
    bob.login("bob")
    page = bob.page
    section = page.locator("#access-reviews")
    section.get_by_role("link", name="Q3 customer data").click()
    page.wait_for_url(f"**/reviews/{review.pk}/?undecided=1")
    bob.check_accessibility()
    row = page.locator(f"#item-{item.pk}")
    assert "Last viewed: never" in row.inner_text()
    row.get_by_label("Reason").fill("Newsletter moved to the marketing team.")
    row.get_by_role("button", name="Revoke").click()
    page.wait_for_load_state("load")
    assert page.get_by_role("status").filter(has_text="Decided: revoke.").is_visible()
    bob.check_accessibility()
    bob.logout()

    alice = visit()
    alice.login("alice")
    assert NEWSLETTER not in alice.page.locator("#my-grants").inner_text()
    alice.goto("/grants/")
    alice.check_accessibility()
    assert "Newsletter moved to the marketing team." in alice.page.inner_text("main")
    grant.refresh_from_db()
    assert grant.revoked_at is not None

    olivia = visit()
    olivia.login("olivia")
    olivia.goto(review.get_absolute_url())
    olivia.check_accessibility()
    assert "Progress per reviewer" in olivia.page.inner_text("main")
    olivia.screenshot("access-review-campaign", full_page=True)
