"""Benchmark: consent coverage of assets of 100,000 and 1,000,000 customers, against the
best hand-written SQL over the same folded state table.

    .venv/bin/python benchmarks/coverage.py                 # build the data once, then time
    .venv/bin/python benchmarks/coverage.py --rebuild       # regenerate the data set

Runs on its own PostgreSQL database (``BENCH_DATABASE_URL``, default
``postgres://postgres@127.0.0.1:5432/portal_bench_coverage``, created if missing), so it
never touches anyone's data. 1,000,000 customers and 5,000,000 consent records spread over
a purpose tree (``marketing``, ``marketing.communications``,
``marketing.communications.email``, siblings and other branches), with random grants and
withdrawals, some on the same day (ties). The current state is built by
``consent_state_rebuild`` (the same rule the services keep per record): about 3.4 million
``ConsentState`` rows. Two assets: the first 100,000 customers, and all of them. Building
takes a few minutes, once.

For each asset it times ``coverage_for(asset, email)`` and hand-written SQL forms that
give the same answer from the same ``ConsentState`` table (``STATE_FORMS``: grouped, latest
state by ``DISTINCT ON``, a correlated "latest state" subquery, ``NOT EXISTS``). Every form
runs once to warm the cache, then three times in turn to find the best form (the best of
three of each); then ``coverage_for``, the best form and that same best form again (``best
form again``) run in turn ``--repeat`` times, the order rotated by one every round, so a
change of load on a shared machine or a place in the round favours none of them; the best
time of each counts. So the ratio compares a best of ``--repeat`` with a best of
``--repeat``: the best of the best form and its second timing together would be a best of
twice as many, lower by chance alone. The hand-written forms get the purpose ids as
constants (read once, outside the timing); ``coverage_for`` reads them itself, as it does
in the portal. It checks every answer agrees and prints the ratio ``coverage_for`` / best
hand-written form (goal: at most 1.0), and the ratio of the best form's second timing to
its first, which is how far apart two timings of one statement land on this machine. The
two forms over the raw records it used to be compared with are printed too, for the record
(``--with-records``; slow at 1,000,000).
"""

import argparse
import os
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

ASSET_PREFIX = "Coverage benchmark "
RATIO_GOAL = 1.0
# Rounds of every form that pick the best one (after one round that warms the cache).
SELECTION_ROUNDS = 3
# Every form: (total, eligible) for the asset %(asset)s and the purpose ids %(ids)s (the
# purpose and its ancestors). Eligible: the latest state among those keys is a grant (a
# withdrawal as late as a grant wins).
TOTAL = "(SELECT count(*) FROM customers_assetcustomer WHERE asset_id = %(asset)s)"
STATE_FORMS = {
    "grouped, HAVING latest grant > latest withdrawal": f"""
SELECT {TOTAL}, count(*) FROM (
    SELECT s.customer_id FROM consent_consentstate s
    JOIN customers_assetcustomer ac ON ac.customer_id = s.customer_id AND ac.asset_id = %(asset)s
    WHERE s.purpose_id = ANY(%(ids)s)
    GROUP BY s.customer_id
    HAVING max(s.effective_at) FILTER (WHERE s.status = 'granted')
         > coalesce(max(s.effective_at) FILTER (WHERE s.status = 'withdrawn'), '-infinity')
) eligible""",
    "DISTINCT ON latest state": f"""
SELECT {TOTAL}, count(*) FILTER (WHERE latest.status = 'granted') FROM (
    SELECT DISTINCT ON (s.customer_id) s.status FROM consent_consentstate s
    JOIN customers_assetcustomer ac ON ac.customer_id = s.customer_id AND ac.asset_id = %(asset)s
    WHERE s.purpose_id = ANY(%(ids)s)
    ORDER BY s.customer_id, s.effective_at DESC, (s.status = 'withdrawn') DESC
) latest""",
    "correlated latest-state subquery": """
SELECT count(*), count(*) FILTER (WHERE (
    SELECT s.status FROM consent_consentstate s
    WHERE s.customer_id = ac.customer_id AND s.purpose_id = ANY(%(ids)s)
    ORDER BY s.effective_at DESC, (s.status = 'withdrawn') DESC LIMIT 1) = 'granted')
FROM customers_assetcustomer ac WHERE ac.asset_id = %(asset)s""",
    "EXISTS grant, NOT EXISTS later withdrawal": f"""
SELECT {TOTAL}, count(*) FROM customers_assetcustomer ac
WHERE ac.asset_id = %(asset)s AND EXISTS (
    SELECT 1 FROM consent_consentstate g
    WHERE g.customer_id = ac.customer_id AND g.purpose_id = ANY(%(ids)s) AND g.status = 'granted'
    AND NOT EXISTS (
        SELECT 1 FROM consent_consentstate w
        WHERE w.customer_id = ac.customer_id AND w.purpose_id = ANY(%(ids)s)
        AND w.status = 'withdrawn' AND w.effective_at >= g.effective_at))""",
}
RECORD_FORMS = {
    "records: correlated latest-record subquery": """
SELECT count(*), count(*) FILTER (WHERE (
    SELECT r.status FROM consent_consentrecord r
    WHERE r.customer_id = ac.customer_id AND r.purpose_id = ANY(%(ids)s)
    ORDER BY r.effective_at DESC, (r.status = 'withdrawn') DESC LIMIT 1) = 'granted')
FROM customers_assetcustomer ac WHERE ac.asset_id = %(asset)s""",
    "records: DISTINCT ON join": """
SELECT count(*), count(*) FILTER (WHERE latest.status = 'granted')
FROM customers_assetcustomer ac
LEFT JOIN (
    SELECT DISTINCT ON (customer_id) customer_id, status FROM consent_consentrecord
    WHERE purpose_id = ANY(%(ids)s)
    ORDER BY customer_id, effective_at DESC, (status = 'withdrawn') DESC
) latest ON latest.customer_id = ac.customer_id
WHERE ac.asset_id = %(asset)s""",
}


