"""``add_index_concurrently``: a rerun after a failure finishes the job (an invalid leftover
built again, a valid index kept), and an index of expressions comes with the statistics the
planner needs to use it."""

import pytest
from django.apps import apps
from django.db import connection, models

from portal.audit import audit_record
from portal.migration_operations import add_index_concurrently, remove_index_concurrently
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


def index_oid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::regclass::oid", [INDEX])
        return cursor.fetchone()[0]


def expression_statistics() -> int:
    """How many statistics rows PostgreSQL holds for the index's expression."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stats WHERE tablename = %s", [INDEX])
        return cursor.fetchone()[0]


def forget_expression_statistics() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM pg_statistic WHERE starelid = %s::regclass", [INDEX])


def build() -> None:
    index = next(i for i in AuditEvent._meta.indexes if i.name == INDEX)
    run_python = add_index_concurrently("portal", "auditevent", index).database_operations[0]
    with connection.schema_editor(atomic=False) as editor:
        run_python.code(apps, editor)


@pytest.fixture
def labels():
    """A few audit events, so the labels have statistics to gather."""
    for number in range(3):
        audit_record(actor=None, action="notification.retry", detail={"n": number})


def test_a_leftover_of_a_failed_concurrent_build_is_dropped_and_the_index_built_again(labels):
    # What a concurrent build that fails leaves behind: the index, marked invalid.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE pg_index SET indisvalid = false WHERE indexrelid = %s::regclass", [INDEX]
        )
    forget_expression_statistics()
    assert index_state() is False
    assert expression_statistics() == 0
    leftover = index_oid()

    build()

    assert index_state() is True
    assert index_oid() != leftover  # built again, not merely marked valid
    # Analysed with it, so a filter on the label is estimated from the labels stored.
    assert expression_statistics() == 1


def test_a_valid_index_built_before_a_later_failure_is_kept(labels):
    kept = index_oid()
    forget_expression_statistics()

    build()

    assert index_state() is True
    assert index_oid() == kept
    assert expression_statistics() == 1


def test_a_removed_index_can_be_dropped_again_and_built_back():
    # consent.0011 replaces the (purpose, customer) index with one that covers its reads:
    # the drop is finished by a rerun after a cancelled deployment, and undone by a rollback.
    old = models.Index(fields=["purpose", "customer"], name="consentstate_purpose")
    drop = remove_index_concurrently("consent", "consentstate", old).database_operations[0]

    def state() -> bool | None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_index.indisvalid FROM pg_index JOIN pg_class ON "
                "pg_class.oid = pg_index.indexrelid WHERE pg_class.relname = %s",
                [old.name],
            )
            row = cursor.fetchone()
        return None if row is None else row[0]

    def run(code) -> None:
        with connection.schema_editor(atomic=False) as editor:
            code(apps, editor)

    assert state() is None  # the migrations dropped it
    run(drop.reverse_code)
    assert state() is True
    run(drop.code)
    assert state() is None
    run(drop.code)  # already gone: a rerun finishes without an error
    assert state() is None
