"""The audit trail cannot be quietly rewritten: append-only, verified, anchored."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from portal.audit_seal import seal_pending
from portal.audit_verify import verify_audit
from portal.models import AuditChainHead, AuditEvent, AuditTrailIsAppendOnly
from portal.services import audit_anchor_write
from portal.tasks import audit_anchor_daily
from tests.portal.audit_tampering import (
    TABLE,
    append_forged,
    as_json,
    insert_forged,
    raw_sql,
    skip_an_id,
    swap,
    tamper,
    truncate_after,
    write_events,
)

ROOT = Path(__file__).resolve().parents[2]

# --- Intact chain ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_intact_chain_verifies_with_its_count(capsys):
    write_events(12)

    result = verify_audit()
    call_command("verify_audit")

    assert (result.ok, result.checked, result.first_bad) == (True, 12, None)
    assert "Audit trail intact: 12 events" in capsys.readouterr().out


@pytest.mark.django_db
def test_an_empty_chain_verifies():
    assert verify_audit().ok


# --- Append-only ----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "attempt",
    [
        lambda event: event.save(),
        lambda event: event.delete(),
        lambda event: AuditEvent.objects.filter(pk=event.pk).update(action="x.y"),
        lambda event: AuditEvent.objects.filter(pk=event.pk).delete(),
        lambda event: AuditEvent.objects.bulk_update([event], ["action"]),
        lambda event: AuditEvent.objects.update_or_create(pk=event.pk, defaults={"action": "x"}),
    ],
    ids=["save", "delete", "queryset-update", "queryset-delete", "bulk-update", "update-or-create"],
)
def test_the_orm_refuses_to_change_or_delete_an_event_on_every_database(attempt):
    event = write_events(1)[0]
    event.action = "something.else"

    with pytest.raises(AuditTrailIsAppendOnly), transaction.atomic():
        attempt(event)

    assert AuditEvent.objects.get(pk=event.pk).action == "records.view"


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        f"UPDATE {TABLE} SET detail = '{{}}'::jsonb WHERE id = %s",
        f"DELETE FROM {TABLE} WHERE id = %s",
    ],
    ids=["update", "delete"],
)
def test_postgresql_refuses_raw_sql_update_and_delete(sql):
    event = write_events(1)[0]

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw_sql(sql, [event.pk])

    assert AuditEvent.objects.get(pk=event.pk).detail == {"n": 0, "rows": 10}


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgresql_refuses_an_orm_update_that_skips_the_model():
    event = write_events(1)[0]
    # Django's own UPDATE, bypassing our queryset: the trigger still says no.
    from django.db.models import QuerySet

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        QuerySet(model=AuditEvent).filter(pk=event.pk).update(action="x.y")


# --- Tampering, each naming the first bad event ---------------------------------------------


EDITS = {
    # The stored hash and the links stay as they were: only comparing each event's content
    # with its own hash can notice these.
    "detail": lambda: (f"detail = {as_json()}", '{"n": 4, "rows": 1}'),
    "action": lambda: ("action = %s", "records.export"),
    "actor_label": lambda: ("actor_label = %s", "someone.else"),
    "target_label": lambda: ("target_label = %s", "Another list"),
}


def edit_event(event: AuditEvent, field: str) -> None:
    assignment, value = EDITS[field]()
    tamper(f"UPDATE {TABLE} SET {assignment} WHERE id = %s", [value, event.pk])


@pytest.mark.django_db
@pytest.mark.parametrize("field", sorted(EDITS))
def test_content_edited_with_raw_sql_is_named_by_verify_on_every_database(field):
    events = write_events(10)
    edit_event(events[4], field)

    result = verify_audit()

    assert (result.ok, result.first_bad) == (False, events[4].pk)
    assert result.reason == (
        f"Event #{events[4].pk} was altered, inserted or forged: its content does not match "
        "its keyed link."
    )


@pytest.mark.django_db
def test_verify_audit_command_exits_non_zero_naming_an_event_whose_detail_was_edited():
    events = write_events(10)
    edit_event(events[4], "detail")

    with pytest.raises(CommandError, match=f"BROKEN at event #{events[4].pk} ") as failure:
        call_command("verify_audit")

    assert failure.value.returncode == 1  # what manage.py exits with
    assert "was altered" in str(failure.value)


@pytest.mark.django_db
def test_verify_api_names_an_event_whose_detail_was_edited(client, compliance_officer):
    events = write_events(10)
    edit_event(events[4], "detail")
    client.force_login(compliance_officer)

    response = client.get("/api/audit/verify/")

    assert response.status_code == 200
    body = response.json()
    assert (body["ok"], body["first_bad"]) == (False, events[4].pk)
    assert "was altered" in body["reason"]


@pytest.mark.django_db
def test_a_deleted_event_is_named_by_the_event_after_it():
    events = write_events(10)
    tamper(f"DELETE FROM {TABLE} WHERE id = %s", [events[6].pk])

    result = verify_audit()

    assert (result.ok, result.first_bad) == (False, events[7].pk)
    assert f"removed after #{events[5].pk}" in result.reason


@pytest.mark.django_db
def test_an_event_inserted_in_the_middle_is_named():
    events = write_events(4)
    skip_an_id()  # room in the middle for the forger
    events += write_events(4)
    gap = events[3].pk + 1
    assert events[4].pk == gap + 1
    # The forger moves the later events one place on and chains the fake to its predecessor.
    insert_forged(events[3], gap)

    result = verify_audit()

    assert (result.ok, result.first_bad) == (False, gap)
    assert "inserted" in result.reason


@pytest.mark.django_db
def test_a_forged_event_appended_with_a_recomputed_plain_hash_and_the_head_moved_is_named():
    events = write_events(5)
    last = events[-1]
    append_forged(last)

    result = verify_audit()

    assert (result.ok, result.first_bad) == (False, last.pk + 100)
    assert "forged" in result.reason


@pytest.mark.django_db
def test_two_events_swapped_in_the_log_are_named():
    events = write_events(6)
    first, second = events[2], events[3]
    swap(first, second)

    result = verify_audit()

    assert (result.ok, result.first_bad) == (False, second.pk)
    assert f"does not chain to #{events[1].pk}" in result.reason


@pytest.mark.django_db
def test_the_tail_cut_with_the_head_row_rewritten_is_caught_by_the_heads_written_outside():
    events = write_events(10)
    survivor = events[6]
    truncate_after(survivor)

    result = verify_audit()

    assert not result.ok
    assert f"Events after #{survivor.pk} were removed" in result.reason
    assert "outside the database" in result.reason


@pytest.mark.django_db
def test_an_untouched_log_written_in_many_batches_verifies(settings):
    for _ in range(3):
        write_events(7)
    seal_pending(batch_size=2)

    result = verify_audit(chunk_size=3)

    assert (result.ok, result.checked, result.unsealed) == (True, 21, 0)


@pytest.mark.django_db
def test_without_the_key_nothing_verifies_and_a_rotated_key_still_checks_old_events(settings):
    write_events(3)
    settings.AUDIT_KEYS = "new:a-new-secret,test:tests-only-audit-key"
    write_events(2)
    assert verify_audit().ok
    assert AuditEvent.objects.order_by("id").last().key_id == "new"

    settings.AUDIT_KEYS = "new:a-new-secret"
    result = verify_audit()

    assert not result.ok and "key 'test'" in result.reason


@pytest.mark.django_db
def test_the_newest_ten_deleted_and_the_head_rewritten_are_caught_by_the_anchor():
    events = write_events(30)
    anchored = audit_anchor_write(actor=None).anchor  # writes one more event, audit.anchor
    assert anchored.event_id == events[-1].pk
    newest = list(AuditEvent.objects.order_by("-id")[:10])
    survivor = AuditEvent.objects.order_by("-id")[10]
    tamper(f"DELETE FROM {TABLE} WHERE id >= %s", [newest[-1].pk])
    AuditChainHead.objects.filter(pk=1).update(last_event_id=survivor.pk, last_hash=survivor.hash)

    result = verify_audit()

    assert (result.ok, result.first_bad) == (False, anchored.event_id)
    assert f"Events after #{survivor.pk} were removed" in result.reason
    assert anchored.file in result.reason


@pytest.mark.django_db
def test_the_newest_events_deleted_without_rewriting_the_head_are_caught_by_the_head():
    events = write_events(10)
    tamper(f"DELETE FROM {TABLE} WHERE id > %s", [events[6].pk])

    result = verify_audit()

    assert (result.ok, result.first_bad) == (False, events[-1].pk)
    assert f"Events after #{events[6].pk} were removed" in result.reason


@pytest.mark.django_db
def test_an_anchor_that_no_longer_matches_its_event_fails_verification(settings):
    write_events(3)
    anchor = audit_anchor_write(actor=None).anchor
    path = Path(settings.AUDIT_ANCHOR_DIR) / anchor.file
    path.write_text(path.read_text().replace(anchor.hash, "f" * 64))

    result = verify_audit()

    assert (result.ok, result.first_bad) == (False, anchor.event_id)


@pytest.mark.django_db
def test_an_unreadable_anchor_file_fails_verification(settings):
    write_events(2)
    Path(settings.AUDIT_ANCHOR_DIR).mkdir(parents=True, exist_ok=True)
    (Path(settings.AUDIT_ANCHOR_DIR) / "anchor-broken.json").write_text("{not json")

    result = verify_audit()

    assert not result.ok
    assert "cannot be read" in result.reason


# --- Anchors --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_anchor_command_writes_the_head_to_a_file_and_mails_compliance(
    settings,
    capsys,
    django_capture_on_commit_callbacks,
    compliance_officer,
    second_compliance_officer,
    legal_counsel,
):
    events = write_events(5)
    head = AuditEvent.objects.order_by("-id").first()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("audit_anchor")

    files = list(Path(settings.AUDIT_ANCHOR_DIR).glob("anchor-*.json"))
    assert len(files) == 1
    assert f'"event_id": {head.pk}' in files[0].read_text()
    assert head.hash in files[0].read_text()
    assert f"Anchored event #{head.pk}" in capsys.readouterr().out
    assert sorted(m.to[0] for m in mail.outbox) == ["comp2@example.com", "comp@example.com"]
    assert head.hash in mail.outbox[0].body
    anchor_event = AuditEvent.objects.get(action="audit.anchor")
    assert anchor_event.detail["event_id"] == head.pk
    assert anchor_event.channel == "command"
    assert head.pk == events[-1].pk
    assert verify_audit().anchors == 1


@pytest.mark.django_db
def test_the_daily_job_refuses_to_anchor_a_broken_chain_and_tells_compliance(
    settings, django_capture_on_commit_callbacks, compliance_officer
):
    events = write_events(5)
    tamper(f"UPDATE {TABLE} SET action = 'x.y' WHERE id = %s", [events[2].pk])

    with django_capture_on_commit_callbacks(execute=True):
        outcome = audit_anchor_daily()

    assert outcome["ok"] is False and outcome["first_bad"] == events[2].pk
    assert not list(Path(settings.AUDIT_ANCHOR_DIR).glob("anchor-*.json"))
    assert f"FAILED at event #{events[2].pk}" in mail.outbox[0].subject
    assert AuditEvent.objects.filter(action="audit.verify_failed", channel="task").exists()


def test_the_daily_anchor_job_is_scheduled(settings):
    job = settings.CELERY_BEAT_SCHEDULE["audit-anchor-daily"]
    assert job["task"] == "portal.tasks.audit_anchor_daily"
    assert job["schedule"] == 24 * 60 * 60


# --- Concurrency: real processes on PostgreSQL ----------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys
    import django
    django.setup()
    from portal.audit import audit_record
    from portal.models import AuditChainHead
    AuditChainHead.objects.exists()  # connected
    print("ready", flush=True)
    sys.stdin.readline()  # every writer starts at the same moment
    from portal.audit_seal import seal_pending
    for n in range(int(sys.argv[2])):
        audit_record(actor=None, action="records.view", detail={"writer": sys.argv[1], "n": n})
        if n % 50 == 49:
            seal_pending()  # sealers racing each other: one at a time gets the lock
    """
)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_four_processes_writing_1000_events_at_once_leave_one_unforked_log():
    settings_dict = connection.settings_dict
    url = (
        f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}"
        f"/{settings_dict['NAME']}"  # the test database, committed to by this test
    )
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(number), "250"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for number in range(4)
    ]
    for writer in writers:
        assert writer.stdout.readline().strip() == "ready", writer.communicate(timeout=60)
    for writer in writers:
        writer.stdin.write("go\n")
        writer.stdin.flush()
    for writer in writers:
        _, errors = writer.communicate(timeout=300)
        assert writer.returncode == 0, errors
    seal_pending()

    result = verify_audit()

    assert (result.ok, result.checked) == (True, 1000)
    events = AuditEvent.objects.order_by("id")
    # One chain: no two events name the same predecessor.
    assert events.values("previous_hash").distinct().count() == 1000
    # And the writers really ran at once: their events interleave in the chain.
    writers_in_order = [event.detail["writer"] for event in events]
    assert set(writers_in_order) == {"0", "1", "2", "3"}
    switches = sum(a != b for a, b in zip(writers_in_order, writers_in_order[1:], strict=False))
    assert switches > 3
    head = AuditChainHead.objects.get(pk=1)
    assert head.last_event_id == events.order_by("-id").first().pk


@pytest.mark.django_db
def test_an_empty_chain_has_nothing_to_anchor(settings, capsys):
    call_command("audit_anchor")

    assert "nothing to anchor" in capsys.readouterr().out
    assert not Path(settings.AUDIT_ANCHOR_DIR).exists()
