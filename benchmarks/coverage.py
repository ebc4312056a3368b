"""Benchmark: consent coverage of a 100,000-customer asset with 500,000 consent records.

    .venv/bin/python benchmarks/coverage.py                 # build the data once, then time
    .venv/bin/python benchmarks/coverage.py --rebuild       # regenerate the data set

Runs on its own PostgreSQL database (``BENCH_DATABASE_URL``, default
``postgres://postgres@127.0.0.1:5432/portal_bench_coverage``, created if missing), so it
never touches anyone's data. The records are spread over a purpose tree (``marketing``,
``marketing.communications``, ``marketing.communications.email``, siblings and other
branches), with random grants and withdrawals, some on the same day (ties). The current
state is built by ``consent_state_rebuild`` (the same rule the services keep per record).

It prints the best of ``--repeat`` runs of ``coverage_for(asset, email)`` and of two
hand-written SQL forms over the raw records that give the same answer (a correlated
"latest record" subquery and a ``DISTINCT ON`` join), checks the three answers agree, and
prints the ratio coverage_for / best hand-written form (goal: at most 1.5).
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import django_on_own_database, empty_customer_data  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/portal_bench_coverage"
PURPOSE = "marketing.communications.email"
TREE = [
    "marketing",
    "marketing.communications",
    "marketing.communications.email",
    "marketing.communications.sms",
    "marketing.advertising",
    "personalize",
    "third_party_sharing",
    "analytics",
]

CORRELATED_SQL = """
SELECT count(*) AS total,
       count(*) FILTER (WHERE (
           SELECT r.status FROM consent_consentrecord r
           WHERE r.customer_id = ac.customer_id AND r.purpose_id = ANY(%(ids)s)
           ORDER BY r.effective_at DESC, (r.status = 'withdrawn') DESC
           LIMIT 1) = 'granted') AS eligible
FROM customers_assetcustomer ac
WHERE ac.asset_id = %(asset)s
"""

DISTINCT_ON_SQL = """
SELECT count(*) AS total, count(*) FILTER (WHERE latest.status = 'granted') AS eligible
FROM customers_assetcustomer ac
LEFT JOIN (
    SELECT DISTINCT ON (customer_id) customer_id, status
    FROM consent_consentrecord
    WHERE purpose_id = ANY(%(ids)s)
    ORDER BY customer_id, effective_at DESC, (status = 'withdrawn') DESC
) latest ON latest.customer_id = ac.customer_id
WHERE ac.asset_id = %(asset)s
"""


def build(customers: int, records: int, seed: float):
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from consent.models import Purpose
    from consent.services.imports import consent_state_rebuild
    from customers.models.catalogue import DataAsset

    print(f"Building {customers:,} customers and {records:,} consent records ...", flush=True)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        empty_customer_data(cursor)
        owner, _ = get_user_model().objects.get_or_create(username="bench-owner")
        asset = DataAsset.objects.create(name="Benchmark customers", owner=owner)
        asset.collected_for.set(Purpose.objects.filter(key="essential.service"))
        cursor.execute("SELECT setseed(%s)", [seed])
        cursor.execute(
            "INSERT INTO customers_customer (name, email, phone, organisation, country, "
            "created_at) SELECT 'Customer ' || i, 'c' || i || '@example.org', '', '', 'NO', "
            "now() FROM generate_series(1, %s) AS i",
            [customers],
        )
        cursor.execute(
            "INSERT INTO customers_assetcustomer (asset_id, customer_id, added_at) "
            "SELECT %s, id, now() FROM customers_customer",
            [asset.pk],
        )
        ids = list(Purpose.objects.filter(key__in=TREE).values_list("pk", flat=True))
        assert len(ids) == len(TREE), "load the taxonomy first (migrate does)"
        missing = records
        while missing > 0:
            # Half the dates fall on midnight of a day in three years (ties happen), the
            # rest at a random second; an exact repeat of a statement is skipped.
            cursor.execute(
                "INSERT INTO consent_consentrecord (customer_id, purpose_id, status, source, "
                "evidence, notice_version, recorded_at, effective_at) "
                "SELECT c.first + floor(random() * %(n)s)::int, "
                "(%(ids)s::bigint[])[1 + floor(random() * %(k)s)::int], "
                "CASE WHEN random() < 0.6 THEN 'granted' ELSE 'withdrawn' END, 'import', "
                "'', 'v1', now(), timestamptz '2022-01-01' + CASE WHEN random() < 0.5 "
                "THEN floor(random() * 1000) * interval '1 day' "
                "ELSE floor(random() * 86400000) * interval '1 second' END "
                "FROM generate_series(1, %(missing)s), "
                "(SELECT min(id) AS first FROM customers_customer) AS c "
                "ON CONFLICT DO NOTHING",
                {"n": customers, "ids": ids, "k": len(ids), "missing": missing},
            )
            missing -= cursor.rowcount
        states = consent_state_rebuild()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"  built in {time.perf_counter() - started:.1f} s ({states:,} current states)")
    return asset


def best_of(repeat: int, run):
    times, answer = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        answer = run()
        times.append(time.perf_counter() - started)
    return min(times), answer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rebuild", action="store_true", help="regenerate the data set")
    args = parser.parse_args()

    django_on_own_database(DEFAULT_URL, {"DEBUG": "1"})
    from django.db import connection

    from consent.models import ConsentRecord, Purpose, key_and_ancestors
    from consent.selectors import coverage_for
    from customers.models.catalogue import DataAsset

    asset = DataAsset.objects.filter(name="Benchmark customers").first()
    if (
        args.rebuild
        or asset is None
        or asset.memberships.count() != args.customers
        or ConsentRecord.objects.count() != args.records
    ):
        asset = build(args.customers, args.records, seed=0.42)

    purpose = Purpose.objects.get(key=PURPOSE)
    ids = list(Purpose.objects.filter(key__in=key_and_ancestors(PURPOSE)).values_list("pk"))
    params = {"ids": [pk for (pk,) in ids], "asset": asset.pk}

    def hand_written(query):
        def run():
            with connection.cursor() as cursor:
                cursor.execute(query, params)
                total, eligible = cursor.fetchone()
            return eligible, total

        return run

    def selector():
        coverage = coverage_for(asset, purpose)
        return coverage.eligible, coverage.total

    print(
        f"Asset of {asset.memberships.count():,} customers, "
        f"{ConsentRecord.objects.count():,} consent records; purpose {PURPOSE}; "
        f"best of {args.repeat} runs"
    )
    t_selector, a_selector = best_of(args.repeat, selector)
    t_correlated, a_correlated = best_of(args.repeat, hand_written(CORRELATED_SQL))
    t_distinct, a_distinct = best_of(args.repeat, hand_written(DISTINCT_ON_SQL))
    print(f"  coverage_for                     {t_selector:7.3f} s  -> {a_selector}")
    print(f"  SQL correlated latest subquery   {t_correlated:7.3f} s  -> {a_correlated}")
    print(f"  SQL DISTINCT ON join             {t_distinct:7.3f} s  -> {a_distinct}")
    if not a_selector == a_correlated == a_distinct:
        print("MISMATCH: the three answers differ")
        return 1
    best = min(t_correlated, t_distinct)
    ratio = t_selector / best
    print(f"  ratio coverage_for / best hand-written SQL: {ratio:.2f} (goal <= 1.5)")
    return 0 if ratio <= 1.5 else 2


if __name__ == "__main__":
    sys.exit(main())
