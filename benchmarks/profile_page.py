"""Where one page spends its time: cProfile over repeated requests, by layer and by function.

    .venv/bin/python benchmarks/profile_page.py /approvals/ --user scale-compliance-01
    .venv/bin/python benchmarks/profile_page.py /grants/123/records/ --user scale-user-0001

Runs against the ``seed_scale`` database (``SCALE_DATABASE_URL``, default
``postgres://postgres@127.0.0.1:5432/portal_scale_data``) through Django's test client, as
``--user`` (signed in without a password), with the settings the load benchmark gives its
server (``server_env``: ``DEBUG`` off, so no query is logged; a throw-away ``SECRET_KEY``;
plain HTTP; ``OTP_REQUIRED=0``; the cache on ``LOAD_CACHE_URL``). Fetches the
page once to warm up, then ``--repeat`` times under cProfile, and prints:

- the wall time per request and the status code (anything but 200 stops it);
- the share of the profiled time by layer: the database driver (psycopg), Django's ORM,
  templates, the rest of Django, the portal's own code, and everything else; a function is
  counted in the layer of its own file (``tottime``), so the shares add up to 100 %;
- the ``--top`` functions by their own time.

It is the profile the load benchmark's worst three are named with (docs/performance.md).
A profile costs about twice the plain time; compare shares, not absolute times, with the
load benchmark.
"""

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import DEFAULT_CACHE_URL, DEFAULT_URL, collect_static, server_env  # noqa: E402

# (layer, path fragment): the first fragment found in a function's file names its layer.
LAYERS = [
    ("database driver", "/psycopg"),
    ("ORM", "/django/db/"),
    ("templates", "/django/template"),
    ("Django, other", "/django/"),
    ("portal", str(ROOT) + "/"),
]


def layer_of(filename: str) -> str:
    """The layer a function's source file belongs to (``LAYERS``), or ``other``."""
    for layer, fragment in LAYERS:
        if layer == "portal":
            if filename.startswith(fragment) and "/.venv/" not in filename:
                return layer
        elif fragment in filename:
            return layer
    return "other"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--user", required=True, help="username to sign in as")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--callers", metavar="REGEX", help="also print who calls the functions matching REGEX"
    )
    options = parser.parse_args()

    # The load benchmark's server settings (DEBUG off, so no query is logged; a throw-away
    # key; plain HTTP; no second factor; its cache), for the test client's host.
    database_url = os.environ.get("SCALE_DATABASE_URL", DEFAULT_URL)
    cache_url = os.environ.get("LOAD_CACHE_URL", DEFAULT_CACHE_URL)
    os.environ.update(server_env(database_url, cache_url), ALLOWED_HOSTS="testserver")
    collect_static(dict(os.environ))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.test import Client

    from portal.models import User

    client = Client()
    client.force_login(User.objects.get(username=options.user))
    first = client.get(options.url)
    if first.status_code != 200:
        raise SystemExit(f"{options.url} answered {first.status_code}")

    started = time.perf_counter()
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(options.repeat):
        client.get(options.url)
    profile.disable()
    elapsed = time.perf_counter() - started
    print(f"{options.url} as {options.user}: {elapsed / options.repeat * 1000:.1f} ms per request")
    print(f"under cProfile, {options.repeat} requests")

    stats = pstats.Stats(profile)
    by_layer: dict[str, float] = {}
    total = 0.0
    for (filename, _, _), (_, _, own, _, _) in stats.stats.items():
        by_layer[layer_of(filename)] = by_layer.get(layer_of(filename), 0.0) + own
        total += own
    print("\nshare of the time by layer (own time of each function):")
    for layer, seconds in sorted(by_layer.items(), key=lambda item: -item[1]):
        print(f"  {layer:<16} {seconds / total * 100:5.1f} %")
    print(f"\ntop {options.top} functions by own time:")
    stats.sort_stats("tottime").print_stats(options.top)
    if options.callers:
        stats.print_callers(options.callers)


if __name__ == "__main__":
    main()
