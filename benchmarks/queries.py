"""Query count of each main page at demo size and at scale size, and the slowest queries.

    .venv/bin/python benchmarks/queries.py

Two databases: the demo one (``DEMO_DATABASE_URL``, default
``postgres://postgres@127.0.0.1:5432/portal_scale_demo``, created, migrated and filled by
``seed_demo`` when empty) and the ``seed_scale`` one (``SCALE_DATABASE_URL``, default
``postgres://postgres@127.0.0.1:5432/portal_scale_data``). For each, in a process of its
own, every main page is fetched once to warm up and then ``--repeat`` times through
Django's test client as the user of its role (an employee holding an active export grant,
an owner with requests waiting, a compliance officer, the administrator), with every SQL
statement captured and timed. Prints the query count of each page at both sizes (equal is
the goal) with its median time and the ratio of the scale time to the demo time, then the
slowest statements at scale and the verdict of each goal: equal query counts, every page
within 1.5 times its demo time (coverage counted live, which is what a decision costs,
and the admin reference are printed, not judged), the first view after a cache flush
under 150 ms. Exit status 0 when all are met, 2 otherwise.

``--rounds N`` measures both databases N times, in turn (demo then scale, then scale then
demo, ...), and judges each page by the median of its per-round ratios: on a shared
machine a busy spell during one side's run moved a page's single-run ratio by up to 0.5.

pg_stat_statements is not enabled on the machine, so statements are timed in Python
(``CaptureQueriesContext``): wall time of each ``execute`` including the round trip.
Fetching the records page and the export writes their audit events, as in real use. The
demo's grant holder is given an export grant (through the services) so that the export is
measured at both sizes.

Page for page: a list writes at most a page of rows whatever the data, and what is judged
is growth with the data, so the lists the demo shows shorter than scale only because it is
small are given a full page at demo size, through the services, by people measured in no
role here (``benchmarks/_full_pages.py``): the requests waiting for the compliance officer
and for the owner, the employee's grants (their own requests, approved; so their requests
and the list of every grant fill too), the incidents, the assets the catalogue search
finds. The customer search looks for the last word of a customer's name, which fills a page
at both sizes; the records page and its API show one of the employee's grants whose
eligible customers fill them (``RECORDS_PAGE``); the audit log fills with the records
page's own events. The rows of each filled list are printed. The export writes every
eligible customer of its grant, not a page: it is printed, not judged (``EXPORT``).

Coverage is measured from the cache the pages read it from (every asset cached in the
measuring process, the same path at both sizes), and once counted live as decisions count
it; and the first view of the largest asset right after the cache was flushed (its kept
figure is read from the database).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from _full_pages import CATALOGUE_WORD, ensure_export_grant, ensure_full_pages  # noqa: E402

DEMO_URL = "postgres://postgres@127.0.0.1:5432/portal_scale_demo"
SCALE_URL = "postgres://postgres@127.0.0.1:5432/portal_scale_data"
PURPOSE = "marketing.communications.email"
# Coverage is measured as the pages serve it, from the cache (every asset cached here, so
# the same path at both sizes), and once counted live, as decisions count it.
LIVE = "api asset + coverage counted live"
# The first view after the shared cache was flushed (a deployment, a Redis restart): the
# figure kept in the database is read, nothing is counted (consent/coverage_cache.py).
FLUSHED = "asset detail, cache just flushed"
REFERENCE = "admin changelist (reference)"
# The goals: every page at scale within 1.5 times its time at demo size; the first view
# after a flush under 150 ms. Coverage counted live is what a decision costs, not a page
# (pages read the kept figure); Django's admin is the reference, not a portal page.
GROWTH_GOAL = 1.5
FLUSHED_GOAL_MS = 150
# The export writes every eligible customer of its grant, not a page (400 at demo size, 20
# at scale): printed, not judged; benchmarks/export.py judges it against COPY.
EXPORT = "export"
NOT_PAGES = {LIVE, REFERENCE, EXPORT}
# The rows of the records page and of its API.
RECORDS_PAGE = 50


def cast():
    """The user of each role and the objects their pages are about, in either database."""
    from django.utils import timezone

    from consent.selectors import coverage_for
    from customers.models.access import AccessGrant
    from customers.models.catalogue import DataAsset
    from portal.models import ApprovalStep, User

    active = AccessGrant.objects.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())
    grant = active.filter(level="export").order_by("pk").first() or active.first()
    owner_step = ApprovalStep.objects.filter(status="open", role="owner").order_by("pk").first()
    largest = (
        DataAsset.objects.exclude(classification="restricted")
        .order_by("-customer_count", "pk")
        .first()
    )
    # The records page and its API show 50 rows: one of the employee's grants whose
    # eligible customers fill them, at both sizes (the export grant's hold 20 at scale).
    records = next(
        (
            held
            for held in active.filter(user=grant.user)
            .select_related("asset", "purpose")
            .order_by("pk")
            if coverage_for(held.asset, held.purpose).eligible >= RECORDS_PAGE
        ),
        grant,
    )
    return {
        "employee": grant.user,
        "grant": grant,
        "records grant": records,
        "owner": User.objects.get(pk=owner_step.approver_id),
        "compliance": User.objects.filter(groups__name="Compliance").order_by("pk").first(),
        "admin": User.objects.filter(is_superuser=True).order_by("pk").first(),
        "asset": largest,
        "customer": largest.customers.order_by("pk").first(),
    }


def pages(c) -> list[tuple[str, str, str]]:
    """(page, role, url): the main pages and API calls of each role."""
    grant, records, asset = c["grant"], c["records grant"], c["asset"]
    surname = c["customer"].name.split()[-1]
    rows = [
        ("catalogue list", "employee", "/assets/"),
        ("catalogue search", "employee", f"/assets/?q={CATALOGUE_WORD}"),
        ("asset detail + coverage", "employee", f"/assets/{asset.pk}/?purpose={PURPOSE}"),
        ("api asset + coverage", "employee", f"/api/assets/{asset.pk}/?purpose={PURPOSE}"),
        (LIVE, "employee", f"/api/assets/{asset.pk}/?purpose={PURPOSE}"),
        (FLUSHED, "employee", f"/assets/{asset.pk}/?purpose={PURPOSE}"),
        ("api assets", "employee", "/api/assets/"),
        ("my requests", "employee", "/requests/"),
        ("api my requests", "employee", "/api/access-requests/"),
        ("my grants", "employee", "/grants/"),
        ("records page", "employee", f"/grants/{records.pk}/records/"),
        ("api records", "employee", f"/api/grants/{records.pk}/records/"),
        ("approvals waiting", "owner", "/approvals/"),
        ("api approvals waiting", "owner", "/api/access-requests/?waiting=1"),
        ("approvals waiting (compliance)", "compliance", "/approvals/"),
        ("all grants", "compliance", "/grants/all/"),
        # Searches that name a person: the holder's grants, the holder's audit events.
        ("all grants search", "compliance", f"/grants/all/?q={grant.user.username}"),
        ("audit log", "compliance", "/audit/"),
        ("audit log filtered", "compliance", "/audit/?action=records"),
        ("audit log by actor", "compliance", f"/audit/?actor={grant.user.username}"),
        ("api audit", "compliance", "/api/audit/"),
        ("incident list", "compliance", "/incidents/"),
        # A data subject looked up by the last word of their name (a surname, "Ltd"): the
        # largest asset's first customer's, which fills a page at both sizes.
        ("customer search", "compliance", f"/customers/?{urlencode({'q': surname})}"),
        ("api incidents", "compliance", "/api/incidents/"),
        ("notifications", "employee", "/notifications/"),
        (REFERENCE, "admin", "/admin/portal/user/"),
    ]
    if grant.level == "export":
        rows.insert(10, (EXPORT, "employee", f"/grants/{grant.pk}/export/"))
    return rows


def measure(repeat: int) -> dict:
    """Runs in a process set up for one database; returns counts, times and statements."""
    import django

    django.setup()
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    ensure_export_grant()
    c = cast()
    filled = ensure_full_pages(c)
    clients = {}
    for role in ("employee", "owner", "compliance", "admin"):
        clients[role] = Client(HTTP_HOST="localhost")  # in DEBUG's ALLOWED_HOSTS
        clients[role].force_login(c[role])
    result = {"pages": {}, "statements": [], "filled": filled}
    for name, role, url in pages(c):
        client = clients[role]
        live = override_settings(COVERAGE_CACHE_MIN_CUSTOMERS=sys.maxsize if name == LIVE else 0)
        live.enable()
        response = client.get(url)
        b"".join(response.streaming_content) if response.streaming else response.content
        assert response.status_code == 200, (name, url, response.status_code)
        counts, times = [], []
        for _ in range(repeat):
            if name == FLUSHED:
                cache.clear()
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get(url)
                if response.streaming:
                    b"".join(response.streaming_content)
                times.append(time.perf_counter() - started)
            counts.append(len(captured.captured_queries))
        live.disable()
        result["pages"][name] = {"queries": max(counts), "ms": statistics.median(times) * 1000}
        for query in captured.captured_queries:
            result["statements"].append((float(query["time"]) * 1000, name, query["sql"]))
    result["statements"].sort(reverse=True)
    result["statements"] = result["statements"][:15]
    return result


def ensure_demo(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "1"}
    python = str(ROOT / ".venv" / "bin" / "python")
    for command in (["migrate", "-v0"], ["seed_demo"]):
        subprocess.run(
            [python, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True
        )


def run_in_child(url: str, repeat: int) -> dict:
    # Pages, not the second factor, are measured: force_login holds no verified device.
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "1",
        "LOG_LEVEL": "WARNING",
        "OTP_REQUIRED": "0",
    }
    env.pop("REDIS_URL", None)
    output = subprocess.run(
        [sys.executable, __file__, "--child", "--repeat", str(repeat)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def in_rounds(demo_url: str, scale_url: str, repeat: int, rounds: int):
    """``(demo, scale, ratios)``: each page measured in ``rounds`` rounds, the two databases
    in turn (demo first in odd rounds, scale first in even ones), so that a busy spell of a
    shared machine falls on both sides alike. ``demo`` and ``scale`` are the last round's
    results with each page's ``ms`` replaced by its median over the rounds; ``ratios`` is
    each page's median of its per-round scale/demo ratios."""
    runs: dict[str, list[dict]] = {"demo": [], "scale": []}
    for number in range(rounds):
        order = [("demo", demo_url), ("scale", scale_url)]
        for side, url in order if number % 2 == 0 else order[::-1]:
            runs[side].append(run_in_child(url, repeat))
    demo, scale = runs["demo"][-1], runs["scale"][-1]
    ratios = {}
    for name in scale["pages"]:
        if name not in demo["pages"]:
            continue
        pairs = [
            (at_demo["pages"][name]["ms"], at_scale["pages"][name]["ms"])
            for at_demo, at_scale in zip(runs["demo"], runs["scale"], strict=True)
        ]
        ratios[name] = statistics.median(
            at_scale / max(at_demo, 1e-9) for at_demo, at_scale in pairs
        )
        demo["pages"][name]["ms"] = statistics.median(at_demo for at_demo, _ in pairs)
        scale["pages"][name]["ms"] = statistics.median(at_scale for _, at_scale in pairs)
    return demo, scale, ratios


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--rounds", type=int, default=1, help="rounds of both databases in turn (medians)"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    if args.child:
        print(json.dumps(measure(args.repeat)))
        return 0

    demo_url = os.environ.get("DEMO_DATABASE_URL", DEMO_URL)
    scale_url = os.environ.get("SCALE_DATABASE_URL", SCALE_URL)
    ensure_demo(demo_url)
    demo, scale, ratios = in_rounds(demo_url, scale_url, args.repeat, args.rounds)
    if args.rounds > 1:
        print(
            f"{args.rounds} rounds, demo and scale in turn: medians of each page's times and "
            "of its per-round ratios"
        )
    print(
        f"{'page':<32} {'demo q':>7} {'scale q':>8} {'demo ms':>8} {'scale ms':>9} "
        f"{'scale/demo':>10}"
    )
    unequal, grown = [], []
    for name, at_scale in scale["pages"].items():
        at_demo = demo["pages"].get(name, {"queries": "-", "ms": float("nan")})
        ratio = ratios.get(name, float("nan"))
        marks = []
        if at_demo["queries"] != at_scale["queries"]:
            unequal.append(name)
            marks.append("queries differ")
        if name in NOT_PAGES:
            marks.append("not judged")
        elif not ratio <= GROWTH_GOAL:
            grown.append(f"{name} {ratio:.2f}")
            marks.append(f"over {GROWTH_GOAL}")
        print(
            f"{name:<32} {at_demo['queries']:>7} {at_scale['queries']:>8} "
            f"{at_demo['ms']:>8.1f} {at_scale['ms']:>9.1f} {ratio:>10.2f}"
            + (f"  <- {', '.join(marks)}" if marks else "")
        )
    print("\nLists filled to a full page at demo size (rows at demo size, at scale):")
    for what, rows in demo["filled"].items():
        print(f"  {what}: {rows:,}, {scale['filled'][what]:,}")
    print("\nSlowest statements at scale (last run of each page, ms):")
    for ms, page, statement in scale["statements"]:
        print(f"{ms:8.1f}  {page:<30} {statement[:150]}")
    flushed_ms = scale["pages"].get(FLUSHED, {"ms": float("nan")})["ms"]
    verdicts = [
        ("query counts equal at both sizes", not unequal, ", ".join(unequal)),
        (
            f"every page at scale within {GROWTH_GOAL}x its demo time "
            f"({len(NOT_PAGES)} rows not judged: {', '.join(sorted(NOT_PAGES))})",
            not grown,
            ", ".join(grown),
        ),
        (
            f"first view after a cache flush under {FLUSHED_GOAL_MS} ms",
            flushed_ms < FLUSHED_GOAL_MS,
            f"{flushed_ms:.1f} ms",
        ),
    ]
    print()
    for goal, met, detail in verdicts:
        print(f"goal {goal}: {'MET' if met else 'NOT MET'}" + (f" ({detail})" if detail else ""))
    return 0 if all(met for _, met, _ in verdicts) else 2


if __name__ == "__main__":
    sys.exit(main())
