"""Coverage of the largest assets, kept in the cache for the pages that show it.

Counting who of a 50,000-customer asset may be used for a purpose groups all their consent
states: 0.1 to 0.2 s, on every view of the asset's page. The pages that only
*show* coverage (the asset page and API, the request form's check, a request's page, the
compliance dashboard) read it through ``cached_coverage_for``; every decision (refusing a
request nobody is eligible for, a grant, an export, a sharing package) still counts live
through ``consent.selectors``.

Invalidation is by generation: every cached figure is stored under the current generation
number, and anything that can change a coverage starts a new generation once its
transaction has committed (``coverage_changed``): a consent record or import, a rebuild of
the consent states, customers added to or removed from an asset, a purpose or what an asset
was collected for edited. The old figures are then never read again and expire. A figure
also expires after ``COVERAGE_CACHE_SECONDS`` whatever happens, and only assets of at least
``COVERAGE_CACHE_MIN_CUSTOMERS`` customers are cached (a small asset counts in a few ms).

The cache must be shared by every web process for this to hold (Redis in production:
``CACHE_URL`` or ``REDIS_URL``). If it cannot be reached, coverage is counted live.
"""

import logging
import time
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from consent.models import Purpose
from consent.selectors import Coverage, coverage_for
from customers.models.catalogue import DataAsset

logger = logging.getLogger(__name__)

GENERATION_KEY = "coverage:generation"


def _new_generation() -> int:
    # A number never used before, even if the cache lost the key: figures stored under an
    # earlier generation cannot come back.
    return time.time_ns()


def _generation() -> int:
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        cache.add(GENERATION_KEY, _new_generation(), timeout=None)
        generation = cache.get(GENERATION_KEY)
    return generation


def _start_new_generation() -> None:
    try:
        cache.set(GENERATION_KEY, _new_generation(), timeout=None)
    except Exception:  # the cache is down: figures expire on their own, counted live meanwhile
        logger.warning("Could not start a new coverage generation", exc_info=True)


def coverage_changed() -> None:
    """Forget every cached coverage once the current transaction commits (at once outside
    one). Called by everything that can change who is eligible."""
    transaction.on_commit(_start_new_generation)


def cached_coverage_for(
    asset: DataAsset, purpose: Purpose, *, also_requires: Iterable[Purpose] = ()
) -> Coverage:
    """``coverage_for``, from the cache for large assets. For display only."""
    also_requires = tuple(also_requires)
    if asset.customer_count < settings.COVERAGE_CACHE_MIN_CUSTOMERS:
        return coverage_for(asset, purpose, also_requires=also_requires)
    try:
        generation = _generation()
        required = ",".join(str(p.pk) for p in also_requires)
        key = f"coverage:{generation}:{asset.pk}:{purpose.pk}:{required}"
        coverage = cache.get(key)
    except Exception:
        logger.warning("Coverage cache unavailable; counting live", exc_info=True)
        return coverage_for(asset, purpose, also_requires=also_requires)
    if coverage is None:
        coverage = coverage_for(asset, purpose, also_requires=also_requires)
        try:
            cache.set(key, coverage, timeout=settings.COVERAGE_CACHE_SECONDS)
        except Exception:
            logger.warning("Could not cache a coverage", exc_info=True)
    return coverage
