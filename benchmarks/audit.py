"""Benchmark of the audit log: writers, the sealer, its lag, and verification, in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal nice .venv/bin/python benchmarks/audit.py

Runs against a throw-away database created next to ``DATABASE_URL``'s (``<name>_auditbench``,
migrated, dropped at the end): audit events are append-only, so they could never be
removed from a real one. PostgreSQL only (the writers are separate processes). Prints, side
by side, each with its goal's verdict:

- a plain INSERT of the same rows from 1 and from 8 processes, then ``audit_record`` from 1
  and from 8 processes. Every writer commits each event on its own, as a request commits
  the change it records with its event: the baseline pays the same commit, so the ratio
  compares only what ``audit_record`` adds to an INSERT;
- the sealer's rate over everything written so far, then its lag (the oldest unsealed
  event's age, read before each run) while 8 writers append 3,000 events/s and the sealer
  runs every second, as beat runs it;
- ``verify_audit`` of a log bulk-loaded (COPY, links computed as the sealer computes them)
  to ``--verify-events`` events, with the growth of the process's peak memory (RSS) over a
  walk of a tenth of them and of all of them: flat means the same growth for both.

Goals: 8 writers >= 3,000 events/s and >= 1/3 of plain INSERT; sealer >= 10,000 events/s;
lag < 2 s at 3,000 events/s; 1,000,000 events verified in < 20 s with memory flat. Queries
are not logged (``DEBUG`` is off while measuring, as in production). A few minutes on a
quiet 2-core machine; the load average is printed at the start and the end, since every
figure is only as good as the machine was quiet.
"""

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DEBUG", "1")  # no SECRET_KEY needed for a benchmark

DETAIL = {"rows": 1204, "purpose": "marketing.communications.email", "export": "E-12"}
PLAIN_INSERT = (
    "INSERT INTO portal_auditevent (created_at, actor_label, action, target_type, target_id,"
    " target_label, detail, channel, request_id, token_id, previous_hash, key_id) VALUES"
    " (now(), 'system', 'records.view', '', '', '', %s::jsonb, 'command', '', '', '', '')"
)
STEADY_RATE, STEADY_EVENTS = 3000.0, 30_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=16_000, help="per 8-writer phase")
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument(
        "--verify-events", type=int, default=1_000_000, help="log length to verify (bulk-loaded)"
    )
    options = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    name = settings.DATABASES["default"]["NAME"]
    connection.settings_dict["TEST"]["NAME"] = f"{Path(name).stem}_auditbench"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    settings.DEBUG = False  # Django logs every query in DEBUG: production does not
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
            # Autocommit: each statement is one transaction, committed before the next.
            if kind == "insert":
                cursor.execute(PLAIN_INSERT, [json.dumps({**DETAIL, "n": n, "w": number})])
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


def verdict(holds: bool) -> str:
    return "goal met" if holds else "goal NOT met"


def run(options) -> None:
    print(f"load average at the start: {os.getloadavg()[0]:.2f} (1 min)")
    writers_phase(options.events, options.writers)
    sealer_phase()
    lag_phase(options.writers)
    verify_phase(options.verify_events)
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (1 min)")


