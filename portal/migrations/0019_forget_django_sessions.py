"""The sessions of Django's own table (``django_session``) are deleted: the portal's engine
keeps its sessions in ``UserSession`` (``portal.sessions``), so the old rows are never read
again, never expire through ``clearsessions``, and would still hold session data (and go
into every backup). Everyone signs in again once."""

from django.db import migrations


def forget_django_sessions(apps, schema_editor):
    apps.get_model("sessions", "Session").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0018_user_session"),
        ("sessions", "0001_initial"),
    ]

    operations = [migrations.RunPython(forget_django_sessions, migrations.RunPython.noop)]
