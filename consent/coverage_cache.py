"""Coverage of the largest assets, counted in the background for the pages that show it.

Counting who of a 50,000-customer asset may be used for a purpose groups all their consent
states: 0.1 to 0.2 s alone, close to a second under load. The pages that only *show*
coverage (the asset page and API, the request form's check, a request's page, the
compliance dashboard, access reviews) read it through ``cached_coverage_for``; every
decision (refusing a request nobody is eligible for, a grant, an export, a sharing package)
still counts live through ``consent.selectors``.

Two layers, so that nobody waits for a count:

* ``CoverageFigure`` rows in the database, one per (asset, purpose) shown, each counted as
  of a ``CoverageGeneration`` number. Anything that can change a coverage (a consent record
  or import, a rebuild of the states, customers added to or removed from an asset, a
  purpose or what an asset was collected for edited) calls ``coverage_changed``: once its
  transaction has committed, the generation goes up by one and the Celery task
  ``consent.tasks.recount_coverage_figures`` recounts every figure of an older generation
  (``coverage_figures_recount``). Until it has, pages show the figure counted before the
  change, for at most ``COVERAGE_CACHE_SECONDS``: a figure older than that (no worker ran)
  is counted live, so a stopped worker never leaves a page wrong for long. The figures
  live in the database, so a flushed or restarted cache loses none of them: the first view
  after a flush reads the row (one query), it does not count.
* The shared cache (Redis in production: ``CACHE_URL`` or ``REDIS_URL``) in front: a
  current figure read from the database is kept there under the cache's generation, which
  ``coverage_changed`` renews too; a second view costs no query. If the cache cannot be
  reached, the database layer answers alone.

Only assets of at least ``COVERAGE_CACHE_MIN_CUSTOMERS`` customers take this path (a small
asset counts in a few ms). A pair never shown before is counted live once, on its first
view, and kept from then on; ``manage.py coverage_warm`` counts the pairs people are about to
look at (the purposes of every large asset's grants, requests and collection) beforehand,
for a new deployment or a new large asset.
"""

import logging
import time
from collections.abc import Iterable
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from consent.models import CoverageFigure, CoverageGeneration, Purpose
from consent.selectors import Coverage, coverage_for
from customers.models.catalogue import DataAsset

logger = logging.getLogger(__name__)

GENERATION_KEY = "coverage:generation"
RECOUNT_TASK = "consent.tasks.recount_coverage_figures"


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
    """After a change has committed: a new generation in the database and in the cache,
    every kept figure marked out of date, then their recount (in the background)."""
    updated = CoverageGeneration.objects.filter(pk=1).update(number=F("number") + 1)
    if not updated:
        CoverageGeneration.objects.get_or_create(pk=1, defaults={"number": 1})
    if CoverageFigure.objects.filter(stale_since__isnull=True).update(stale_since=timezone.now()):
        current_app.tasks[RECOUNT_TASK].delay()
    try:
        cache.set(GENERATION_KEY, _new_generation(), timeout=None)
    except Exception:  # the cache is down: the database layer answers meanwhile
        logger.warning("Could not start a new coverage generation", exc_info=True)


def coverage_changed() -> None:
    """Mark every kept coverage out of date once the current transaction commits (at once
    outside one), and have it recounted in the background. Called by everything that can
    change who is eligible."""
    transaction.on_commit(_start_new_generation)


def _current_generation() -> int:
    number = CoverageGeneration.objects.filter(pk=1).values_list("number", flat=True).first()
    return number or 0


def _requires_key(also_requires: Iterable[Purpose]) -> str:
    return ",".join(str(pk) for pk in sorted(p.pk for p in also_requires))


def _mark_if_overtaken(figure_pk: int, generation: int) -> None:
    """A figure just counted as of ``generation``: if a change has committed since, it is
    out of date from now (that change may have marked the others before this one was
    written)."""
    if _current_generation() > generation:
        CoverageFigure.objects.filter(
            pk=figure_pk, generation__lt=_current_generation(), stale_since__isnull=True
        ).update(stale_since=timezone.now())


def _count_and_keep(
    asset: DataAsset, purpose: Purpose, also_requires: tuple[Purpose, ...]
) -> Coverage:
    """Count live and keep the figure, as of the generation read before counting."""
    generation = _current_generation()
    coverage = coverage_for(asset, purpose, also_requires=also_requires)
    requires = _requires_key(also_requires)
    figure, _ = CoverageFigure.objects.update_or_create(
        asset=asset,
        purpose=purpose,
        requires=requires,
        defaults={
            "eligible": coverage.eligible,
            "total": coverage.total,
            "lawful_basis": coverage.lawful_basis,
            "generation": generation,
            "counted_at": timezone.now(),
            "stale_since": None,
        },
    )
    _mark_if_overtaken(figure.pk, generation)
    return coverage


