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

from portal.audit import compute_hash
from portal.models import AuditEvent
from tests.portal.audit_tampering import TABLE, skip_an_id, tamper, write_events

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
    # The forger chains the fake to its predecessor and hashes it correctly.
    forged = AuditEvent(
        pk=gap,
        created_at=events[3].created_at,
        actor_label="system",
        action="grant.create",
        detail={"forged": True},
        channel="command",
        previous_hash=events[3].hash,
    )
    forged.hash = compute_hash(forged)
    tamper(
        f"INSERT INTO {TABLE} (id, created_at, actor_label, action, target_type, target_id, "
        "target_label, detail, channel, request_id, token_id, previous_hash, hash) "
        "VALUES (%s, %s, %s, %s, '', '', '', %s, %s, '', '', %s, %s)",
        [
            gap,
            forged.created_at,
            forged.actor_label,
            forged.action,
            '{"forged": true}',
            forged.channel,
            forged.previous_hash,
            forged.hash,
        ],
    )

    # The walk notices at the event after the forgery, which chains past it.
    checked = events_up_to(events[4].pk)

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
