"""``add_index_concurrently``: a rerun after a failed concurrent build succeeds, and an index
of expressions comes with the statistics the planner needs to use it."""

import pytest
from django.apps import apps
from django.db import ProgrammingError, connection

from portal.audit import audit_record
from portal.migration_operations import add_index_concurrently
from portal.models import AuditEvent

INDEX = "auditevent_actor_label"

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def index_state() -> bool | None:
    """True for a valid index of that name, False for an invalid one, None for none."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_index.indisvalid FROM pg_index "
            "JOIN pg_class ON pg_class.oid = pg_index.indexrelid WHERE pg_class.relname = %s",
            [INDEX],
        )
        row = cursor.fetchone()
    return None if row is None else row[0]


def expression_statistics() -> int:
    """How many statistics rows PostgreSQL holds for the index's expression."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stats WHERE tablename = %s", [INDEX])
        return cursor.fetchone()[0]


def build(operation) -> None:
    run_python = operation.database_operations[0]
    with connection.schema_editor(atomic=False) as editor:
        run_python.code(apps, editor)


def test_a_leftover_of_a_failed_concurrent_build_is_dropped_and_the_index_built_again():
    index = next(i for i in AuditEvent._meta.indexes if i.name == INDEX)
    operation = add_index_concurrently("portal", "auditevent", index)
    for number in range(3):
        audit_record(actor=None, action="notification.retry", detail={"n": number})
    assert index_state() is True
    # Built on the empty test database: the planner knows nothing of the labels yet.
    assert expression_statistics() == 0
    # What a concurrent build that fails leaves behind: the index, marked invalid.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE pg_index SET indisvalid = false WHERE indexrelid = %s::regclass", [INDEX]
        )
    assert index_state() is False

    build(operation)

    assert index_state() is True
    # Analysed with it, so a filter on the label is estimated from the labels stored.
    assert expression_statistics() == 1


def test_a_valid_index_of_that_name_is_not_dropped_and_building_it_again_fails():
    index = next(i for i in AuditEvent._meta.indexes if i.name == INDEX)
    operation = add_index_concurrently("portal", "auditevent", index)

    with pytest.raises(ProgrammingError, match="already exists"):
        build(operation)

    assert index_state() is True
