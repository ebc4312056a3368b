"""List pages of the access journey: their query counts do not grow with their rows."""

import pytest
from django.urls import reverse

from customers.services.access import access_request_create
from tests.customers.conftest import JUSTIFICATION, consent
from tests.customers.test_grants import approved_grant
from tests.factories import DataAssetFactory

pytestmark = pytest.mark.django_db


def make_requests(count, requester, owner, purpose, *, granted=False, name="List"):
    for n in range(count):
        asset = DataAssetFactory(
            owner=owner,
            name=f"{name} {n:03d}",
            customers=1,
            classification="confidential",
            classification_confirmed=True,
        )
        consent(asset.customers.all())
        if granted:
            approved_grant(requester, asset, purpose)
        else:
            access_request_create(
                actor=requester, asset=asset, purpose=purpose, justification=JUSTIFICATION
            )


@pytest.mark.parametrize("count", [3, 30])
def test_my_requests_and_approvals_pages_run_constant_queries(
    client, requester, owner, email_marketing, count, django_assert_max_num_queries
):
    make_requests(count, requester, owner, email_marketing)

    client.force_login(requester)
    with django_assert_max_num_queries(9):
        assert client.get(reverse("customers:request_list")).status_code == 200
    client.force_login(owner)
    with django_assert_max_num_queries(10):
        page = client.get(reverse("customers:approvals"))
    assert len(page.context["rows"]) == min(count, 25)  # 25 a page


@pytest.mark.parametrize("count", [3, 30])
def test_request_and_grant_api_lists_run_constant_queries(
    api_client,
    requester,
    owner,
    compliance_officer,
    email_marketing,
    count,
    django_assert_max_num_queries,
):
    make_requests(count, requester, owner, email_marketing, granted=True)

    api_client.force_authenticate(requester)
    with django_assert_max_num_queries(7):
        requests = api_client.get("/api/access-requests/").json()
    with django_assert_max_num_queries(5):
        grants = api_client.get("/api/grants/").json()
    api_client.force_authenticate(owner)
    with django_assert_max_num_queries(8):
        waiting = api_client.get("/api/access-requests/", {"waiting": 1}).json()

    assert (requests["count"], grants["count"], waiting["count"]) == (count, count, 0)


@pytest.mark.parametrize("count", [3, 30])
def test_grant_pages_run_constant_queries(
    client,
    requester,
    owner,
    compliance_officer,
    email_marketing,
    count,
    django_assert_max_num_queries,
):
    make_requests(count, requester, owner, email_marketing, granted=True)

    for user, name in [
        (requester, "customers:grant_list"),
        (owner, "customers:grant_list_owned"),
        (compliance_officer, "customers:grant_list_all"),
    ]:
        client.force_login(user)
        with django_assert_max_num_queries(12):
            page = client.get(reverse(name))
        assert len(page.context["page"].object_list) == min(count, 25)
    # A search by the holder's name: the accounts and assets named are read once.
    with django_assert_max_num_queries(14):
        page = client.get(reverse("customers:grant_list_all"), {"q": requester.username})
    assert len(page.context["page"].object_list) == min(count, 25)


@pytest.mark.parametrize("count", [3, 30])
def test_waiting_lists_with_the_requesters_other_grants_run_constant_queries(
    client,
    api_client,
    requester,
    owner,
    compliance_officer,
    email_marketing,
    count,
    django_assert_max_num_queries,
):
    """The approvals page and ``?waiting=1`` with ``count`` requests waiting for the owner
    and as many other grants held by their requester: the rows (written from plain values)
    and the other grants (one statement) cost the same whatever their number."""
    make_requests(count, requester, owner, email_marketing, granted=True, name="Granted")
    make_requests(count, requester, owner, email_marketing, name="Asked")

    client.force_login(owner)
    with django_assert_max_num_queries(10):
        page = client.get(reverse("customers:approvals"))
    assert len(page.context["rows"]) == min(count, 25)
    _waiting, other_grants = page.context["rows"][0]
    assert (len(other_grants.shown), other_grants.total) == (min(count, 5), count)
    api_client.force_authenticate(owner)
    with django_assert_max_num_queries(8):
        waiting = api_client.get("/api/access-requests/", {"waiting": 1}).json()
    assert waiting["count"] == count and len(waiting["results"]) == min(count, 50)
