"""Tampering with the audit table behind the portal's back, for the integrity tests.

What an attacker with database access does: raw SQL on whichever database runs the suite,
past PostgreSQL's append-only trigger. Shared by ``test_audit_integrity`` (the selector,
the anchors) and ``test_audit_verify_api`` (the API and the command).
"""

import pytest
from django.db import connection, transaction

from portal.audit import audit_record
from portal.audit_seal import seal_pending
from portal.models import AuditEvent

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
