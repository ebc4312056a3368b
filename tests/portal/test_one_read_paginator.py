"""``OneReadPaginator`` reads a page and its list's length in one query, and answers every
page number exactly as Django's paginator does: the same rows, count, corrections and
errors."""

import pytest
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from customers.models.catalogue import AssetCustomer, DataAsset
from customers.selectors.catalogue import asset_catalogue
from portal.models import User
from portal.pagination import OneReadPaginator, SortedUpToCapPaginator
from tests.factories import DataAssetFactory

pytestmark = pytest.mark.django_db

PER_PAGE = 4
# What a visitor may type as ?page=: numbers in and past the list, and nonsense.
PAGE_NUMBERS = [1, 2, 3, "3", 3.0, 4, 99, 0, -1, "abc", None, 2.5, "", "1e3"]
# Past any database offset: Django's paginator corrects them; a query would overflow.
PAGE_NUMBERS += [10**20, "99999999999999999999"]


def both(object_list):
    return Paginator(object_list, PER_PAGE), OneReadPaginator(object_list, PER_PAGE)


def shown(page):
    return [getattr(row, "pk", row) for row in page.object_list]


@pytest.fixture
def catalogue(outsider):
    for n in range(10):
        DataAssetFactory(name=f"Shelf {n:02d}")
    return lambda: asset_catalogue(outsider)


@pytest.mark.parametrize("number", PAGE_NUMBERS)
def test_get_page_shows_what_djangos_paginator_shows(catalogue, number):
    django_pages, one_read = both(catalogue())

    expected, page = django_pages.get_page(number), one_read.get_page(number)

    assert (page.number, shown(page)) == (expected.number, shown(expected))
    assert one_read.count == django_pages.count == 10
    assert (page.has_next(), page.has_previous()) == (expected.has_next(), expected.has_previous())


@pytest.mark.parametrize("number", PAGE_NUMBERS)
def test_page_refuses_what_djangos_paginator_refuses(catalogue, number):
    django_pages, one_read = both(catalogue())
    try:
        expected = django_pages.page(number)
    except (EmptyPage, PageNotAnInteger) as refusal:
        with pytest.raises(type(refusal), match=str(refusal)):
            one_read.page(number)
    else:
        assert shown(one_read.page(number)) == shown(expected)


def statements_of_page_two(paginator_class, catalogue):
    with CaptureQueriesContext(connection) as queries:
        page = paginator_class(catalogue(), PER_PAGE).get_page(2)
        assert page.paginator.num_pages == 3
    assert [row.name for row in page.object_list] == [f"Shelf {n:02d}" for n in range(4, 8)]
    return [query["sql"] for query in queries.captured_queries]


def test_a_page_and_the_count_are_one_scan_not_two(catalogue):
    counted = statements_of_page_two(Paginator, catalogue)
    one_read = statements_of_page_two(OneReadPaginator, catalogue)

    # Django's counts the matching assets, then reads the page: both scan every match.
    assert len([sql for sql in counted if "COUNT(*) AS" in sql]) == 1
    # Here the ids of the page come with the count (one scan); the page's rows are then
    # read by id, so there is no statement more.
    assert not [sql for sql in one_read if "COUNT(*) AS" in sql]
    assert len([sql for sql in one_read if "COUNT(*) OVER ()" in sql]) == 1
    assert len(one_read) <= len(counted)


def test_a_catalogue_pages_rows_are_read_by_id_not_searched_again(outsider):
    for n in range(6):
        DataAssetFactory(name=f"Shelf {n:02d}")
    DataAssetFactory(name="Other")

    with CaptureQueriesContext(connection) as queries:
        page = OneReadPaginator(asset_catalogue(outsider, q="shelf"), PER_PAGE).get_page(2)

    assert [row.name for row in page.object_list] == ["Shelf 04", "Shelf 05"]
    assert page.paginator.count == 6
    searched = [query["sql"] for query in queries.captured_queries if "LIKE" in query["sql"]]
    assert len(searched) == 1  # the ids and the count; the rows are read by their ids


def test_an_empty_list_is_one_empty_first_page(outsider):
    page = OneReadPaginator(asset_catalogue(outsider, q="nothing like this"), PER_PAGE).get_page(7)

    assert (page.number, list(page.object_list), page.paginator.count) == (1, [], 0)


@pytest.mark.parametrize("rows", ["search", "values"])
def test_an_empty_list_is_read_once_not_counted_again(outsider, rows):
    """A search that matches nothing, a grant whose customers all withdrew: the first
    page's read finds no row, so the list is empty, with no count to scan it again."""
    DataAssetFactory(name="Shelf 01")
    empty = {
        "search": asset_catalogue(outsider, q="nothing like this"),
        "values": User.objects.filter(username="nobody").order_by("pk").values("pk"),
    }[rows]

    with CaptureQueriesContext(connection) as queries:
        page = OneReadPaginator(empty, PER_PAGE).get_page(None)
        assert (page.number, list(page.object_list), page.paginator.num_pages) == (1, [], 1)

    assert [
        query["sql"] for query in queries.captured_queries if "COUNT(*) AS" in query["sql"]
    ] == []
    assert len(queries.captured_queries) == 1


