"""The coverage of large assets comes from the cache on the pages that show it, and every
change of who is eligible shows at once."""

import uuid
from datetime import timedelta

import pytest
import redis
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from consent.coverage_cache import coverage_figures_recount
from consent.models import CoverageFigure, CoverageGeneration, LawfulBasis, Purpose
from consent.services.records import consent_record
from customers.services.assets import asset_add_customers, memberships_remove
from tests.conftest import redis_url
from tests.factories import CustomerFactory, DataAssetFactory

pytestmark = pytest.mark.django_db

EMAIL = "marketing.communications.email"


@pytest.fixture(autouse=True)
def _small_assets_count_as_large(settings):
    settings.COVERAGE_CACHE_MIN_CUSTOMERS = 3


@pytest.fixture
def asset(owner):
    return DataAssetFactory(owner=owner, name="Retail list", customers=4)


def shown(api_client, asset, key=EMAIL) -> tuple[int, int]:
    """(eligible, total) as the asset's API answer shows them."""
    response = api_client.get(f"/api/assets/{asset.pk}/", {"purpose": key})
    assert response.status_code == 200
    coverage = response.json()["coverage"]
    return coverage["eligible"], coverage["total"]


def agree(customer, key=EMAIL, status="granted"):
    consent_record(
        actor=None,
        customer=customer,
        purpose=Purpose.objects.get(key=key),
        status=status,
        source="web_form",
        evidence="form-7",
    )


def test_a_second_view_reads_the_figure_from_the_cache(
    api_client, outsider, asset, django_assert_max_num_queries
):
    api_client.force_authenticate(outsider)
    assert shown(api_client, asset) == (0, 4)
    # The user, their groups, the asset, the purpose: no count.
    with django_assert_max_num_queries(4) as captured:
        assert shown(api_client, asset) == (0, 4)
    assert not any("consent_consentstate" in q["sql"] for q in captured.captured_queries)


def test_consent_recorded_or_withdrawn_shows_at_once(
    api_client, outsider, asset, django_capture_on_commit_callbacks
):
    api_client.force_authenticate(outsider)
    first, second, *_ = asset.customers.order_by("id")
    assert shown(api_client, asset) == (0, 4)

    with django_capture_on_commit_callbacks(execute=True):
        agree(first)
        agree(second)
    assert shown(api_client, asset) == (2, 4)

    with django_capture_on_commit_callbacks(execute=True):
        agree(second, status="withdrawn")
    assert shown(api_client, asset) == (1, 4)


def test_customers_added_or_removed_show_at_once(
    api_client, outsider, owner, asset, django_capture_on_commit_callbacks
):
    api_client.force_authenticate(outsider)
    assert shown(api_client, asset) == (0, 4)
    newcomer = CustomerFactory()
    agree(newcomer)

    with django_capture_on_commit_callbacks(execute=True):
        asset_add_customers(asset=asset, actor=owner, customers=[newcomer])
    assert shown(api_client, asset) == (1, 5)

    with django_capture_on_commit_callbacks(execute=True):
        memberships_remove(
            memberships=asset.memberships.filter(customer=newcomer),
            actor=owner,
            reason="Erased on request.",
        )
    assert shown(api_client, asset) == (0, 4)


def test_a_purpose_or_what_the_asset_was_collected_for_edited_shows_at_once(
    api_client, outsider, asset, django_capture_on_commit_callbacks
):
    api_client.force_authenticate(outsider)
    analytics = Purpose.objects.get(key="analytics")
    assert shown(api_client, asset, "analytics") == (0, 4)

    # Collected for it, on a lawful basis that is not consent: every customer is covered.
    with django_capture_on_commit_callbacks(execute=True):
        analytics.lawful_basis = LawfulBasis.LEGITIMATE_INTEREST
        analytics.save()
        asset.collected_for.add(analytics)
    assert shown(api_client, asset, "analytics") == (4, 4)

    with django_capture_on_commit_callbacks(execute=True):
        asset.collected_for.remove(analytics)
    assert shown(api_client, asset, "analytics") == (0, 4)


def test_small_assets_are_counted_live(settings, api_client, outsider, asset):
    settings.COVERAGE_CACHE_MIN_CUSTOMERS = 5000
    api_client.force_authenticate(outsider)
    assert shown(api_client, asset) == (0, 4)
    agree(asset.customers.first())  # not committed yet (the test's transaction): live anyway
    assert shown(api_client, asset) == (1, 4)


