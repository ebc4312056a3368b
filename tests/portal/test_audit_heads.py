"""The sealer's heads outside the database: one file per UTC day, read in order, the
single ``heads.log`` of earlier versions first; a check from a checkpoint reads only the
days after it."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from portal.audit_heads import LEGACY_HEADS_LOG, heads_files, recorded_heads
from portal.audit_verify import verify_audit
from portal.services import audit_anchor_write
from tests.portal.audit_tampering import truncate_after, write_events

pytestmark = pytest.mark.django_db
DAY_ONE = datetime(2026, 11, 29, 23, 59, 58, tzinfo=UTC)


def test_heads_go_to_one_file_per_utc_day_and_are_read_in_order(settings):
    with time_machine.travel(DAY_ONE, tick=False) as clock:
        first = write_events(4)
        clock.shift(timedelta(seconds=4))  # past midnight, UTC
        second = write_events(3)

    files = heads_files(settings.AUDIT_ANCHOR_DIR)

    assert [f.name for f in files] == ["heads-2026-11-29.log", "heads-2026-11-30.log"]
    assert list(recorded_heads()) == [
        (first[-1].position, first[-1].hash),
        (second[-1].position, second[-1].hash),
    ]
    assert verify_audit().ok


def test_a_tail_cut_back_into_yesterday_is_named_by_todays_heads(settings):
    with time_machine.travel(DAY_ONE, tick=False) as clock:
        first = write_events(4)
        clock.shift(timedelta(days=1))
        write_events(3)
    truncate_after(first[1])

    result = verify_audit()

    assert not result.ok
    assert f"Events after #{first[1].pk} were removed" in result.reason
    assert "outside the database" in result.reason


def test_the_heads_log_of_earlier_versions_is_read_first(settings):
    events = write_events(5)
    (settings.AUDIT_ANCHOR_DIR / LEGACY_HEADS_LOG).write_text(
        f"{events[1].position} {'e' * 64} 2026-11-01T00:00:00+00:00\n"
    )

    result = verify_audit()

    assert heads_files(settings.AUDIT_ANCHOR_DIR)[0].name == LEGACY_HEADS_LOG
    assert (result.ok, result.first_bad) == (False, events[1].pk)
    assert f"head the sealer wrote outside the database for position {events[1].position}" in (
        result.reason
    )


def test_a_check_from_the_checkpoint_reads_no_day_that_ends_before_it(settings):
    with time_machine.travel(DAY_ONE, tick=False) as clock:
        write_events(4)
        clock.shift(timedelta(days=1))
        write_events(2)
        audit_anchor_write(actor=None)
        write_events(2)
    # Yesterday's file damaged: only a walk that reads it can notice.
    yesterday = heads_files(settings.AUDIT_ANCHOR_DIR)[0]
    yesterday.write_text("not a head\n" + yesterday.read_text())

    assert verify_audit(from_checkpoint=True).ok
    whole = verify_audit()
    assert not whole.ok and f"Line 1 of {yesterday} cannot be read" in whole.reason
