"""Verifying a range of the audit log: ``verify_audit --from-position N --to-position M``
and ``GET /api/audit/verify/?from_position=N&to_position=M`` give the same answer.

The range's first link is checked against the link stored before it, and the heads and
checkpoints inside it are checked; what lies outside the range is not this walk's. A
malformed parameter is a 400 (or a command error) naming it; a verification, whatever it
finds, is a 200.
"""

import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from portal.audit_verify import verify_audit
from portal.models import AuditEvent
from portal.services import audit_anchor_write
from tests.portal.audit_tampering import (
    TABLE,
    rewrite_with_the_key,
    swap,
    tamper,
    truncate_after,
    write_events,
)

URL = "/api/audit/verify/"
pytestmark = pytest.mark.django_db


@pytest.fixture
def verify(api_client, compliance_officer, capsys):
    """Verify ``first``..``last`` by the command and by the API; both answers, the
    command's as (ok, its text)."""
    api_client.force_authenticate(compliance_officer)

    def both(first: int | None = None, last: int | None = None) -> tuple[dict, tuple]:
        query = {k: v for k, v in (("from_position", first), ("to_position", last)) if v}
        response = api_client.get(URL, query)
        assert response.status_code == 200, response.content
        arguments = [f"--{name.replace('_', '-')}={value}" for name, value in query.items()]
        try:
            call_command("verify_audit", *arguments)
        except CommandError as failure:
            return response.json(), (False, str(failure))
        return response.json(), (True, capsys.readouterr().out)

    return both


def test_a_range_of_an_intact_log_verifies_only_its_events(verify):
    events = write_events(20)
    first, last = events[4].position, events[9].position

    answer, (ok, text) = verify(first, last)

    assert (answer["ok"], answer["checked"], answer["first_bad"]) == (True, 6, None)
    assert answer["last_position"] == last
    assert ok and "Audit trail intact: 6 events" in text


def test_an_edit_inside_the_range_is_named_and_one_outside_it_is_not(verify):
    events = write_events(20)
    tamper(f"UPDATE {TABLE} SET action = 'grant.create' WHERE id = %s", [events[12].pk])

    inside, (ok_inside, text) = verify(events[10].position, events[15].position)
    outside, (ok_outside, _) = verify(events[14].position, events[19].position)

    assert (inside["ok"], inside["first_bad"]) == (False, events[12].pk)
    assert not ok_inside and f"BROKEN at event #{events[12].pk} " in text
    assert (outside["ok"], outside["checked"]) == (True, 6) and ok_outside


def test_the_ranges_first_link_is_checked_against_the_link_stored_before_it(verify):
    events = write_events(10)
    swap(events[4], events[5])  # the range starts at the later of the two

    answer, (ok, text) = verify(events[5].position, events[8].position)

    # At position 6 now sits event 5, whose link names event 4: not what position 5 holds.
    assert (answer["ok"], answer["checked"], answer["first_bad"]) == (False, 1, events[4].pk)
    assert f"does not chain to #{events[5].pk}" in answer["reason"]
    assert not ok and f"BROKEN at event #{events[4].pk} " in text


def test_a_range_whose_predecessor_is_gone_says_so(verify):
    events = write_events(10)
    tamper(f"DELETE FROM {TABLE} WHERE id = %s", [events[3].pk])

    answer, (ok, _) = verify(events[4].position, events[6].position)

    assert (answer["ok"], answer["first_bad"]) == (False, events[4].pk)
    assert f"follows position {events[3].position}, which is not in the log" in answer["reason"]
    assert not ok


def test_a_cut_tail_inside_the_range_is_named_and_a_range_that_stops_before_it_passes(verify):
    events = write_events(10)
    truncate_after(events[6])

    cut, (ok_cut, _) = verify(events[2].position, events[9].position)
    before, (ok_before, _) = verify(events[2].position, events[6].position)

    assert not cut["ok"] and "outside the database" in cut["reason"] and not ok_cut
    assert before["ok"] and ok_before


def test_a_head_written_outside_the_database_inside_the_range_names_a_rewrite_with_the_key(
    verify,
):
    events = write_events(10)  # one batch: its head, at the last position, is in the heads file
    rewrite_with_the_key(events[3], "grant.create")

    covering, (ok_covering, _) = verify(events[0].position, events[9].position)
    short_of_it, (ok_short, _) = verify(events[0].position, events[8].position)

    assert (covering["ok"], covering["first_bad"]) == (False, events[9].pk)
    assert "differs from the head the sealer wrote outside the database" in covering["reason"]
    assert not ok_covering
    # The links all match: a range that stops before the head cannot tell.
    assert short_of_it["ok"] and ok_short


def test_a_checkpoint_inside_the_range_is_checked_and_one_outside_it_is_not(verify, settings):
    events = write_events(6)
    anchor = audit_anchor_write(actor=None).anchor
    write_events(4)
    path = Path(settings.AUDIT_ANCHOR_DIR) / anchor.file
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "hash": "f" * 64}))

    covering, (ok_covering, _) = verify(events[3].position, anchor.position + 2)
    after, (ok_after, _) = verify(anchor.position + 1, None)

    assert (covering["ok"], covering["first_bad"]) == (False, anchor.event_id)
    assert "differs from the anchor" in covering["reason"] and not ok_covering
    assert after["ok"] and ok_after


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"from_position": "0"}, "from_position"),
        ({"from_position": "abc"}, "from_position"),
        ({"to_position": "-3"}, "to_position"),
        ({"to_position": "1.5"}, "to_position"),
        ({"to_position": str(2**63)}, "to_position"),
        ({"from_position": "5", "to_position": "4"}, "to_position"),
        ({"from_position": "2", "from_checkpoint": "true"}, "from_position"),
        ({"from_checkpoint": "maybe"}, "from_checkpoint"),
    ],
)
def test_a_malformed_parameter_is_a_400_naming_it(api_client, compliance_officer, query, named):
    write_events(3)
    api_client.force_authenticate(compliance_officer)

    response = api_client.get(URL, query)

    assert response.status_code == 400
    assert list(response.json()) == [named]


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (["--from-position=0"], "--from-position"),
        (["--from-position=5", "--to-position=4"], "--to-position"),
        (["--from-position=2", "--from-checkpoint"], "--from-position"),
    ],
)
def test_the_command_refuses_a_malformed_range_naming_the_option(arguments, named):
    with pytest.raises(CommandError, match=f"^{named}: "):
        call_command("verify_audit", *arguments)


def test_a_range_beyond_the_logs_end_checks_the_end_as_a_whole_walk_does(verify):
    events = write_events(5)
    last = AuditEvent.objects.order_by("-position").first().position

    answer, (ok, _) = verify(events[1].position, last + 100)

    assert (answer["ok"], answer["checked"]) == (True, last - events[1].position + 1) and ok
    assert verify_audit(from_position=last + 1).checked == 0
    # "Everything since N" asked before N exists: nothing to check, and no false alarm.
    for first in (last + 1, last + 2, last + 100):
        answer, (ok, _) = verify(first, None)
        assert (answer["ok"], answer["checked"]) == (True, 0) and ok, first
