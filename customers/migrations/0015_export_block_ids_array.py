"""The export ledger's customer ids as a ``bigint[]`` on PostgreSQL instead of ``jsonb``
(``customers.models.exports.CustomerIdsField``): each stored list is rewritten as the same
integers in the same order (``[1, 2]`` becomes ``{1,2}``). PostgreSQL rewrites the ledger's
block table under a lock while this runs: an export started meanwhile waits for it (a
block holds up to 1,000 customers, so even a large ledger has few rows). SQLite (the local
demo) keeps the JSON text it already holds."""

from django.db import migrations

import customers.models.exports

TABLE = "customers_exportedcustomerblock"
TO_ARRAY = (
    f"ALTER TABLE {TABLE} ALTER COLUMN customer_ids TYPE bigint[] "
    "USING translate(customer_ids::text, '[]', '{}')::bigint[]"
)
TO_JSONB = f"ALTER TABLE {TABLE} ALTER COLUMN customer_ids TYPE jsonb USING to_jsonb(customer_ids)"


def _altered(statement: str, old_field, new_field):
    def alter(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(statement)
            return
        model = apps.get_model("customers", "exportedcustomerblock")
        schema_editor.alter_field(model, old_field(), new_field())

    return alter


def _json_field():
    from django.db import models

    return _named(models.JSONField(help_text="The customers' ids, a list of integers."))


def _ids_field():
    return _named(
        customers.models.exports.CustomerIdsField(
            help_text="The customers' ids, a list of integers."
        )
    )


def _named(field):
    field.set_attributes_from_name("customer_ids")
    return field


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0014_accessreview_mover"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="exportedcustomerblock",
                    name="customer_ids",
                    field=customers.models.exports.CustomerIdsField(
                        help_text="The customers' ids, a list of integers."
                    ),
                ),
            ],
            database_operations=[
                migrations.RunPython(
                    _altered(TO_ARRAY, _json_field, _ids_field),
                    _altered(TO_JSONB, _ids_field, _json_field),
                ),
            ],
        ),
    ]