def _kept_coverage(
    asset: DataAsset, purpose: Purpose, also_requires: tuple[Purpose, ...]
) -> tuple[Coverage, bool]:
    """(coverage, current): the kept figure, current or out of date for less than
    ``COVERAGE_CACHE_SECONDS``; else (none kept, or its recount is overdue) a live count."""
    figure = CoverageFigure.objects.filter(
        asset=asset, purpose=purpose, requires=_requires_key(also_requires)
    ).first()
    overdue = timezone.now() - timedelta(seconds=settings.COVERAGE_CACHE_SECONDS)
    if figure is None or (figure.stale_since is not None and figure.stale_since < overdue):
        return _count_and_keep(asset, purpose, also_requires), True
    coverage = Coverage(
        purpose=purpose.key,
        eligible=figure.eligible,
        total=figure.total,
        lawful_basis=figure.lawful_basis,
    )
    return coverage, figure.stale_since is None


def cached_coverage_for(
    asset: DataAsset, purpose: Purpose, *, also_requires: Iterable[Purpose] = ()
) -> Coverage:
    """``coverage_for`` (same arguments and answer) for display: small assets counted live,
    large ones from the cache, else from the figure kept in the database (see the module
    docstring: at most ``COVERAGE_CACHE_SECONDS`` behind a change, never counted while a
    person waits unless no figure was ever kept or its recount is overdue)."""
    also_requires = tuple(also_requires)
    if asset.customer_count < settings.COVERAGE_CACHE_MIN_CUSTOMERS:
        return coverage_for(asset, purpose, also_requires=also_requires)
    key = None
    try:
        key = f"coverage:{_generation()}:{asset.pk}:{purpose.pk}:{_requires_key(also_requires)}"
        coverage = cache.get(key)
    except Exception:
        logger.warning("Coverage cache unavailable; reading the kept figure", exc_info=True)
        coverage = None
    if coverage is not None:
        return coverage
    coverage, current = _kept_coverage(asset, purpose, also_requires)
    if current and key is not None:
        try:
            cache.set(key, coverage, timeout=settings.COVERAGE_CACHE_SECONDS)
        except Exception:
            logger.warning("Could not cache a coverage", exc_info=True)
    return coverage


def coverage_figures_recount() -> int:
    """Recount every kept figure a change has put out of date (the background half of
    ``coverage_changed``); returns how many were recounted. Each is counted as of the
    generation read before its count: one a later change overtakes meanwhile stays out of
    date, for the recount that change queued."""
    recounted = 0
    stale = CoverageFigure.objects.filter(stale_since__isnull=False)
    for figure in stale.select_related("asset", "purpose").order_by("pk"):
        generation = _current_generation()
        required = [int(pk) for pk in figure.requires.split(",") if pk]
        also = tuple(Purpose.objects.filter(pk__in=required).order_by("pk"))
        coverage = coverage_for(figure.asset, figure.purpose, also_requires=also)
        recounted += CoverageFigure.objects.filter(pk=figure.pk, generation__lte=generation).update(
            eligible=coverage.eligible,
            total=coverage.total,
            lawful_basis=coverage.lawful_basis,
            generation=generation,
            counted_at=timezone.now(),
            stale_since=None,
        )
        _mark_if_overtaken(figure.pk, generation)
    return recounted


def coverage_figures_warm() -> int:
    """Count and keep, ahead of the first view, the figures of every large asset (at least
    ``COVERAGE_CACHE_MIN_CUSTOMERS`` customers) for the purposes people look at on it: the
    purposes of its grants and access requests and those it was collected for. Figures
    already kept are left alone; returns how many were counted. For a new deployment or a
    new large asset (``manage.py coverage_warm``, and the beat job that runs it)."""
    counted = 0
    large = DataAsset.objects.filter(customer_count__gte=settings.COVERAGE_CACHE_MIN_CUSTOMERS)
    kept = set(CoverageFigure.objects.filter(requires="").values_list("asset_id", "purpose_id"))
    for asset in large.order_by("pk"):
        purposes = Purpose.objects.filter(
            Q(assets_collected_for=asset)
            | Q(pk__in=asset.grants.values("purpose_id"))
            | Q(pk__in=asset.access_requests.values("purpose_id"))
        ).distinct()
        for purpose in purposes.order_by("pk"):
            if (asset.pk, purpose.pk) not in kept:
                _count_and_keep(asset, purpose, ())
                counted += 1
    return counted
