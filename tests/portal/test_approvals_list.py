"""The one approvals list of the engine: open steps a person may decide, of every kind of
request, read by the approvals page, the dashboard and ``?waiting=1`` of the APIs."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from consent.models import Purpose, SharingRequest
from customers.models.access import AccessRequest
from customers.models.catalogue import Classification
from customers.services.access import access_request_create, access_request_decide
from portal.approvals import approvals_waiting_for
from portal.pagination import OneReadPaginator
from tests.conftest import add_to_group
from tests.consent.test_sharing import decide, share
from tests.customers.conftest import JUSTIFICATION, consent
from tests.factories import DataAssetFactory

pytestmark = pytest.mark.django_db

SHARING = "third_party_sharing"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def shareable_asset(owner, name="Partner list", classification=Classification.INTERNAL):
    asset = DataAssetFactory(
        owner=owner,
        name=name,
        customers=2,
        categories=["user.contact.email"],
        collected_for=["essential.service"],
        classification=classification,
        classification_confirmed=True,
    )
    consent(asset.customers.all(), SHARING)
    return asset


def ask_access(requester, asset) -> AccessRequest:
    return access_request_create(
        actor=requester,
        asset=asset,
        purpose=Purpose.objects.get(key="essential.service"),
        justification=JUSTIFICATION,
    )


def approvals_page(client, user, page=1):
    client.force_login(user)
    response = client.get(reverse("customers:approvals"), {"page": page})
    assert response.status_code == 200
    return response


def approvals_section(client, user):
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    sections = {s.key: s for s in response.context["dashboard"].sections}
    return sections.get("approvals"), response.content.decode()


def waiting_ids(api_client, user, path, **params) -> tuple[int, list[int]]:
    api_client.force_authenticate(user)
    answer = api_client.get(path, {"waiting": 1, **params}).json()
    return answer["count"], [row["id"] for row in answer["results"]]


def ref(request) -> tuple[str, int]:
    """A request, whether the list shows it as a row or a test holds the model, named by its
    kind and id."""
    return ("sharing" if isinstance(request, SharingRequest) else "access"), request.pk


def refs(requests) -> list[tuple[str, int]]:
    return [ref(request) for request in requests]


def page_requests(response) -> list:
    return [ref(w.request) for w, _ in response.context["rows"]]


# --- who sees what -----------------------------------------------------------------------


def test_legal_counsel_with_only_a_sharing_request_waiting_sees_it_on_dashboard_and_page(
    client, api_client, requester, owner, compliance_officer, legal_counsel
):
    sharing_request = share(requester, shareable_asset(owner))
    decide(sharing_request, owner)
    decide(sharing_request, compliance_officer)

    section, home = approvals_section(client, legal_counsel)
    page = approvals_page(client, legal_counsel)

    assert section.count == 1
    assert "asks to share Partner list with Nordic Logistics AS (NO)" in home
    assert "your step: Legal" in home
    assert reverse("consent:sharing_detail", args=[sharing_request.pk]) in home
    assert page_requests(page) == [ref(sharing_request)]
    assert "Nordic Logistics AS" in page.content.decode()
    assert waiting_ids(api_client, legal_counsel, "/api/sharing-requests/") == (
        1,
        [sharing_request.pk],
    )


def test_access_and_sharing_requests_wait_in_one_list_oldest_first(
    client, api_client, requester, owner
):
    with time_machine.travel(T0, tick=False):
        first = ask_access(requester, shareable_asset(owner, "First list"))
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        second = share(requester, shareable_asset(owner, "Second list"))
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        third = ask_access(requester, shareable_asset(owner, "Third list"))

    section, home = approvals_section(client, owner)
    page = approvals_page(client, owner)

    assert [ref(w.request) for w in section.context["waiting"]] == refs([first, second, third])
    assert section.count == 3
    assert home.index("First list") < home.index("Second list") < home.index("Third list")
    assert page_requests(page) == refs([first, second, third])
    assert [w.kind for w, _ in page.context["rows"]] == ["access", "sharing", "access"]
    # Each kind's API lists its own kind, from the same list.
    assert waiting_ids(api_client, owner, "/api/access-requests/") == (2, [first.pk, third.pk])
    assert waiting_ids(api_client, owner, "/api/sharing-requests/") == (1, [second.pk])


def test_the_requester_and_an_outsider_never_see_a_step_waiting(
    client, api_client, owner, compliance_officer, second_compliance_officer, outsider
):
    # A compliance officer asks: the compliance step goes to another officer, never to her.
    sharing_request = share(compliance_officer, shareable_asset(owner))
    retail = shareable_asset(owner, "Retail list", Classification.CONFIDENTIAL)
    access_request = ask_access(compliance_officer, retail)
    decide(sharing_request, owner)
    access_request_decide(
        access_request=access_request, actor=owner, approve=True, reason="Fine by the owner."
    )

    assert {ref(w.request) for w in approvals_waiting_for(second_compliance_officer)} == {
        ref(sharing_request),
        ref(access_request),
    }
    for person in (compliance_officer, outsider):
        assert len(approvals_waiting_for(person)) == 0
        assert page_requests(approvals_page(client, person)) == []
        assert waiting_ids(api_client, person, "/api/sharing-requests/") == (0, [])
        assert waiting_ids(api_client, person, "/api/access-requests/") == (0, [])
    section, _ = approvals_section(client, compliance_officer)
    assert section.count == 0
    section, _ = approvals_section(client, outsider)
    assert section is None  # not an approver: no card at all


def test_a_person_who_decided_one_step_does_not_see_the_next_step_of_that_request(
    client, requester, owner, compliance_officer, legal_counsel
):
    both = add_to_group(compliance_officer, "Legal")
    sharing_request = share(requester, shareable_asset(owner))
    decide(sharing_request, owner)
    assert [ref(w.request) for w in approvals_waiting_for(both)] == [ref(sharing_request)]
    decide(sharing_request, both)

    assert page_requests(approvals_page(client, both)) == []
    assert page_requests(approvals_page(client, legal_counsel)) == [ref(sharing_request)]


# --- paging -------------------------------------------------------------------------------


def test_sixty_waiting_sharing_requests_page_through_all_of_them(
    client, api_client, requester, owner
):
    asset = shareable_asset(owner)
    asked = [share(requester, asset, recipient=f"Recipient {n:02d}").pk for n in range(60)]

    seen, number = [], 1
    while True:  # the page: 25 a page
        page = approvals_page(client, owner, number)
        seen += [pk for _, pk in page_requests(page)]
        if not page.context["page"].has_next():
            break
        number += 1
    assert number == 3
    assert seen == asked  # every one once, oldest first

    api_seen = []
    for number in (1, 2):  # the API: 50 a page
        api_client.force_authenticate(owner)
        answer = api_client.get("/api/sharing-requests/", {"waiting": 1, "page": number}).json()
        assert answer["count"] == 60
        api_seen += [row["id"] for row in answer["results"]]
    assert api_seen == asked

    section, _ = approvals_section(client, owner)
    assert section.count == 60
    assert len(section.context["waiting"]) == 10  # the card shows the first ten


# --- query counts -------------------------------------------------------------------------


@pytest.mark.parametrize("size", [2, 20])
def test_approvals_page_and_dashboard_of_both_kinds_run_constant_queries(
    client, requester, owner, size, django_assert_max_num_queries
):
    for n in range(size):
        asset = shareable_asset(owner, f"List {n:02d}")
        ask_access(requester, asset)
        share(requester, asset)
    assert SharingRequest.objects.count() == AccessRequest.objects.count() == size
    client.force_login(owner)

    # The page: the session and user, the count, the page of open steps, each kind's
    # requests with their prefetches, the requesters' other grants. The dashboard: every
    # section's own fixed cost, the approvals card reading the same list (the owner's
    # bound of tests/portal/test_dashboard.py, which also counts the access review and
    # erasure task cards).
    # The names of the taxonomy's keys are read once per process (consent/taxonomy_names.py).
    client.get(reverse("customers:approvals"))
    with django_assert_max_num_queries(13):
        page = client.get(reverse("customers:approvals"))
    with django_assert_max_num_queries(28):
        home = client.get(reverse("home"))

    assert len(page.context["rows"]) == min(2 * size, 25)
    sections = {s.key: s for s in home.context["dashboard"].sections}
    assert sections["approvals"].count == 2 * size


def test_the_list_reads_every_row_at_once_and_by_position(
    requester, owner, django_assert_max_num_queries
):
    asset = shareable_asset(owner)
    asked = [share(requester, asset, recipient=f"Recipient {n}") for n in range(5)]
    waiting = approvals_waiting_for(owner)

    with django_assert_max_num_queries(6):  # the open steps, the requests, their prefetches
        assert [w.request for w in waiting] == asked
    assert (waiting[0].request, waiting[-1].request) == (asked[0], asked[-1])
    with pytest.raises(IndexError):
        waiting[5]


def test_a_page_reads_its_steps_with_the_count_in_one_statement(requester, owner):
    # The page's steps (id, role, their chain's kind) come with the list's length;
    # they are not read again by id. Then the access requests of the page and their steps.
    for n in range(3):
        ask_access(requester, shareable_asset(owner, f"List {n}"))
    waiting_list = approvals_waiting_for(owner)  # reads the owner's groups
    with CaptureQueriesContext(connection) as queries:
        page = OneReadPaginator(waiting_list, 25).get_page(1)
    statements = [query["sql"] for query in queries.captured_queries]

    assert page.paginator.count == 3 and len(page.object_list) == 3
    first = statements[0]
    assert "OVER ()" in first and '"portal_approvalchain"."kind"' in first
    # Only columns of the indexes the steps are found by: the chains' table is not read.
    assert '"portal_approvalchain"."link"' not in first
    assert not [
        sql
        for sql in statements[1:]
        if 'FROM "portal_approvalstep" WHERE "portal_approvalstep"."id" IN' in sql
    ]
    assert len(statements) == 3  # the steps with the count, the requests, their steps
    waiting = page.object_list[0]
    assert (waiting.kind, waiting.step.get_role_display()) == ("access", "Data owner")


def test_a_card_whose_chain_has_no_address_yet_links_to_its_request(client, requester, owner):
    # A chain is given its request's address when published; one stored without it (an
    # import, an older row) still gets a card that links to the request's page.
    for kind, request in (
        ("access", ask_access(requester, shareable_asset(owner, "Lists"))),
        ("sharing", share(requester, shareable_asset(owner, "Partners"))),
    ):
        request.chain.link = ""
        request.chain.save(update_fields=["link"])
        html = approvals_page(client, owner).content.decode()
        assert f'<a href="{request.get_absolute_url()}">' in html, kind
