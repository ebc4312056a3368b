from django.db import migrations, models
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce


def count_customers(apps, schema_editor):
    """Fill the new count from the memberships already held (one statement)."""
    DataAsset = apps.get_model("customers", "DataAsset")
    AssetCustomer = apps.get_model("customers", "AssetCustomer")
    counted = (
        AssetCustomer.objects.filter(asset=OuterRef("pk"))
        .order_by()
        .values("asset")
        .annotate(n=Count("pk"))
        .values("n")
    )
    DataAsset.objects.update(
        customer_count=Coalesce(Subquery(counted, output_field=IntegerField()), 0)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0007_export_record_without_fk_triggers"),
    ]

    operations = [
        migrations.AddField(
            model_name="dataasset",
            name="customer_count",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(count_customers, migrations.RunPython.noop),
    ]
