from django.db import migrations


def load(apps, schema_editor):
    from consent.taxonomy import load_default_taxonomy

    load_default_taxonomy(
        purpose_model=apps.get_model("consent", "Purpose"),
        category_model=apps.get_model("consent", "DataCategory"),
    )


class Migration(migrations.Migration):
    dependencies = [("consent", "0002_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
