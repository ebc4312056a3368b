"""Benchmark: the record of processing activities (GDPR Art. 30) at the scale data size.

    .venv/bin/python benchmarks/record.py              # builds the data the first time
    .venv/bin/python benchmarks/record.py --repeat 5

Runs on its own PostgreSQL database (``BENCH_DATABASE_URL``, default
``postgres://postgres@127.0.0.1:5432/portal_bench_record``, created if missing, filled by
``seed_scale`` when it holds no asset), so it never touches anyone's data. Compliance names
one activity per top-level purpose in use (through the service, as a person would), then the
record is produced today and as of today from the row history (every asset's history,
many-to-many fields included). Prints the best and median time of each, the query count,
and the size of the record. Goal: under 2 s.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import django_on_own_database  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/portal_bench_record"


def build_if_empty() -> None:
    from django.core.management import call_command

    from customers.models.catalogue import DataAsset

    if not DataAsset.objects.exists():
        print("Building the scale data (seed_scale), once...", flush=True)
        call_command("seed_scale")


def name_activities() -> int:
    """One activity per top-level purpose the assets were collected for."""
    from consent.models import ProcessingActivity, Purpose
    from consent.services.processing_activities import processing_activity_save
    from portal import roles

    officer = roles.role_members(roles.COMPLIANCE).order_by("pk").first()
    in_use = Purpose.objects.filter(assets_collected_for__isnull=False).distinct()
    roots = sorted({purpose.key.split(".")[0] for purpose in in_use})
    for root in roots:
        if not ProcessingActivity.objects.filter(name=f"Activity {root}").exists():
            processing_activity_save(
                actor=officer, name=f"Activity {root}", purposes=Purpose.objects.filter(key=root)
            )
    return ProcessingActivity.objects.count()


def timed(as_of, repeat: int) -> tuple[list[float], int, object]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from consent.processing_record import processing_record

    times, queries, record = [], 0, None
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            record = processing_record(as_of=as_of)
            times.append(time.perf_counter() - start)
        queries = len(captured)
    return times, queries, record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    django_on_own_database(DEFAULT_URL, {"DEBUG": "1"})
    build_if_empty()
    activities = name_activities()
    from django.utils import timezone

    from customers.models.catalogue import DataAsset

    print(f"assets {DataAsset.objects.count():,}, activities {activities}")
    for label, as_of in [
        ("today (live rows)", None),
        ("as of today (history)", timezone.localdate()),
    ]:
        times, queries, record = timed(as_of, args.repeat)
        assets = sum(len(row.assets) for row in record.rows)
        grants = sum(len(row.grants) for row in record.rows)
        print(
            f"{label:<24} best {min(times):.2f} s, median {statistics.median(times):.2f} s, "
            f"{queries} queries; {len(record.rows)} rows, {assets:,} asset links, "
            f"{grants:,} grant links, {record.gaps.count} gaps"
        )


if __name__ == "__main__":
    main()
