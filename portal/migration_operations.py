"""Migration operations the apps share.

``add_index_concurrently``: PostgreSQL builds an index ``CONCURRENTLY`` (without blocking
the table's writes) only outside a transaction, so a migration using it sets
``atomic = False`` and holds nothing else (docs/operations.md, upgrades). SQLite (the local
demo) builds the index the ordinary way. Django's own ``AddIndexConcurrently`` refuses any
database but PostgreSQL, and the demo runs on SQLite.
"""

from django.db import migrations, models


def _concurrently(schema_editor) -> dict:
    return {"concurrently": True} if schema_editor.connection.vendor == "postgresql" else {}


def add_index_concurrently(
    app_label: str, model_name: str, index: models.Index
) -> migrations.SeparateDatabaseAndState:
    """The operation that adds ``index`` to the model ``app_label.model_name`` (lower-case
    model name, as migrations write it): in the migration state as an ``AddIndex``, in the
    database built concurrently on PostgreSQL; reversible (dropped the same way)."""

    def create_index(apps, schema_editor):
        model = apps.get_model(app_label, model_name)
        schema_editor.add_index(model, index, **_concurrently(schema_editor))

    def drop_index(apps, schema_editor):
        model = apps.get_model(app_label, model_name)
        schema_editor.remove_index(model, index, **_concurrently(schema_editor))

    return migrations.SeparateDatabaseAndState(
        state_operations=[migrations.AddIndex(model_name=model_name, index=index)],
        database_operations=[migrations.RunPython(create_index, drop_index)],
    )
