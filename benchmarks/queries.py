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
measured at both sizes, and the demo's compliance officer a full page of requests waiting
(through the services, by people measured in no other role), so that the approvals page
writes 25 cards at both sizes: a page's rows are bounded by the page, and growth with the
data is what is judged (``ensure_full_approvals_page``). Coverage is measured from the
cache the pages read it from (every asset cached in the measuring process, the same path at
both sizes), and once counted live as decisions count it; and the first view of the largest
asset right after the cache was flushed (its kept figure is read from the database).
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
NOT_PAGES = {LIVE, REFERENCE}


def cast():
    """The user of each role and the objects their pages are about, in either database."""
    from django.utils import timezone

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
    return {
        "employee": grant.user,
        "grant": grant,
        "owner": User.objects.get(pk=owner_step.approver_id),
        "compliance": User.objects.filter(groups__name="Compliance").order_by("pk").first(),
        "admin": User.objects.filter(is_superuser=True).order_by("pk").first(),
        "asset": largest,
        "customer": largest.customers.order_by("pk").first(),
    }


def pages(c) -> list[tuple[str, str, str]]:
    """(page, role, url): the main pages and API calls of each role."""
    grant, asset = c["grant"], c["asset"]
    rows = [
        ("catalogue list", "employee", "/assets/"),
        ("catalogue search", "employee", "/assets/?q=customers"),
        ("asset detail + coverage", "employee", f"/assets/{asset.pk}/?purpose={PURPOSE}"),
        ("api asset + coverage", "employee", f"/api/assets/{asset.pk}/?purpose={PURPOSE}"),
        (LIVE, "employee", f"/api/assets/{asset.pk}/?purpose={PURPOSE}"),
        (FLUSHED, "employee", f"/assets/{asset.pk}/?purpose={PURPOSE}"),
        ("api assets", "employee", "/api/assets/"),
        ("my requests", "employee", "/requests/"),
        ("api my requests", "employee", "/api/access-requests/"),
        ("my grants", "employee", "/grants/"),
        ("records page", "employee", f"/grants/{grant.pk}/records/"),
        ("api records", "employee", f"/api/grants/{grant.pk}/records/"),
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
        # A data subject looked up by name: the largest asset's first customer.
        ("customer search", "compliance", f"/customers/?{urlencode({'q': c['customer'].name})}"),
        ("api incidents", "compliance", "/api/incidents/"),
        ("notifications", "employee", "/notifications/"),
        (REFERENCE, "admin", "/admin/portal/user/"),
    ]
    if grant.level == "export":
        rows.insert(10, ("export", "employee", f"/grants/{grant.pk}/export/"))
    return rows


def ensure_export_grant() -> None:
    """The demo holds view grants only: give its grant holder an export grant on the same
    asset and purpose, through the services and every approval step, so the export page is
    measured at both sizes. Nothing happens when an active export grant exists."""
    from django.utils import timezone

    from customers.models.access import AccessGrant
    from customers.services.access import access_request_create, access_request_decide
    from portal.approvals import deciders_for

    active = AccessGrant.objects.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())
    if active.filter(level="export").exists():
        return
    grant = active.select_related("user", "asset", "purpose").order_by("pk").first()
    request = access_request_create(
        actor=grant.user,
        asset=grant.asset,
        purpose=grant.purpose,
        justification="Query-count benchmark: the export page measured at demo size.",
        level="export",
        duration_days=30,
    )
    for step in request.chain.steps.order_by("position"):
        step.refresh_from_db()
        access_request_decide(
            access_request=request,
            actor=deciders_for(step).exclude(pk=grant.user_id).first(),
            approve=True,
            reason="Approved for the query-count benchmark.",
        )


def ensure_full_approvals_page(c: dict) -> int:
    """The demo's compliance officer has one request waiting, the scale one 961: a page of
    one card against a page of 25. A page writes at most a page of rows whatever the data
    (``PAGE_SIZE``), and what this benchmark looks for is growth with the data, so the
    demo's officer is given a full page waiting: requests by the demo's people who are not
    measured here as the employee, owner, officer or administrator, on the assets whose
    chain asks compliance, for purposes with eligible customers (nothing is refused, so no
    refusal is audited), each owner step approved by the asset's owner (the demo's owners
    include the one measured here: his approvals page leaves those requests out, as it
    would in use), all through the services, until the officer's list holds a page. Nothing
    happens when a full page already waits (the scale database, or a demo filled before).
    Returns how many requests wait for the officer, printed with the results."""
    from itertools import product

    from consent.models import Purpose
    from consent.selectors import coverage_for
    from customers.models.access import AccessRequest
    from customers.models.catalogue import DataAsset
    from customers.services.access import access_request_create, access_request_decide
    from customers.views.assets import PAGE_SIZE
    from portal.approvals import approvals_waiting_for, deciders_for
    from portal.models import User

    officer = c["compliance"]
    measured = [c[role].pk for role in ("employee", "owner", "compliance", "admin")]
    requesters = User.objects.filter(is_active=True).exclude(pk__in=measured).order_by("pk")
    assets = DataAsset.objects.filter(classification="confidential").order_by("pk")
    purposes = Purpose.objects.filter(active=True).order_by("key")
    for requester, asset, purpose in product(requesters, assets, purposes):
        waiting = len(approvals_waiting_for(officer))
        if waiting >= PAGE_SIZE:
            return waiting
        pending = AccessRequest.objects.filter(
            requester=requester, asset=asset, purpose=purpose, chain__status="pending"
        )
        if pending.exists() or coverage_for(asset, purpose).eligible == 0:
            continue
        request = access_request_create(
            actor=requester,
            asset=asset,
            purpose=purpose,
            justification="Query-count benchmark: a full page of approvals at demo size.",
        )
        owner_step = request.chain.open_step
        if owner_step.role == "owner":
            access_request_decide(
                access_request=request,
                actor=deciders_for(owner_step).first(),
                approve=True,
                reason="Approved for the query-count benchmark.",
            )
    return len(approvals_waiting_for(officer))


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
    waiting = ensure_full_approvals_page(c)
    clients = {}
    for role in ("employee", "owner", "compliance", "admin"):
        clients[role] = Client(HTTP_HOST="localhost")  # in DEBUG's ALLOWED_HOSTS
        clients[role].force_login(c[role])
    result = {"pages": {}, "statements": [], "approvals_waiting": waiting}
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
    print(
        f"\nrequests waiting for the compliance officer: {demo['approvals_waiting']:,} at demo "
        f"size, {scale['approvals_waiting']:,} at scale (a page shows 25)"
    )
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