def writers_phase(n: int, writers: int) -> None:
    from portal.audit_seal import seal_pending

    rates = {}
    for label, kind, count, events in (
        ("plain INSERT", "insert", 1, n // 8),
        ("plain INSERT", "insert", writers, n),
        ("audit_record", "audit_record", 1, n // 8),
        ("audit_record", "audit_record", writers, n),
    ):
        seconds = write(kind, events, count)
        rates[(kind, count)] = rate = events / seconds
        print(f"{label:>14} x{count}: {events:>9,} events in {seconds:6.1f} s = {rate:>8,.0f} "
              "events/s")  # fmt: skip
        if kind == "insert" and count == writers:
            seal_pending()  # the plain rows join the log too; the sealer is timed on the rest
    recorded, plain = rates[("audit_record", writers)], rates[("insert", writers)]
    share = recorded / plain
    print(f"{'':>18}x{writers} audit_record >= 3,000 events/s: {verdict(recorded >= 3000)}; "
          f"{share:.0%} of plain INSERT, >= 1/3: {verdict(share >= 1 / 3)}")  # fmt: skip


def sealer_phase() -> None:
    from portal.audit_seal import seal_pending

    started = time.perf_counter()
    sealed = seal_pending().sealed
    seconds = time.perf_counter() - started
    rate = sealed / seconds
    print(f"{'sealer':>17}: {sealed:>9,} events in {seconds:6.1f} s = {rate:>8,.0f} events/s"
          f"; >= 10,000/s: {verdict(rate >= 10_000)}")  # fmt: skip


def lag_phase(writers: int) -> None:
    from portal.audit_seal import seal_lag_seconds, seal_pending

    lags, stop = [], threading.Event()

    def sealer() -> None:
        from django.db import connections

        try:
            while not stop.is_set():
                lags.append(seal_lag_seconds())
                seal_pending()
                time.sleep(1.0)  # as beat runs it
        finally:
            connections.close_all()  # this thread's own, or the database cannot be dropped

    thread = threading.Thread(target=sealer)
    thread.start()
    seconds = write("audit_record", STEADY_EVENTS, writers, rate=STEADY_RATE)
    stop.set()
    thread.join()
    written = STEADY_EVENTS / seconds
    if written >= STEADY_RATE * 0.95:
        outcome = f"< 2 s: {verdict(max(lags) < 2)}"
    else:
        outcome = "goal not shown: the writers did not reach 3,000 events/s"
    print(f"{'lag at 3,000/s':>17}: max {max(lags):.2f} s over {seconds:.0f} s "
          f"({written:,.0f} events/s written); {outcome}")  # fmt: skip


def verify_phase(total: int) -> None:
    from portal.audit_verify import verify_audit

    loaded, seconds = _bulk_load(total)
    print(f"{'bulk load (COPY)':>17}: {loaded:>9,} events in {seconds:6.1f} s")
    tenth, growth_tenth = _peak_growth(lambda: verify_audit(to_position=max(1, total // 10)))
    started = time.perf_counter()
    result, growth = _peak_growth(verify_audit)
    seconds = time.perf_counter() - started
    assert tenth.ok and result.ok, (tenth, result)
    rate = result.checked / seconds
    fast = result.checked >= 1_000_000 and seconds < 20 * result.checked / 1_000_000
    flat = growth < growth_tenth + 16
    print(f"{'verify_audit':>17}: {result.checked:>9,} events in {seconds:6.1f} s = {rate:>8,.0f}"
          f" events/s; 1,000,000 in < 20 s: {verdict(fast)}")  # fmt: skip
    print(f"{'memory':>17}: peak RSS +{growth_tenth:.1f} MiB over {tenth.checked:,} events, "
          f"+{growth:.1f} MiB over {result.checked:,}; flat: {verdict(flat)}")  # fmt: skip


def _peak_growth(work):
    """``work()``'s result and how far the process's peak RSS rose above its RSS before, MiB
    (Linux: writing 5 to /proc/self/clear_refs resets the peak)."""
    Path("/proc/self/clear_refs").write_text("5")
    before = _status_kib("VmRSS")
    result = work()
    return result, (_status_kib("VmHWM") - before) / 1024


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} missing from /proc/self/status")


def _bulk_load(total: int) -> tuple[int, float]:
    """Sealed events appended with COPY up to ``total``, each linked as the sealer links
    it (``RowLinker``), the head row and a heads line moved onto the last: a long log in
    a fraction of the time the sealer's UPDATEs would take. Returns (events, seconds)."""
    from django.conf import settings
    from django.db import connection, transaction

    from portal.audit_heads import append_head
    from portal.audit_seal import (
        HASH,
        ID,
        KEY_ID,
        POSITION,
        PREVIOUS_HASH,
        RowLinker,
        audit_keys,
        seal_pending,
    )
    from portal.models import AuditChainHead, AuditEvent

    seal_pending()  # what the last phase left, so the log is one sealed run
    started = time.perf_counter()
    missing = total - AuditEvent.objects.count()
    if missing <= 0:
        return 0, 0.0
    key_id, keys = audit_keys()
    linker = RowLinker(keys)
    head = AuditChainHead.objects.get(pk=1)
    first_id = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() + 1
    columns = (
        "id, position, key_id, hash, created_at, actor_id, actor_label, action, target_type,"
        " target_id, target_label, asset_id, detail, channel, request_id, ip, token_id,"
        " previous_hash"
    )
    row = [0, 0, key_id, "", "2026-11-30T06:00:00.000000Z", None, "system", "records.view",
           "", "", "", None, None, "command", "", None, "", ""]  # fmt: skip
    link, position = head.last_hash, head.last_position
    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY portal_auditevent ({columns}) FROM STDIN") as copy:
            for n in range(missing):
                position += 1
                row[ID], row[POSITION], row[PREVIOUS_HASH] = first_id + n, position, link
                row[12] = {**DETAIL, "n": n}
                row[HASH] = link = linker.link(row)
                copy.write_row([*row[:12], json.dumps(row[12]), *row[13:]])
        cursor.execute("SELECT setval(pg_get_serial_sequence('portal_auditevent', 'id'), %s)",
                       [first_id + missing])  # fmt: skip
        AuditChainHead.objects.filter(pk=1).update(
            last_event_id=first_id + missing - 1, last_position=position, last_hash=link
        )
        cursor.execute("ANALYZE portal_auditevent")
    assert row[KEY_ID] == key_id
    append_head(Path(settings.AUDIT_ANCHOR_DIR), position, link)
    return missing, time.perf_counter() - started


if __name__ == "__main__":
    main()
