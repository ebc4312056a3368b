"""A covering index on the consent states, built without blocking writes.

Coverage and eligibility of a large asset merge its memberships with its customers' states
in customer order; with status and effective date in the index the states are read from it
alone (benchmarks/coverage.py, docs/performance.md). Its own migration because PostgreSQL
builds an index ``CONCURRENTLY`` only outside a transaction: every consent record writes a
state, and a plain ``CREATE INDEX`` would hold them for as long as it reads the table
(docs/operations.md, upgrades). SQLite (the local demo) builds it the ordinary way.
"""

from django.db import migrations, models

COVERING = models.Index(
    fields=["customer", "purpose"],
    include=["status", "effective_at"],
    name="consentstate_covering",
)


def _concurrently(schema_editor) -> dict:
    return {"concurrently": True} if schema_editor.connection.vendor == "postgresql" else {}


def create_index(apps, schema_editor):
    model = apps.get_model("consent", "ConsentState")
    schema_editor.add_index(model, COVERING, **_concurrently(schema_editor))


def drop_index(apps, schema_editor):
    model = apps.get_model("consent", "ConsentState")
    schema_editor.remove_index(model, COVERING, **_concurrently(schema_editor))


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("consent", "0007_processing_activities"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="consentstate", index=COVERING)],
            database_operations=[migrations.RunPython(create_index, drop_index)],
        ),
    ]