def build(customers: int, records: int, sizes: list[int], seed: float) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from consent.models import Purpose
    from consent.services.imports import consent_state_rebuild
    from customers.models.catalogue import DataAsset
    from customers.services.assets import asset_customer_counts_refresh

    print(f"Building {customers:,} customers and {records:,} consent records ...", flush=True)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        empty_customer_data(cursor)
        owner, _ = get_user_model().objects.get_or_create(username="bench-owner")
        cursor.execute("SELECT setseed(%s)", [seed])
        cursor.execute(
            "INSERT INTO customers_customer (name, email, phone, organisation, country, "
            "created_at) SELECT 'Customer ' || i, 'c' || i || '@example.org', '', '', 'NO', "
            "now() FROM generate_series(1, %s) AS i",
            [customers],
        )
        for size in sizes:
            asset = DataAsset.objects.create(name=f"{ASSET_PREFIX}{size}", owner=owner)
            asset.collected_for.set(Purpose.objects.filter(key="essential.service"))
            cursor.execute(
                "INSERT INTO customers_assetcustomer (asset_id, customer_id, added_at) "
                "SELECT %s, id, now() FROM customers_customer ORDER BY id LIMIT %s",
                [asset.pk, size],
            )
        # The kept count every service stores with the memberships it writes.
        asset_customer_counts_refresh()
        ids = list(Purpose.objects.filter(key__in=TREE).values_list("pk", flat=True))
        assert len(ids) == len(TREE), "load the taxonomy first (migrate does)"
        # Benchmark data only: the generated rows reference customers and purposes that
        # exist, so the deferred foreign-key checks (millions of them at commit, most of
        # the build's time) are skipped for this transaction.
        cursor.execute("SET LOCAL session_replication_role = replica")
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


def in_turn(repeat: int, runs: dict) -> dict:
    """{name: (best seconds, answer)} of each run, the runs taken in turn ``repeat`` times,
    the order rotated by one every round (so over a multiple of ``len(runs)`` rounds each
    run takes each place in the round as often). Raises ``AssertionError`` if a run's
    answer changes between rounds."""
    best: dict = {}
    order = list(runs)
    for round_number in range(repeat):
        shift = round_number % len(order)
        for name in order[shift:] + order[:shift]:
            run = runs[name]
            started = time.perf_counter()
            answer = run()
            elapsed = time.perf_counter() - started
            previous = best.get(name, (float("inf"), answer))
            assert previous[1] == answer, (name, previous[1], answer)
            best[name] = (min(previous[0], elapsed), answer)
    return best


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg()) + f" ({os.cpu_count()} cores)"


