"""Writers append without waiting for one another; the sealer alone orders and links."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.core.checks import run_checks
from django.db import DatabaseError, connection, connections, transaction
from django.utils import timezone

from portal.audit import audit_record
from portal.audit_heads import heads_files
from portal.audit_seal import seal_lag_seconds, seal_pending
from portal.audit_verify import verify_audit
from portal.models import AuditEvent
from tests.portal.audit_tampering import TABLE, raw_sql, write_events


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_second_writer_commits_while_the_first_transaction_stays_open():
    first_written, release = threading.Event(), threading.Event()
    failures = []

    def long_transaction():
        try:
            with transaction.atomic():
                audit_record(actor=None, action="records.view", detail={"writer": "long"})
                first_written.set()
                release.wait(timeout=30)
        except Exception as error:  # reported by the main thread
            failures.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=long_transaction)
    thread.start()
    try:
        assert first_written.wait(timeout=30)
        with connection.cursor() as cursor:
            # Waiting on a lock would fail this statement instead of hanging the test.
            cursor.execute("SET lock_timeout = '2s'")
        with transaction.atomic():
            quick = audit_record(actor=None, action="records.view", detail={"writer": "quick"})
        # Committed while the first is still open; the sealer takes what is committed.
        assert seal_pending().sealed == 1
        assert AuditEvent.objects.get(pk=quick.pk).position == 1
    finally:
        release.set()
        thread.join(timeout=30)
    assert not failures

    assert seal_pending().sealed == 1  # the long one, once committed, comes next
    long = AuditEvent.objects.get(detail__writer="long")
    assert long.pk < quick.pk and long.position == 2
    assert verify_audit().ok


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        f"UPDATE {TABLE} SET hash = repeat('a', 64) WHERE id = %s",
        f"UPDATE {TABLE} SET position = position + 100 WHERE id = %s",
        f"UPDATE {TABLE} SET key_id = 'other' WHERE id = %s",
    ],
    ids=["link", "position", "key"],
)
def test_postgresql_refuses_to_change_a_sealed_event(sql):
    event = write_events(1)[0]

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw_sql(sql, [event.pk])

    assert AuditEvent.objects.get(pk=event.pk).hash == event.hash


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgresql_refuses_a_sealing_that_also_changes_the_content():
    event = audit_record(actor=None, action="records.view")

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw_sql(
            f"UPDATE {TABLE} SET position = 1, hash = repeat('a', 64), action = 'grant.revoke' "
            "WHERE id = %s",
            [event.pk],
        )

    assert AuditEvent.objects.get(pk=event.pk).action == "records.view"


@pytest.mark.django_db
def test_the_sealer_catches_up_after_a_pause_in_batches(settings):
    for n in range(25):
        audit_record(actor=None, action="records.view", detail={"n": n})

    result = seal_pending(batch_size=10)

    assert (result.sealed, result.position) == (25, 25)
    files = heads_files(settings.AUDIT_ANCHOR_DIR)
    assert [file.name for file in files] == [f"heads-{timezone.now():%Y-%m-%d}.log"]
    heads = files[0].read_text().splitlines()
    assert [line.split()[0] for line in heads] == ["10", "20", "25"]
    assert heads[-1].split()[1] == AuditEvent.objects.get(position=25).hash
    assert seal_pending().sealed == 0


@pytest.mark.django_db
def test_the_lag_is_how_long_the_oldest_unsealed_event_has_waited():
    with time_machine.travel(timezone.now(), tick=False) as clock:
        audit_record(actor=None, action="records.view")
        clock.shift(timedelta(seconds=3))
        assert seal_lag_seconds() == 3.0
        seal_pending()
        assert seal_lag_seconds() == 0.0


def test_the_sealer_runs_every_second(settings):
    job = settings.CELERY_BEAT_SCHEDULE["audit-seal"]
    assert job["task"] == "portal.tasks.audit_seal"
    assert job["schedule"] <= 1


@pytest.mark.parametrize(
    "keys", ["", "dev:insecure-development-audit-key", "no-secret"], ids=["none", "dev", "bad"]
)
def test_check_deploy_fails_without_a_real_audit_key(settings, keys):
    settings.AUDIT_KEYS = keys

    errors = [message.id for message in run_checks(include_deployment_checks=True)]

    assert "portal.E001" in errors


def test_check_deploy_passes_with_a_real_audit_key(settings):
    settings.AUDIT_KEYS = "2026-11:" + "k" * 40

    errors = [message.id for message in run_checks(include_deployment_checks=True)]

    assert "portal.E001" not in errors


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_lag_is_one_query_that_reads_the_index_of_the_unsealed(django_assert_num_queries):
    # A long sealed log and a few events waiting, the table's statistics current.
    raw_sql(
        f"INSERT INTO {TABLE} (created_at, actor_label, action, target_type, target_id,"
        " target_label, detail, channel, request_id, token_id, previous_hash, key_id, position,"
        " hash) SELECT now(), 'system', 'records.view', '', '', '', '{}', 'command', '', '', '',"
        " 'test', g, md5(g::text) || md5(g::text) FROM generate_series(1, 50000) g"
    )
    for _ in range(3):
        audit_record(actor=None, action="records.view")
    raw_sql(f"ANALYZE {TABLE}")

    with django_assert_num_queries(1) as captured:
        assert seal_lag_seconds() >= 0
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + captured.captured_queries[0]["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())

    # An index of the unsealed events answers it (the partial index, or the position index
    # where the planner prefers it on a small table), never a scan of the whole log.
    assert "Index" in plan and "Seq Scan" not in plan
