from django.db import migrations


def rename_kind(apps, schema_editor):
    """seed_scale wrote access-request chains as kind 'access_request' while the services
    write 'access': databases it filled keep their waiting requests visible."""
    ApprovalChain = apps.get_model("portal", "ApprovalChain")
    ApprovalChain.objects.filter(kind="access_request").update(kind="access")


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0008_approval_step_open_index"),
    ]

    operations = [
        migrations.RunPython(rename_kind, migrations.RunPython.noop),
    ]
