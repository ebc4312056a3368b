from django.db import migrations

# PostgreSQL refuses every UPDATE and DELETE on the audit table, whoever sends it: the ORM,
# raw SQL, an administrator in psql. TRUNCATE is not caught by row triggers: Django's test
# runner empties tables with it, and the anchors (manage.py audit_anchor) detect a truncated
# chain anyway. Only the table owner can disable the trigger; production should not run the
# portal as the owner of its tables.
CREATE_TRIGGER = """
CREATE OR REPLACE FUNCTION portal_auditevent_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'portal_auditevent is append-only: % refused', TG_OP
        USING HINT = 'Audit events are never changed or deleted; record a new event instead.';
END;
$$;
CREATE TRIGGER portal_auditevent_append_only
    BEFORE UPDATE OR DELETE ON portal_auditevent
    FOR EACH ROW EXECUTE FUNCTION portal_auditevent_append_only();
"""

DROP_TRIGGER = """
DROP TRIGGER IF EXISTS portal_auditevent_append_only ON portal_auditevent;
DROP FUNCTION IF EXISTS portal_auditevent_append_only();
"""


def _on_postgresql(sql: str):
    def run(apps, schema_editor):
        # Other databases (the SQLite demo) rely on the ORM's refusal in portal.models.
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0006_approval_chains"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="auditevent",
            options={"base_manager_name": "objects", "ordering": ["-id"]},
        ),
        migrations.RunPython(_on_postgresql(CREATE_TRIGGER), _on_postgresql(DROP_TRIGGER)),
    ]
