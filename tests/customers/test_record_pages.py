"""A grant's records are paged from the consent states: the page's customer ids and the
number eligible in one statement that never reads the customer table, then the page's
customers by id. Every page number answers exactly as Django's paginator over the
customers' own query does (rows, count, corrections, refusals), in the page and the API."""

from datetime import timedelta

import pytest
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from consent.categories import record_columns
from consent.selectors import eligible_customers
from customers.selectors.grants import grant_records
from portal.pagination import OneReadPaginator
from tests.customers.conftest import consent
from tests.customers.test_grants import approved_grant
from tests.factories import DataAssetFactory

pytestmark = pytest.mark.django_db

PER_PAGE = 4
PAGE_NUMBERS = [1, 2, 3, "3", 3.0, 4, 99, 0, -1, "abc", None, 2.5, "", "last", 10**20]


@pytest.fixture
def grant(requester, owner, email_marketing):
    """A grant on 14 customers: 10 agreed, 2 of whom withdrew later, 4 never asked."""
    asset = DataAssetFactory(
        owner=owner,
        customers=14,
        categories=["user.contact.email", "user.name"],
        classification="internal",
        classification_confirmed=True,
    )
    customers = list(asset.customers.order_by("id"))
    earlier = timezone.now() - timedelta(days=2)
    consent(customers[:10], when=earlier)
    consent(customers[3:5], status="withdrawn")
    return approved_grant(requester, asset, email_marketing)


def as_django_reads_it(grant):
    columns = record_columns(grant.asset)
    rows = eligible_customers(grant.asset, grant.purpose).order_by("id").values(*columns)
    return Paginator(rows, PER_PAGE)


@pytest.mark.parametrize("number", PAGE_NUMBERS)
def test_every_page_number_shows_what_djangos_paginator_shows(grant, number):
    expected = as_django_reads_it(grant)
    paginator = OneReadPaginator(grant_records(grant)[1], PER_PAGE)
    try:
        page = expected.page(number)
    except (EmptyPage, PageNotAnInteger) as refusal:
        with pytest.raises(type(refusal), match=str(refusal)):
            paginator.page(number)
    else:
        assert list(paginator.page(number).object_list) == list(page.object_list)
    got, wanted = paginator.get_page(number), expected.get_page(number)
    assert (got.number, list(got.object_list)) == (wanted.number, list(wanted.object_list))
    assert paginator.count == expected.count == 8


def test_the_count_never_reads_the_customers_and_the_page_reads_only_its_own(grant):
    records = grant_records(grant)[1]  # its columns and purposes are read here
    with CaptureQueriesContext(connection) as queries:
        page = OneReadPaginator(records, PER_PAGE).get_page(2)
        assert page.paginator.count == 8
    keys, rows = [query["sql"] for query in queries.captured_queries]
    assert "OVER ()" in keys and 'FROM "customers_customer"' not in keys
    assert "consent_consentstate" in keys
    assert 'FROM "customers_customer"' in rows and "consent_consentstate" not in rows
    assert [row["id"] for row in page.object_list] == [
        row["id"] for row in as_django_reads_it(grant).page(2).object_list
    ]


def test_nobody_eligible_is_one_statement_and_an_empty_page(grant):
    consent(grant.asset.customers.all(), status="withdrawn")
    records = grant_records(grant)[1]
    with CaptureQueriesContext(connection) as queries:
        page = OneReadPaginator(records, PER_PAGE).get_page(1)
        assert (page.paginator.count, list(page.object_list)) == (0, [])
    assert len(queries.captured_queries) == 1


def test_the_page_and_the_api_show_the_same_customers_and_count(client, api_client, grant):
    client.force_login(grant.user)
    api_client.force_authenticate(grant.user)
    expected = as_django_reads_it(grant)

    html = client.get(reverse("customers:grant_records", args=[grant.pk])).content.decode()
    body = api_client.get(f"/api/grants/{grant.pk}/records/", {"page_size": 4, "page": 2}).json()

    assert "Customers eligible for" in html and "<strong>8</strong>" in html
    assert all(row["email"] in html for row in expected.page(1).object_list)
    assert body["count"] == 8
    assert body["results"] == list(expected.page(2).object_list)
