"""Benchmark of the audit trail: write N events through ``audit_record``, then verify them.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal .venv/bin/python benchmarks/audit.py

Runs against a throw-away database created next to ``DATABASE_URL``'s (``<name>_auditbench``,
migrated, dropped at the end): audit events are append-only, so they could never be
removed from a real one. Prints events per second for writing and for ``verify_audit``.
Goal: verification of 100,000 events in under 2 seconds on PostgreSQL.
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DEBUG", "1")  # no SECRET_KEY needed for a benchmark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument(
        "--per-transaction",
        type=int,
        default=1,
        help="events written per transaction (1: each its own, as in the portal)",
    )
    options = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection, transaction

    name = settings.DATABASES["default"]["NAME"]
    test_settings = connection.settings_dict["TEST"]
    test_settings["NAME"] = f"{Path(name).stem}_auditbench"
    if connection.vendor == "sqlite":
        test_settings["NAME"] = str(ROOT / "var" / "auditbench.sqlite3")
        (ROOT / "var").mkdir(exist_ok=True)
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        run(options, transaction)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def run(options, transaction) -> None:
    import tempfile

    from portal.audit import audit_channel, audit_record
    from portal.selectors import verify_audit

    total, batch = options.events, max(1, options.per_transaction)
    detail = {"rows": 1204, "purpose": "marketing.communications.email", "export": "E-12"}
    started = time.perf_counter()
    with audit_channel("command"):
        for first in range(0, total, batch):
            with transaction.atomic():
                for number in range(first, min(first + batch, total)):
                    audit_record(actor=None, action="records.view", detail={**detail, "n": number})
    write_seconds = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as anchors:
        started = time.perf_counter()
        result = verify_audit(anchor_dir=Path(anchors))
        verify_seconds = time.perf_counter() - started
    assert result.ok and result.checked == total, result

    print(f"database: {transaction.get_connection().vendor}")
    print(
        f"write:  {total:,} events in {write_seconds:.1f} s = {total / write_seconds:,.0f} "
        f"events/s ({batch} per transaction)"
    )
    print(
        f"verify: {total:,} events in {verify_seconds:.2f} s = "
        f"{total / verify_seconds:,.0f} events/s"
    )


if __name__ == "__main__":
    main()
