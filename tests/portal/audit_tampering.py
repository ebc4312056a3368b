"""Tampering with the audit table behind the portal's back, for the integrity tests.

What an attacker with database access does: raw SQL on whichever database runs the suite,
past PostgreSQL's append-only trigger. Shared by ``test_audit_integrity`` (the selector,
the anchors) and ``test_audit_verify_api`` (the API and the command).
"""

import hashlib
import json

import pytest
from django.db import connection, transaction

from portal.audit import audit_record, canonical_values
from portal.audit_seal import (
    ID,
    LINKED_FIELDS,
    PREVIOUS_HASH,
    RowLinker,
    audit_keys,
    event_rows,
    seal_pending,
)
from portal.models import AuditChainHead, AuditEvent

TABLE = AuditEvent._meta.db_table
TRIGGER = "portal_auditevent_append_only"


def write_events(count: int, actor=None) -> list[AuditEvent]:
    """``count`` events written and sealed, as the sealer leaves them a second later."""
    written = [
        audit_record(actor=actor, action="records.view", detail={"n": n, "rows": 10})
        for n in range(count)
    ]
    seal_pending()
    return list(AuditEvent.objects.filter(pk__in=[event.pk for event in written]).order_by("id"))


def raw_sql(sql: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def without_trigger(sql: str, params=()) -> None:
    """What an administrator with the table owner's rights could do (PostgreSQL). The
    ALTER TABLE is rolled back with the test's transaction."""
    # Run the deferred foreign-key checks now: ALTER TABLE refuses pending trigger events.
    raw_sql("SET CONSTRAINTS ALL IMMEDIATE")
    raw_sql(f"ALTER TABLE {TABLE} DISABLE TRIGGER {TRIGGER}")
    raw_sql(sql, params)
    raw_sql(f"ALTER TABLE {TABLE} ENABLE TRIGGER {TRIGGER}")
    raw_sql("SET CONSTRAINTS ALL DEFERRED")


def tamper(sql: str, params=()) -> None:
    """Change the audit table behind the portal's back, on whichever database runs the
    suite: on PostgreSQL with the append-only trigger disabled for the statement; SQLite
    has no trigger (only the ORM refuses), so plain raw SQL gets through there. Either way
    only ``verify_audit`` stands between the tampering and an unnoticed rewrite."""
    if connection.vendor == "postgresql":
        without_trigger(sql, params)
    else:
        raw_sql(sql, params)


def as_json(placeholder: str = "%s") -> str:
    """A JSON parameter in raw SQL: PostgreSQL's column is jsonb, SQLite's is text."""
    return f"{placeholder}::jsonb" if connection.vendor == "postgresql" else placeholder


def skip_an_id() -> None:
    """Leave the next event id unused, as a rolled-back transaction does on PostgreSQL
    (SQLite would reuse it; its AUTOINCREMENT counter is moved on by hand)."""
    if connection.vendor == "postgresql":
        with pytest.raises(RuntimeError), transaction.atomic():
            audit_record(actor=None, action="records.view")
            raise RuntimeError
    else:
        raw_sql("UPDATE sqlite_sequence SET seq = seq + 1 WHERE name = %s", [TABLE])


# --- What a forger without the key does ------------------------------------------------------


def plain_hash(values: dict) -> str:
    """What a forger without the key can compute: SHA-256 of the content, as the portal's
    own unkeyed chain used to be."""
    return hashlib.sha256(canonical_values(values, LINKED_FIELDS).encode()).hexdigest()


def forged_row(after: AuditEvent, pk: int, position: int) -> None:
    """A ``grant.revoke`` sealed by hand after ``after``: chained to its link, with the
    plain hash recomputed, inserted with raw SQL."""
    values = {
        "id": pk,
        "position": position,
        "key_id": after.key_id,
        "created_at": after.created_at,
        "actor_id": None,
        "actor_label": "system",
        "action": "grant.revoke",
        "target_type": "",
        "target_id": "",
        "target_label": "",
        "asset_id": None,
        "detail": {"forged": True},
        "channel": "command",
        "request_id": "",
        "ip": None,
        "token_id": "",
        "previous_hash": after.hash,
    }
    columns = list(values) + ["hash"]
    params = [json.dumps(v) if k == "detail" else v for k, v in values.items()]
    placeholders = [as_json() if name == "detail" else "%s" for name in columns]
    raw_sql(
        f"INSERT INTO {TABLE} ({', '.join(columns)}) VALUES ({', '.join(placeholders)})",
        [*params, plain_hash(values)],
    )


def insert_forged(after: AuditEvent, pk: int) -> None:
    """A forged event inserted right after ``after`` (id ``pk`` left free by
    ``skip_an_id``), the later events moved one place on."""
    tamper(
        f"UPDATE {TABLE} SET position = position + 1000000 WHERE position > %s", [after.position]
    )
    tamper(f"UPDATE {TABLE} SET position = position - 999999 WHERE position > 1000000")
    forged_row(after, pk, after.position + 1)


def append_forged(last: AuditEvent) -> int:
    """A forged event appended after the last one, the head row moved onto it; its id."""
    pk = last.pk + 100
    forged_row(last, pk, last.position + 1)
    AuditChainHead.objects.filter(pk=1).update(
        last_event_id=pk,
        last_position=last.position + 1,
        last_hash=AuditEvent.objects.get(pk=pk).hash,
    )
    return pk


def swap(first: AuditEvent, second: AuditEvent) -> None:
    """The two events' places in the log exchanged."""
    tamper(f"UPDATE {TABLE} SET position = -position WHERE id IN (%s, %s)", [first.pk, second.pk])
    tamper(f"UPDATE {TABLE} SET position = %s WHERE id = %s", [second.position, first.pk])
    tamper(f"UPDATE {TABLE} SET position = %s WHERE id = %s", [first.position, second.pk])


def truncate_after(survivor: AuditEvent) -> None:
    """Every event after ``survivor`` deleted, and the head row moved back onto it."""
    tamper(f"DELETE FROM {TABLE} WHERE position > %s", [survivor.position])
    AuditChainHead.objects.filter(pk=1).update(
        last_event_id=survivor.pk, last_position=survivor.position, last_hash=survivor.hash
    )


# --- What a forger holding the HMAC key does ---------------------------------------------------


def rewrite_with_the_key(event: AuditEvent, action: str) -> None:
    """``event``'s action rewritten and every link from it on recomputed with the key, as
    someone holding both the database and the HMAC key can: each link matches its content
    again, and only the heads and checkpoints written outside the database tell."""
    tamper(f"UPDATE {TABLE} SET action = %s WHERE id = %s", [action, event.pk])
    _, keys = audit_keys()
    linker, link = RowLinker(keys), None
    for row in list(event_rows("WHERE position >= %s", (event.position,), order="position")):
        values = list(row)
        if link is not None:
            values[PREVIOUS_HASH] = link
        link = linker.link(values)
        tamper(
            f"UPDATE {TABLE} SET previous_hash = %s, hash = %s WHERE id = %s",
            [values[PREVIOUS_HASH], link, row[ID]],
        )
    AuditChainHead.objects.filter(pk=1).update(last_hash=link)
