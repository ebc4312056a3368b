"""Access reviews through the API and the pages: the contract's URLs, who gets what, the
reviewer's dashboard, the auditors' report, and query counts that do not grow with items."""

import csv
import io
from datetime import timedelta
from html import unescape

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from customers.models.access_reviews import AccessReview
from customers.selectors.access_reviews import recommendation, review_items_for
from customers.services.access_reviews import review_item_decide
from customers.services.exports import records_viewed
from tests.customers.reviews import REASON, many_grants, start
from tests.customers.test_grants import approved_grant
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def grant(requester, compliance_officer, confidential_asset, email_marketing):
    return approved_grant(requester, confidential_asset, email_marketing, level="view")


def test_compliance_starts_a_campaign_through_the_api(api_client, grant, compliance_officer):
    api_client.force_authenticate(compliance_officer)
    due = (timezone.now() + timedelta(days=14)).isoformat()

    response = api_client.post(
        "/api/reviews/",
        {"name": "Q3 review", "due_at": due, "undecided_outcome": "revoke", "repeat": "yearly"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["items"] == 1 and response.json()["undecided"] == 1
    listed = api_client.get("/api/reviews/").json()["results"]
    assert [row["name"] for row in listed] == ["Q3 review"]


def test_a_bad_campaign_is_refused_with_a_message_and_nothing_starts(
    api_client, grant, compliance_officer, owner
):
    api_client.force_authenticate(compliance_officer)
    past = (timezone.now() - timedelta(days=1)).isoformat()

    response = api_client.post(
        "/api/reviews/",
        {"name": "Late", "due_at": past, "undecided_outcome": "keep"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"due_at": ["The due date must be in the future."]}
    api_client.force_authenticate(owner)
    refused = api_client.post("/api/reviews/", {}, format="json")
    assert refused.status_code == 403
    assert not AccessReview.objects.exists()


def test_the_owner_revokes_through_the_api_and_the_holder_loses_the_grant(
    api_client, grant, requester, owner, compliance_officer
):
    review = start(compliance_officer)
    api_client.force_authenticate(owner)
    item = api_client.get(f"/api/reviews/{review.pk}/items/").json()["results"][0]

    response = api_client.post(
        f"/api/review-items/{item['id']}/decide/",
        {"decision": "revoke", "reason": "Campaign finished in spring."},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["decision"] == "revoke"
    assert response.json()["grant_status"] == "revoked"
    again = api_client.post(
        f"/api/review-items/{item['id']}/decide/",
        {"decision": "keep", "reason": "Changed my mind about this."},
        format="json",
    )
    assert again.status_code == 400
    api_client.force_authenticate(requester)
    assert api_client.get(f"/api/grants/{grant.pk}/").json()["status"] == "revoked"
    assert api_client.get(f"/api/reviews/{review.pk}/items/").status_code == 404


def test_the_reviewer_sees_the_campaign_on_the_dashboard_and_decides_on_its_page(
    client, grant, owner, compliance_officer
):
    review = start(compliance_officer)
    client.force_login(owner)

    home = client.get("/").content.decode()
    assert "Access reviews waiting for you" in home and "Q3 customer data" in home
    page = client.get(review.get_absolute_url())
    item = review.items.get()
    assert "never" in page.content.decode()
    client.post(
        reverse("customers:review_item_decide", args=[item.pk]),
        {"decision": "keep", "reason": REASON},
    )

    grant.refresh_from_db()
    item.refresh_from_db()
    assert item.decision == "keep" and grant.revoked_at is None
    assert "Access reviews waiting for you" not in client.get("/").content.decode()


def test_the_auditors_report_lists_every_item_with_decision_and_evidence(
    client, grant, owner, compliance_officer
):
    review = start(compliance_officer)
    client.force_login(owner)
    client.post(
        reverse("customers:review_item_decide", args=[review.items.get().pk]),
        {"decision": "revoke", "reason": "Nobody uses this list now."},
    )
    client.force_login(compliance_officer)

    response = client.get(reverse("customers:review_report", args=[review.pk]) + "?format=csv")

    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["holder"], r["decision"], r["decided_by"], r["reason"]) for r in rows] == [
        ("req", "revoke", "own", "Nobody uses this list now.")
    ]
    assert rows[0]["last_viewed_at"] == "never" and rows[0]["coverage_total"] == "10"
    printable = client.get(reverse("customers:review_report", args=[review.pk]))
    assert "Nobody uses this list now." in printable.content.decode()
    client.force_login(owner)
    assert client.get(reverse("customers:review_report", args=[review.pk])).status_code == 403


@pytest.mark.parametrize("count", [5, 500])
def test_an_owners_review_page_costs_the_same_queries_at_5_and_500_items(
    client,
    api_client,
    owner,
    compliance_officer,
    confidential_asset,
    email_marketing,
    count,
    django_assert_max_num_queries,
):
    holders = UserFactory.create_batch(count)
    many_grants(holders, confidential_asset, email_marketing)
    review = start(compliance_officer)
    assert review.items.count() == count

    client.force_login(owner)
    with django_assert_max_num_queries(12):
        page = client.get(review.get_absolute_url())
    assert len(page.context["page"].object_list) == min(count, 50)
    api_client.force_authenticate(owner)
    with django_assert_max_num_queries(8):
        items = api_client.get(f"/api/reviews/{review.pk}/items/?page_size=200")
    assert len(items.json()["results"]) == min(count, 200)
    client.force_login(compliance_officer)
    with django_assert_max_num_queries(14):
        assert client.get(review.get_absolute_url()).status_code == 200
    # The auditor's report lists every item, on the page and as CSV, in the same few queries.
    report = reverse("customers:review_report", args=[review.pk])
    with django_assert_max_num_queries(14):
        printable = client.get(report)
    assert len(printable.context["rows"]) == count
    with django_assert_max_num_queries(10):
        rows = b"".join(client.get(report + "?format=csv").streaming_content).decode()
    assert len(list(csv.DictReader(io.StringIO(rows)))) == count


def test_compliance_starts_a_campaign_from_the_page_over_one_owners_assets(
    client, grant, owner, compliance_officer
):
    client.force_login(compliance_officer)

    response = client.post(
        reverse("customers:review_list"),
        {
            "name": "Otto's assets",
            "due_on": (timezone.localdate() + timedelta(days=10)).isoformat(),
            "undecided_outcome": "revoke",
            "repeat": "none",
            "unused_days": 45,
            "owner": owner.username,
        },
    )

    review = AccessReview.objects.get()
    assert response.status_code == 302 and response.url == review.get_absolute_url()
    assert (review.scope_owner, review.unused_days, review.undecided_outcome) == (
        owner,
        45,
        "revoke",
    )
    assert review.items.get().grant == grant


def test_a_campaign_with_an_empty_name_is_refused_on_the_page(client, compliance_officer):
    client.force_login(compliance_officer)

    response = client.post(
        reverse("customers:review_list"),
        {
            "name": "   ",
            "due_on": (timezone.localdate() + timedelta(days=10)).isoformat(),
            "undecided_outcome": "keep",
            "repeat": "none",
            "unused_days": 30,
        },
    )

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not AccessReview.objects.exists()


def test_out_of_range_ids_are_refused_without_a_server_error(
    client, api_client, grant, owner, compliance_officer
):
    review = start(compliance_officer)
    huge = "9" * 25
    api_client.force_authenticate(compliance_officer)
    due = (timezone.now() + timedelta(days=14)).isoformat()

    started = api_client.post(
        "/api/reviews/",
        {"name": "X", "due_at": due, "undecided_outcome": "keep", "asset": huge},
        format="json",
    )
    api_client.force_authenticate(owner)
    accepted = api_client.post(
        "/api/review-items/accept-recommendations/",
        {"items": [int(huge)], "reason": REASON},
        format="json",
    )
    client.force_login(owner)
    page = client.post(
        # "²" passes str.isdigit but not int(): it must be no id, not a server error.
        reverse("customers:review_accept", args=[review.pk]),
        {"item": [huge, "²"], "reason": REASON},
    )

    assert started.status_code == 400 and accepted.status_code == 400
    assert page.status_code == 302
    assert review.items.get().decision == ""


def test_a_start_repeated_with_the_same_idempotency_key_starts_one_campaign(
    api_client, grant, compliance_officer
):
    api_client.force_authenticate(compliance_officer)
    body = {
        "name": "Q3 review",
        "due_at": (timezone.now() + timedelta(days=14)).isoformat(),
        "undecided_outcome": "keep",
    }

    first = api_client.post("/api/reviews/", body, format="json", HTTP_IDEMPOTENCY_KEY="q3-1")
    again = api_client.post("/api/reviews/", body, format="json", HTTP_IDEMPOTENCY_KEY="q3-1")

    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert AccessReview.objects.count() == 1


def test_accepting_a_pages_recommendations_decides_only_the_viewers_own_items(
    client, grant, owner, compliance_officer
):
    review = start(compliance_officer)
    item = review.items.get()
    accept = reverse("customers:review_accept", args=[review.pk])
    client.force_login(compliance_officer)

    page = client.get(review.get_absolute_url()).content.decode()
    refused = client.post(accept, {"item": item.pk, "reason": "Accepted the evidence as shown."})
    item.refresh_from_db()
    assert "waiting for Otto Owner" in page and item.decision == ""
    # Refused with its reason, as the API refuses it, not dropped in silence.
    assert refused.status_code == 403
    assert "Only the item's reviewer can decide it." in unescape(refused.content.decode())
    assert "Accept all recommendations" not in page

    client.force_login(owner)
    shown = {"item": item.pk, f"shown-{item.pk}": "revoke", "reason": REASON}
    client.post(accept, shown)
    item.refresh_from_db()
    assert item.decision == "revoke" and item.reason == REASON


def test_accepting_refuses_when_the_recommendation_changed_since_the_page_was_shown(
    client, grant, requester, owner, compliance_officer
):
    """The page showed "revoke" (never used); the holder reads the records before the owner
    clicks: the owner's click must not decide what they were not shown."""
    review = start(compliance_officer)
    item = review.items.get()
    client.force_login(owner)
    page = client.get(review.get_absolute_url()).content.decode()
    assert f'name="shown-{item.pk}" value="revoke"' in page
    records_viewed(grant=grant, actor=requester, page_number=1, shown=4)

    answer = client.post(
        reverse("customers:review_accept", args=[review.pk]),
        {"item": item.pk, f"shown-{item.pk}": "revoke", "reason": REASON},
        follow=True,
    )

    item.refresh_from_db()
    assert item.decision == ""
    assert "is now “keep”, not what the page showed" in unescape(answer.content.decode())


def test_a_decided_items_recommendation_stays_what_the_reviewer_was_shown(
    grant, requester, owner, compliance_officer
):
    yesterday = timezone.now() - timedelta(days=1)
    with time_machine.travel(yesterday, tick=False):
        records_viewed(grant=grant, actor=requester, page_number=1, shown=4)
    review = start(compliance_officer)
    item = review.items.get()
    review_item_decide(item=item, actor=owner, decision="keep", reason=REASON)

    with time_machine.travel(timezone.now() + timedelta(days=60)):
        decided = review_items_for(owner, review).get()
        assert recommendation(decided) == "keep"


def test_only_compliance_sees_each_reviewers_progress(api_client, grant, owner, compliance_officer):
    review = start(compliance_officer)

    api_client.force_authenticate(owner)
    as_reviewer = api_client.get(f"/api/reviews/{review.pk}/")
    api_client.force_authenticate(compliance_officer)
    as_compliance = api_client.get(f"/api/reviews/{review.pk}/")

    assert as_reviewer.status_code == as_compliance.status_code == 200
    assert as_reviewer.json()["progress"] == []
    assert [row["reviewer"] for row in as_compliance.json()["progress"]] == [owner.username]


def test_a_decided_item_shows_the_evidence_kept_at_the_decision_on_page_api_and_report(
    client, api_client, grant, requester, owner, compliance_officer
):
    """Auditors read what the reviewer saw: a use after the decision changes none of the
    three places that show the evidence."""
    review = start(compliance_officer)
    item = review.items.get()
    review_item_decide(item=item, actor=owner, decision="keep", reason=REASON)
    records_viewed(grant=grant, actor=requester, page_number=1, shown=4)

    client.force_login(owner)
    page = client.get(review.get_absolute_url()).content.decode()
    api_client.force_authenticate(owner)
    api = api_client.get(f"/api/reviews/{review.pk}/items/").json()["results"][0]
    client.force_login(compliance_officer)
    report = client.get(reverse("customers:review_report", args=[review.pk]) + "?format=csv")
    text = b"".join(report.streaming_content).decode()
    row = next(csv.DictReader(io.StringIO(text)))

    assert "Last viewed: never" in page and "0 uses in 90 days" in page
    assert api["evidence"]["last_viewed_at"] == "never"
    assert api["evidence"]["uses_last_90_days"] == 0
    assert row["last_viewed_at"] == "never" and row["uses_last_90_days"] == "0"


def test_the_campaign_list_shows_a_page_at_a_time_newest_first(
    client, compliance_officer, django_assert_max_num_queries
):
    # Every mover starts a campaign of their own: a large company gathers thousands.
    AccessReview.objects.bulk_create(
        AccessReview(name=f"Mover review {n:03}", due_at=timezone.now() + timedelta(days=14))
        for n in range(51)
    )
    client.force_login(compliance_officer)

    with django_assert_max_num_queries(12):
        first = client.get(reverse("customers:review_list")).content.decode()
    second = client.get(reverse("customers:review_list"), {"page": 2}).content.decode()

    assert first.count("Mover review ") == 50
    assert "Page 1 of 2" in first
    assert second.count("Mover review ") == 1
    assert "Mover review 000" in second  # the oldest, on the last page
