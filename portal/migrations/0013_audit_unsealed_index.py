"""The sealer's index of the events still to seal, built without blocking writes.

Its own migration because PostgreSQL builds an index ``CONCURRENTLY`` only outside a
transaction (``portal.migration_operations``): audit events are written by every request,
and a plain ``CREATE INDEX`` would hold their inserts for as long as it reads the table
(docs/operations.md, upgrades). SQLite (the local demo) builds it the ordinary way.
"""

from django.db import migrations, models

from portal.migration_operations import add_index_concurrently

UNSEALED = models.Index(
    condition=models.Q(("position__isnull", True)),
    fields=["id"],
    name="portal_audit_unsealed",
)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("portal", "0012_audit_sealed_log"),
    ]

    operations = [add_index_concurrently("portal", "auditevent", UNSEALED)]
