"""Migration operations the apps share.

``add_index_concurrently``: PostgreSQL builds an index ``CONCURRENTLY`` (without blocking
the table's writes) only outside a transaction, so a migration using it sets
``atomic = False`` and holds nothing else (docs/operations.md, upgrades). SQLite (the local
demo) builds the index the ordinary way. Django's own ``AddIndexConcurrently`` refuses any
database but PostgreSQL, and the demo runs on SQLite.

A concurrent build that fails (a deadlock, a deployment cancelled mid-build) leaves an
``INVALID`` index of that name behind, which no query uses and which made the rerun of the
migration fail with "already exists"; the operation drops such a leftover first. An index
of expressions is followed by an ``ANALYZE`` of its table (the only way PostgreSQL learns
the expressions' statistics; it takes no lock that stops reads or writes).
"""

from django.db import migrations, models


def _concurrently(schema_editor) -> dict:
    return {"concurrently": True} if schema_editor.connection.vendor == "postgresql" else {}


def _drop_invalid_leftover(schema_editor, name: str) -> None:
    """Drop the index ``name`` if PostgreSQL marks it invalid (``pg_index.indisvalid``):
    the remains of a concurrent build that failed. A valid index of that name is left
    alone (creating it again then fails, as it should); on SQLite nothing happens."""
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_index JOIN pg_class ON pg_class.oid = pg_index.indexrelid "
            "WHERE pg_class.relname = %s AND pg_table_is_visible(pg_class.oid) "
            "AND NOT pg_index.indisvalid",
            [name],
        )
        if cursor.fetchone():
            cursor.execute(f"DROP INDEX CONCURRENTLY {schema_editor.quote_name(name)}")


def add_index_concurrently(
    app_label: str, model_name: str, index: models.Index
) -> migrations.SeparateDatabaseAndState:
    """The operation that adds ``index`` to the model ``app_label.model_name`` (lower-case
    model name, as migrations write it): in the migration state as an ``AddIndex``, in the
    database built concurrently on PostgreSQL; reversible (dropped the same way)."""

    def create_index(apps, schema_editor):
        model = apps.get_model(app_label, model_name)
        _drop_invalid_leftover(schema_editor, index.name)
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

    return migrations.SeparateDatabaseAndState(
        state_operations=[migrations.AddIndex(model_name=model_name, index=index)],
        database_operations=[migrations.RunPython(create_index, drop_index)],
    )