def test_model_instances_and_values_come_back_without_the_length(catalogue):
    users = User.objects.order_by("pk")

    instances = OneReadPaginator(users, 2).page(1)
    values = OneReadPaginator(users.values("pk", "username"), 2).page(1)

    assert instances.paginator.count == values.paginator.count == users.count()
    assert not [name for name in vars(instances.object_list[0]) if "length" in name]
    assert [set(row) for row in values.object_list] == [{"pk", "username"}] * 2


def test_grouped_rows_are_counted_as_groups(catalogue):
    owners = User.objects.annotate(assets=Count("owned_assets")).order_by("-assets", "pk")
    django_pages, one_read = both(owners)

    expected, page = django_pages.page(2), one_read.page(2)

    assert one_read.count == django_pages.count == User.objects.count()
    assert [(u.pk, u.assets) for u in page.object_list] == [
        (u.pk, u.assets) for u in expected.object_list
    ]


def test_a_list_read_by_id_must_be_ordered_by_its_own_fields(outsider):
    from portal.pagination import PagedRows

    assets = asset_catalogue(outsider).queryset
    with pytest.raises(ValueError, match="ordered by its own fields"):
        PagedRows(assets.order_by(), list, by_id=True)
    with pytest.raises(ValueError, match="ordered by its own fields"):
        PagedRows(assets.annotate(n=Count("memberships")).order_by("-n"), list, by_id=True)


def test_the_api_answers_every_page_number_as_before(api_client, outsider, catalogue):
    api_client.force_authenticate(outsider)

    def answer(page):
        response = api_client.get("/api/assets/", {"page_size": 4, "page": page})
        return response.status_code, response.json()

    status, second = answer(2)
    assert (status, second["count"], len(second["results"])) == (200, 10, 4)
    assert "page=3" in second["next"] and "page_size=4" in second["previous"]
    assert [row["name"] for row in second["results"]] == [f"Shelf {n:02d}" for n in range(4, 8)]
    status, last = answer("last")
    assert (status, [row["name"] for row in last["results"]]) == (200, ["Shelf 08", "Shelf 09"])
    assert last["next"] is None
    for refused in (4, 0, "abc", 10**20):
        status, body = answer(refused)
        assert status == 404 and body == {"detail": "Invalid page."}, refused


def test_a_list_a_window_cannot_count_is_counted_as_django_counts_it(catalogue):
    # A join to every membership repeats each asset; distinct() removes the repeats after
    # any window would have counted them, so such a list is counted the usual way.
    asset = DataAssetFactory(name="Shared", customers=3)
    repeated = User.objects.filter(owned_assets__customers__in=asset.customers.all())
    distinct = repeated.distinct().order_by("pk")
    assert AssetCustomer.objects.filter(asset=asset).count() == 3

    page = OneReadPaginator(distinct, PER_PAGE).page(1)

    assert page.paginator.count == 1
    assert [user.pk for user in page.object_list] == [asset.owner_id]


def shelves_backwards():
    """The ten shelves sorted by name backwards: not the order of their ids."""
    return DataAsset.objects.filter(name__startswith="Shelf").order_by("-name")


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize("number", PAGE_NUMBERS)
def test_a_list_sorted_up_to_its_cap_answers_as_djangos_under_the_cap(number):
    """Under its cap ``SortedUpToCapPaginator`` is Django's paginator over the list as
    sorted: the same rows and corrections for every page number typed."""
    theirs = Paginator(shelves_backwards(), PER_PAGE)
    ours = SortedUpToCapPaginator(shelves_backwards(), PER_PAGE, cap=10, indexed_order=("id",))
    assert shown(ours.get_page(number)) == shown(theirs.get_page(number))
    assert (ours.count, ours.capped) == (10, False)


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize("number", PAGE_NUMBERS)
def test_past_its_cap_a_sorted_list_follows_the_indexed_order(number):
    """Past its cap the pages follow the indexed order (by id, not by name), no page lies
    past the cap, and every page number typed is corrected as Django corrects it."""
    by_id = Paginator(shelves_backwards().order_by("id")[:8], PER_PAGE)
    ours = SortedUpToCapPaginator(shelves_backwards(), PER_PAGE, cap=8, indexed_order=("id",))
    assert shown(ours.get_page(number)) == shown(by_id.get_page(number))
    assert (ours.count, ours.capped, ours.num_pages) == (8, True, 2)
