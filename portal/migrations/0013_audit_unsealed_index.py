"""The sealer's index of the events still to seal, built without blocking writes.

Its own migration because PostgreSQL builds an index ``CONCURRENTLY`` only outside a
transaction: audit events are written by every request, and a plain ``CREATE INDEX`` would
hold their inserts for as long as it reads the table (docs/operations.md, upgrades).
SQLite (the local demo) builds it the ordinary way.
"""

from django.db import migrations, models

UNSEALED = models.Index(
    condition=models.Q(("position__isnull", True)),
    fields=["id"],
    name="portal_audit_unsealed",
)


def _concurrently(schema_editor) -> dict:
    return {"concurrently": True} if schema_editor.connection.vendor == "postgresql" else {}


def create_index(apps, schema_editor):
    model = apps.get_model("portal", "AuditEvent")
    schema_editor.add_index(model, UNSEALED, **_concurrently(schema_editor))


def drop_index(apps, schema_editor):
    model = apps.get_model("portal", "AuditEvent")
    schema_editor.remove_index(model, UNSEALED, **_concurrently(schema_editor))


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("portal", "0012_audit_sealed_log"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="auditevent", index=UNSEALED)],
            database_operations=[migrations.RunPython(create_index, drop_index)],
        ),
    ]