def measure(asset, repeat: int, with_records: bool) -> tuple[float, float] | None:
    """Print the timings of one asset; return (ratio to the best form, spread of the best
    form timed twice), or ``None`` when the answers disagree."""
    from django.db import connection

    from consent.models import Purpose, key_and_ancestors
    from consent.selectors import coverage_for

    purpose = Purpose.objects.get(key=PURPOSE)
    ids = list(
        Purpose.objects.filter(key__in=key_and_ancestors(PURPOSE)).values_list("pk", flat=True)
    )
    params = {"ids": ids, "asset": asset.pk}

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

    forms = dict(STATE_FORMS, **(RECORD_FORMS if with_records else {}))
    runs = {"coverage_for": selector} | {name: hand_written(sql) for name, sql in forms.items()}
    in_turn(1, runs)  # warms the cache, not timed
    first = in_turn(SELECTION_ROUNDS, runs)  # finds the best form
    best_name = min(STATE_FORMS, key=lambda name: first[name][0])
    paired = {
        "coverage_for": selector,
        best_name: hand_written(STATE_FORMS[best_name]),
        "best form again": hand_written(STATE_FORMS[best_name]),
    }
    best = in_turn(repeat, paired)
    answers = {answer for _, answer in [*first.values(), *best.values()]}
    timed = [(name, result, f"best of {repeat}") for name, result in best.items()]
    timed += [
        (name, result, f"best of {SELECTION_ROUNDS}")
        for name, result in first.items()
        if name not in paired
    ]
    for name, (seconds, answer), times in timed:
        print(f"  {name:<46} {seconds:8.3f} s {times:>11}  -> {answer[0]:,} of {answer[1]:,}")
    if len(answers) != 1:
        print("MISMATCH: the answers differ")
        return None
    again = best["best form again"][0] / best[best_name][0]
    return best["coverage_for"][0] / best[best_name][0], again


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--records", type=int, default=5_000_000)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=15, help="a multiple of 3")
    parser.add_argument("--rebuild", action="store_true", help="regenerate the data set")
    parser.add_argument("--with-records", action="store_true", help="also the record forms")
    args = parser.parse_args()
    sizes = sorted(set(args.sizes))
    if sizes[-1] > args.customers:
        parser.error("every size must be at most --customers")

    django_on_own_database(DEFAULT_URL, {"DEBUG": "1"})
    from consent.models import ConsentRecord
    from customers.models.catalogue import DataAsset

    assets = {a.name: a for a in DataAsset.objects.filter(name__startswith=ASSET_PREFIX)}
    if (
        args.rebuild
        or ConsentRecord.objects.count() != args.records
        or any(
            f"{ASSET_PREFIX}{size}" not in assets
            or assets[f"{ASSET_PREFIX}{size}"].memberships.count() != size
            or assets[f"{ASSET_PREFIX}{size}"].customer_count != size
            for size in sizes
        )
    ):
        build(args.customers, args.records, sizes, seed=0.42)

    print(f"load average before: {_load()}")
    print(
        f"{ConsentRecord.objects.count():,} consent records; purpose {PURPOSE}; every form "
        f"once, then coverage_for and the best form: best of {args.repeat} rounds, in turn"
    )
    verdicts = []
    for size in sizes:
        asset = DataAsset.objects.get(name=f"{ASSET_PREFIX}{size}")
        print(f"Asset of {size:,} customers")
        measured = measure(asset, args.repeat, args.with_records)
        if measured is None:
            return 1
        ratio, again = measured
        print(
            f"  ratio coverage_for / best hand-written SQL over the state table: {ratio:.3f} "
            f"(the best form's second timing / its first: {again:.3f})"
        )
        verdicts.append((size, ratio, again))
    print(f"load average after: {_load()}")
    met = True
    for size, ratio, again in verdicts:
        ok = ratio <= RATIO_GOAL
        met &= ok
        print(
            f"goal coverage_for <= {RATIO_GOAL}x best hand-written SQL at {size:,} customers: "
            f"{'MET' if ok else 'NOT MET'} ({ratio:.3f}; one statement timed twice "
            f"lands {again:.3f} apart)"
        )
    return 0 if met else 2


if __name__ == "__main__":
    sys.exit(main())
