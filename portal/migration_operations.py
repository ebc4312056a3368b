"""Migration operations the apps share.

``add_index_concurrently``: PostgreSQL builds an index ``CONCURRENTLY`` (without blocking
the table's writes) only outside a transaction, so a migration using it sets
``atomic = False`` and holds nothing else (docs/operations.md, upgrades). SQLite (the local
demo) builds the index the ordinary way. Django's own ``AddIndexConcurrently`` refuses any
database but PostgreSQL, and the demo runs on SQLite.

A concurrent build that fails (a deadlock, a deployment cancelled mid-build) leaves an
``INVALID`` index of that name behind, which no query uses and which made the rerun of the
migration fail with "already exists"; the operation drops such a leftover first, and keeps
a valid index of that name that a run which failed later had already built. An index
of expressions is followed by an ``ANALYZE`` of its table (the only way PostgreSQL learns
the expressions' statistics; it takes no lock that stops reads or writes).

``remove_index_concurrently``: the drop, the same way, kept in the migration state too; a
rerun after a cancelled drop finishes it.

``CreateExtensionIfMissing``: a PostgreSQL extension created when missing and never dropped
by a rollback (other objects may use it, and another role, an administrator, may own it).

``add_postgresql_index_concurrently``: the same build for an index of PostgreSQL's own
kinds (``django.contrib.postgres.indexes``: GIN, GiST, ...), on PostgreSQL only and kept
out of the models' state: SQLite has no such index, and Django rebuilds a SQLite table
(``ALTER`` of a column) with every index the state holds.
"""

from django.contrib.postgres.operations import CreateExtension
from django.db import migrations, models


def _concurrently(schema_editor) -> dict:
    return {"concurrently": True} if schema_editor.connection.vendor == "postgresql" else {}


def _index_validity(schema_editor, name: str) -> bool | None:
    """Whether PostgreSQL holds the index ``name`` (in the search path) and marks it valid
    (``pg_index.indisvalid``): ``True``, ``False`` (the remains of a concurrent build that
    failed, or one still running in another session), or ``None`` when there is none; always
    ``None`` on SQLite."""
    if schema_editor.connection.vendor != "postgresql":
        return None
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_index.indisvalid FROM pg_index "
            "JOIN pg_class ON pg_class.oid = pg_index.indexrelid "
            "WHERE pg_class.relname = %s AND pg_table_is_visible(pg_class.oid)",
            [name],
        )
        row = cursor.fetchone()
    return None if row is None else row[0]


def add_index_concurrently(
    app_label: str, model_name: str, index: models.Index
) -> migrations.SeparateDatabaseAndState:
    """The operation that adds ``index`` to the model ``app_label.model_name`` (lower-case
    model name, as migrations write it): in the migration state as an ``AddIndex``, in the
    database built concurrently on PostgreSQL; reversible (dropped the same way).

    A rerun after a failure finishes the job: an invalid leftover of that name is dropped
    and built again, a valid index of that name (built before the failure) is kept. Two
    ``migrate`` runs at once are not supported: one would take the other's build in progress
    for a leftover. An index of expressions is followed by ``ANALYZE`` of its table."""

    create_index, drop_index = _index_builders(app_label, model_name, index)
    return migrations.SeparateDatabaseAndState(
        state_operations=[migrations.AddIndex(model_name=model_name, index=index)],
        database_operations=[migrations.RunPython(create_index, drop_index)],
    )


def remove_index_concurrently(
    app_label: str, model_name: str, index: models.Index
) -> migrations.SeparateDatabaseAndState:
    """The operation that removes ``index`` from the model ``app_label.model_name``: in the
    migration state as a ``RemoveIndex``, in the database dropped concurrently on PostgreSQL
    (Django writes ``DROP INDEX CONCURRENTLY IF EXISTS``: a drop waits for every
    transaction open on the table, and a rerun after one was cancelled finishes it).
    Reversed by building the index again as ``add_index_concurrently`` does. For replacing
    an index: add the new one first, then remove the old, so readers always have one."""
    create_index, drop_index = _index_builders(app_label, model_name, index)
    return migrations.SeparateDatabaseAndState(
        state_operations=[migrations.RemoveIndex(model_name=model_name, name=index.name)],
        database_operations=[migrations.RunPython(drop_index, create_index)],
    )


def add_postgresql_index_concurrently(
    app_label: str, model_name: str, index: models.Index
) -> migrations.RunPython:
    """The operation that builds ``index`` (one of ``django.contrib.postgres.indexes``) on
    the model ``app_label.model_name`` concurrently on PostgreSQL, as
    ``add_index_concurrently`` builds it (a failed build finished by the rerun; ANALYZE after
    an index of expressions), and nothing on any other database. Not in the migration
    state: the model does not list the index (its ``Meta`` says why), so Django never
    builds it on SQLite. Reversible."""

    def on_postgresql(build):
        def run(apps, schema_editor):
            if schema_editor.connection.vendor == "postgresql":
                build(apps, schema_editor)

        return run

    create_index, drop_index = _index_builders(app_label, model_name, index)
    return migrations.RunPython(on_postgresql(create_index), on_postgresql(drop_index))


def _index_builders(app_label: str, model_name: str, index: models.Index):
    """(create, drop): the ``RunPython`` functions that build ``index`` concurrently where
    the database can and drop it the same way (see the module's docstring)."""

    def create_index(apps, schema_editor):
        model = apps.get_model(app_label, model_name)
        validity = _index_validity(schema_editor, index.name)
        if validity is False:
            schema_editor.execute(f"DROP INDEX CONCURRENTLY {schema_editor.quote_name(index.name)}")
        if validity is not True:
            schema_editor.add_index(model, index, **_concurrently(schema_editor))
        if index.expressions and schema_editor.connection.vendor == "postgresql":
            # PostgreSQL has statistics of an indexed expression only from the table's next
            # ANALYZE; until then it guesses how many rows match, and the audit log's filter
            # by actor was read along the whole primary key (21 ms instead of 0.4).
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {schema_editor.quote_name(model._meta.db_table)}")

    def drop_index(apps, schema_editor):
        model = apps.get_model(app_label, model_name)
        schema_editor.remove_index(model, index, **_concurrently(schema_editor))

    return create_index, drop_index


class CreateExtensionIfMissing(CreateExtension):
    """``CREATE EXTENSION IF NOT EXISTS name`` on PostgreSQL (nothing elsewhere), and nothing
    when the migration is rolled back: Django's ``CreateExtension`` drops the extension on a
    rollback, which fails (and, the migration being non-atomic, leaves it half undone) when
    an administrator created and owns it, and takes it from any other object using it."""

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        return None
