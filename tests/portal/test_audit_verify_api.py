"""``GET /api/audit/verify/`` names a tampered chain as ``{ok: false, checked, first_bad}``,
the same answer as ``manage.py verify_audit``, on whichever database the suite runs.

Tampering is done as an administrator would: raw SQL. On SQLite nothing stops it; on
PostgreSQL the append-only trigger (portal/migrations/0007_audit_append_only.py) is
disabled for the one statement, inside the test's transaction.
"""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from portal.models import AuditEvent
from tests.portal.audit_tampering import (
    TABLE,
    append_forged,
    insert_forged,
    skip_an_id,
    swap,
    tamper,
    truncate_after,
    write_events,
)

URL = "/api/audit/verify/"


def events_up_to(event_id: int) -> int:
    """How many events a walk checks to reach ``event_id`` (the cast's own role changes
    are audited too)."""
    return AuditEvent.objects.filter(pk__lte=event_id).count()


def verify_by_api(client, user) -> dict:
    client.force_authenticate(user)
    response = client.get(URL)
    assert response.status_code == 200, response.content
    return response.json()


def command_failure() -> str:
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit")
    return str(failure.value)


@pytest.mark.django_db
def test_an_intact_chain_answers_ok_with_the_count(api_client, compliance_officer):
    before = AuditEvent.objects.count()
    write_events(5)

    answer = verify_by_api(api_client, compliance_officer)

    assert (answer["ok"], answer["checked"], answer["first_bad"]) == (True, 5 + before, None)


@pytest.mark.django_db
def test_an_event_edited_mid_chain_is_named_by_the_api_and_the_command(
    api_client, compliance_officer
):
    events = write_events(10)
    checked = events_up_to(events[4].pk)
    tamper(f"UPDATE {TABLE} SET action = 'grant.create' WHERE id = %s", [events[4].pk])

    answer = verify_by_api(api_client, compliance_officer)

    assert (answer["ok"], answer["checked"], answer["first_bad"]) == (False, checked, events[4].pk)
    assert "altered" in answer["reason"]
    assert f"BROKEN at event #{events[4].pk} (after checking {checked} events)" in (
        command_failure()
    )


@pytest.mark.django_db
def test_an_event_deleted_mid_chain_is_named_by_the_api_and_the_command(
    api_client, compliance_officer
):
    events = write_events(10)
    checked = events_up_to(events[7].pk) - 1  # one of them is gone
    tamper(f"DELETE FROM {TABLE} WHERE id = %s", [events[6].pk])

    answer = verify_by_api(api_client, compliance_officer)

    assert (answer["ok"], answer["checked"], answer["first_bad"]) == (False, checked, events[7].pk)
    assert f"removed after #{events[5].pk}" in answer["reason"]
    assert f"BROKEN at event #{events[7].pk} (after checking {checked} events)" in (
        command_failure()
    )


@pytest.mark.django_db
def test_an_event_inserted_mid_chain_is_named_by_the_api_and_the_command(
    api_client, compliance_officer
):
    events = write_events(4)
    skip_an_id()
    events += write_events(4)
    gap = events[3].pk + 1
    assert events[4].pk == gap + 1
    insert_forged(events[3], gap)
    checked = events_up_to(gap)  # named at the forged event itself

    answer = verify_by_api(api_client, compliance_officer)

    assert (answer["ok"], answer["checked"], answer["first_bad"]) == (False, checked, gap)
    assert "inserted" in answer["reason"]
    assert f"BROKEN at event #{gap} (after checking {checked} events)" in command_failure()


@pytest.mark.django_db
def test_only_compliance_may_verify(api_client, requester):
    write_events(2)
    api_client.force_authenticate(requester)

    assert api_client.get(URL).status_code == 404


@pytest.mark.django_db
def test_an_event_whose_time_was_overwritten_with_garbage_is_named_as_altered(
    api_client, compliance_officer
):
    events = write_events(5)
    checked = events_up_to(events[2].pk)
    # SQLite stores whatever text it is given; PostgreSQL only takes a real time.
    garbage = "2026-13-45 25:61:00" if connection.vendor == "sqlite" else "0001-01-01 00:00:00"
    tamper(f"UPDATE {TABLE} SET created_at = %s WHERE id = %s", [garbage, events[2].pk])

    answer = verify_by_api(api_client, compliance_officer)

    assert (answer["ok"], answer["checked"], answer["first_bad"]) == (False, checked, events[2].pk)
    assert "altered" in answer["reason"]
    assert f"BROKEN at event #{events[2].pk}" in command_failure()


def forge_at_the_end(events):
    return append_forged(events[-1]), "forged"


def swap_two(events):
    swap(events[4], events[5])
    return events[5].pk, f"does not chain to #{events[3].pk}"


def cut_the_tail(events):
    truncate_after(events[6])
    return events[6].pk, "outside the database"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "tampering", [forge_at_the_end, swap_two, cut_the_tail], ids=["forged", "swapped", "truncated"]
)
def test_a_forged_swapped_or_truncated_log_is_named_by_the_api_and_the_command(
    api_client, compliance_officer, tampering
):
    events = write_events(10)
    first_bad, words = tampering(events)

    answer = verify_by_api(api_client, compliance_officer)

    assert (answer["ok"], answer["first_bad"]) == (False, first_bad)
    assert words in answer["reason"]
    assert f"BROKEN at event #{first_bad} " in command_failure()


@pytest.mark.django_db
def test_the_api_answers_200_when_the_key_is_missing(api_client, compliance_officer, settings):
    write_events(3)
    settings.AUDIT_KEYS = ""

    answer = verify_by_api(api_client, compliance_officer)

    assert (answer["ok"], answer["checked"], answer["first_bad"]) == (False, 0, None)
    assert "AUDIT_KEYS" in answer["reason"]


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_api_answers_200_when_the_database_stops_the_walk(api_client, compliance_officer):
    write_events(3)
    tamper(f"ALTER TABLE {TABLE} RENAME COLUMN detail TO detail_gone")

    answer = verify_by_api(api_client, compliance_officer)

    assert (answer["ok"], answer["first_bad"]) == (False, None)
    assert "could not be read" in answer["reason"]
