"""Benchmark of the audit log: writers, the sealer, its lag, and verification, in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal .venv/bin/python benchmarks/audit.py

Runs against a throw-away database created next to ``DATABASE_URL``'s (``<name>_auditbench``,
migrated, dropped at the end): audit events are append-only, so they could never be
removed from a real one. PostgreSQL only (the writers are separate processes). Prints, side
by side: a plain INSERT of the same rows from 8 processes, ``audit_record`` from 1 and from
8 processes, the sealer's rate, the sealer's lag while writers append 3,000 events/s, and
``verify_audit`` of everything with its peak memory. Goals: 8 writers >= 3,000 events/s and
>= 1/3 of plain INSERT; sealer >= 10,000 events/s; lag < 2 s; verify 1,000,000 in < 20 s.
"""

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DEBUG", "1")  # no SECRET_KEY needed for a benchmark

DETAIL = {"rows": 1204, "purpose": "marketing.communications.email", "export": "E-12"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="per writer phase")
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--verify-events", type=int, default=0, help="bulk-load to this many first")
    options = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    name = settings.DATABASES["default"]["NAME"]
    connection.settings_dict["TEST"]["NAME"] = f"{Path(name).stem}_auditbench"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        with tempfile.TemporaryDirectory() as anchors:
            settings.AUDIT_ANCHOR_DIR = Path(anchors)
            run(options)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def _writer(kind: str, count: int, number: int, rate: float, ready, go) -> None:
    """One writer process: ``count`` events, each its own transaction, at most ``rate``/s."""
    from django.db import connection

    from portal.audit import audit_channel, audit_record

    connection.close()  # a connection of its own, not the parent's
    ready.wait()
    go.wait()
    started = time.perf_counter()
    with audit_channel("command"), connection.cursor() as cursor:
        for n in range(count):
            if kind == "insert":
                cursor.execute(
                    "INSERT INTO portal_auditevent (created_at, actor_label, action, target_type,"
                    " target_id, target_label, detail, channel, request_id, token_id,"
                    " previous_hash, key_id) VALUES (now(), 'system', 'records.view', '', '',"
                    " '', %s::jsonb, 'command', '', '', '', '')",
                    [json.dumps({**DETAIL, "n": n, "w": number})],
                )
            else:
                audit_record(actor=None, action="records.view", detail={**DETAIL, "n": n})
            if rate and n % 50 == 0:
                ahead = n / rate - (time.perf_counter() - started)
                if ahead > 0:
                    time.sleep(ahead)


def write(kind: str, total: int, writers: int, rate: float = 0.0) -> float:
    """Seconds for ``writers`` processes to write ``total`` events between them."""
    from django.db import connections

    connections.close_all()
    context = multiprocessing.get_context("fork")
    ready, go = context.Barrier(writers + 1), context.Barrier(writers + 1)
    per = total // writers
    processes = [
        context.Process(target=_writer, args=(kind, per, n, rate / writers, ready, go))
        for n in range(writers)
    ]
    for process in processes:
        process.start()
    ready.wait()
    started = time.perf_counter()
    go.wait()
    for process in processes:
        process.join()
    return time.perf_counter() - started


def run(options) -> None:
    from portal.audit_seal import seal_lag_seconds, seal_pending
    from portal.audit_verify import verify_audit

    n, writers = options.events, options.writers
    report = []

    seconds = write("insert", n, writers)
    report.append(("plain INSERT", writers, n, seconds))
    seal_pending()  # these rows join the log too, so the verification below covers them
    seconds = write("audit_record", n // 4, 1)
    report.append(("audit_record", 1, n // 4, seconds))
    seconds = write("audit_record", n, writers)
    report.append(("audit_record", writers, n, seconds))
    for label, count, events, seconds in report:
        print(f"{label:>14} x{count}: {events:>9,} events in {seconds:6.1f} s = "
              f"{events / seconds:>8,.0f} events/s")  # fmt: skip

    started = time.perf_counter()
    sealed = seal_pending().sealed
    seconds = time.perf_counter() - started
    print(f"{'sealer':>17}: {sealed:>9,} events in {seconds:6.1f} s = {sealed / seconds:>8,.0f} "
          "events/s")  # fmt: skip

    lags, stop = [], threading.Event()

    def sealer() -> None:
        while not stop.is_set():
            lags.append(seal_lag_seconds())
            seal_pending()
            time.sleep(1.0)  # as beat runs it

    thread = threading.Thread(target=sealer)
    thread.start()
    seconds = write("audit_record", 30_000, writers, rate=3000.0)
    stop.set()
    thread.join()
    print(f"{'lag at 3,000/s':>17}: max {max(lags):.2f} s over {seconds:.0f} s "
          f"({30_000 / seconds:,.0f} events/s written)")  # fmt: skip

    if options.verify_events:
        _bulk_load(options.verify_events)
    tracemalloc.start()
    started = time.perf_counter()
    result = verify_audit()
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    assert result.ok, result
    print(f"{'verify_audit':>17}: {result.checked:>9,} events in {seconds:6.1f} s = "
          f"{result.checked / seconds:>8,.0f} events/s, peak {peak / 2**20:.1f} MiB")  # fmt: skip


def _bulk_load(total: int) -> None:
    """Unsealed events written with one INSERT ... SELECT, then sealed: a long log fast."""
    from django.db import connection

    from portal.audit_seal import seal_pending
    from portal.models import AuditEvent

    missing = total - AuditEvent.objects.count()
    if missing <= 0:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO portal_auditevent (created_at, actor_label, action, target_type,"
            " target_id, target_label, detail, channel, request_id, token_id, previous_hash,"
            " key_id) SELECT now(), 'system', 'records.view', '', '', '',"
            " jsonb_build_object('n', g), 'command', '', '', '', '' FROM generate_series(1, %s) g",
            [missing],
        )
    seal_pending(batch_size=20_000)


if __name__ == "__main__":
    main()
