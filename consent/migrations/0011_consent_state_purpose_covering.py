"""The consent states by purpose, with what eligibility reads of them, built without
blocking writes.

A records page, an export or a coverage count of a large asset reads one purpose's states
in customer order and merges them with the asset's memberships. The index on (purpose,
customer) found them, but each state's status and date came from the table: a
10,000-customer asset's records page read 53,646 states one table row at a time (12.6 of
its 26 ms). With them in the index the states are read from it alone (4 ms). It replaces
the index it extends, which serves every other reader as well (its leading columns are the
same). Built and dropped ``CONCURRENTLY`` outside a transaction, as the covering index
before it (docs/operations.md, upgrades); SQLite (the local demo) the ordinary way.
"""

from django.db import migrations, models

BY_PURPOSE = models.Index(fields=["purpose", "customer"], name="consentstate_purpose")
BY_PURPOSE_COVERING = models.Index(
    fields=["purpose", "customer"],
    include=["status", "effective_at"],
    name="consentstate_purpose_covering",
)


def _concurrently(schema_editor) -> dict:
    return {"concurrently": True} if schema_editor.connection.vendor == "postgresql" else {}


def _replace(old: models.Index, new: models.Index):
    def run(apps, schema_editor):
        model = apps.get_model("consent", "ConsentState")
        # The new one first: readers always have an index on (purpose, customer).
        schema_editor.add_index(model, new, **_concurrently(schema_editor))
        schema_editor.remove_index(model, old, **_concurrently(schema_editor))

    return run


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("consent", "0010_translatable_labels"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="consentstate", name="consentstate_purpose"),
                migrations.AddIndex(model_name="consentstate", index=BY_PURPOSE_COVERING),
            ],
            database_operations=[
                migrations.RunPython(
                    _replace(BY_PURPOSE, BY_PURPOSE_COVERING),
                    _replace(BY_PURPOSE_COVERING, BY_PURPOSE),
                )
            ],
        ),
    ]
