"""Compliance's "All grants" page reads its newest grants from an index, built without
blocking writes (``portal.migration_operations``): grants are written by every final
approval, and a plain ``CREATE INDEX`` would hold them for as long as it reads the table."""

from django.db import migrations, models

from portal.migration_operations import add_index_concurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("customers", "0012_export_customer_blocks"),
    ]

    operations = [
        add_index_concurrently(
            "customers",
            "accessgrant",
            models.Index(fields=["-created_at", "-id"], name="grant_newest_first"),
        ),
    ]