def test_an_unreachable_cache_means_a_live_count_not_an_error(
    settings, api_client, outsider, asset
):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    api_client.force_authenticate(outsider)
    agree(asset.customers.first())
    assert shown(api_client, asset) == (1, 4)


@pytest.mark.redis
def test_the_figures_are_kept_in_redis_for_every_web_process(
    settings, api_client, outsider, asset, django_capture_on_commit_callbacks
):
    prefix = f"coverage-test-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url(),
            "KEY_PREFIX": prefix,
        }
    }
    server = redis.Redis.from_url(redis_url())
    try:
        api_client.force_authenticate(outsider)
        assert shown(api_client, asset) == (0, 4)
        assert server.keys(f"{prefix}:1:coverage:*:{asset.pk}:*")

        with django_capture_on_commit_callbacks(execute=True):
            agree(asset.customers.first())
        assert shown(api_client, asset) == (1, 4)
    finally:
        stored = server.keys(f"{prefix}:*")
        if stored:
            server.delete(*stored)


# --- kept in the database: no count while a person waits ----------------------------------


def counted(captured) -> bool:
    """Whether a request counted coverage (read the consent states)."""
    return any("consent_consentstate" in q["sql"] for q in captured.captured_queries)


def test_after_a_cache_flush_the_first_view_reads_the_kept_figure_without_counting(
    api_client, outsider, asset, django_assert_max_num_queries
):
    api_client.force_authenticate(outsider)
    assert shown(api_client, asset) == (0, 4)  # counted once and kept
    cache.clear()  # a deployment, a Redis restart

    with django_assert_max_num_queries(6) as captured:
        assert shown(api_client, asset) == (0, 4)
    assert not counted(captured)


def test_an_out_of_date_figure_is_shown_until_the_background_recount_then_the_new_one(
    api_client, outsider, asset, django_assert_max_num_queries
):
    api_client.force_authenticate(outsider)
    assert shown(api_client, asset) == (0, 4)
    # A consent recorded, its commit seen as coverage_changed sees it (the test's own
    # transaction never commits): the generation goes up and the kept figures are out of
    # date; the worker has not recounted yet.
    agree(asset.customers.first())
    CoverageGeneration.objects.update_or_create(pk=1, defaults={"number": 1})
    CoverageFigure.objects.update(stale_since=timezone.now())
    cache.clear()

    with django_assert_max_num_queries(6) as captured:
        assert shown(api_client, asset) == (0, 4)  # the figure before the change, no wait
    assert not counted(captured)

    assert coverage_figures_recount() == 1
    assert shown(api_client, asset) == (1, 4)


def test_a_figure_whose_recount_is_overdue_is_counted_live(settings, api_client, outsider, asset):

    api_client.force_authenticate(outsider)
    assert shown(api_client, asset) == (0, 4)
    agree(asset.customers.first())
    # Out of date for longer than COVERAGE_CACHE_SECONDS: no worker recounted it.
    overdue = timezone.now() - timedelta(seconds=settings.COVERAGE_CACHE_SECONDS + 1)
    CoverageFigure.objects.update(stale_since=overdue)
    cache.clear()

    assert shown(api_client, asset) == (1, 4)
    assert CoverageFigure.objects.get().stale_since is None  # and kept again


def test_a_committed_change_recounts_the_kept_figures_in_the_background_task(
    api_client, outsider, asset, django_capture_on_commit_callbacks
):
    api_client.force_authenticate(outsider)
    assert shown(api_client, asset) == (0, 4)

    # Celery runs eagerly here: the task queued on commit has run when the block ends.
    with django_capture_on_commit_callbacks(execute=True):
        agree(asset.customers.first())
    figure = CoverageFigure.objects.get()
    assert (figure.eligible, figure.total, figure.stale_since) == (1, 4, None)


def test_coverage_warm_counts_the_purposes_of_large_assets_before_anyone_looks(
    api_client, outsider, owner, asset, django_assert_max_num_queries
):

    small = DataAssetFactory(owner=owner, name="Two customers", customers=2)
    email = Purpose.objects.get(key=EMAIL)
    for listed in (asset, small):
        listed.collected_for.add(email)
    call_command("coverage_warm")
    assert list(CoverageFigure.objects.values_list("asset_id", "purpose__key")) == [
        (asset.pk, EMAIL)
    ]

    api_client.force_authenticate(outsider)
    with django_assert_max_num_queries(7) as captured:
        assert shown(api_client, asset) == (0, 4)
    assert not counted(captured)
