"""The asset's name and description in capitals, kept by the database (a stored generated
column): the catalogue's search matches it instead of capitalising every asset for every
search (``portal.text_search``). Adding it rewrites the asset table once, a few thousand
rows; no large table is touched."""

import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0014_accessreview_mover"),
    ]

    operations = [
        migrations.AddField(
            model_name="dataasset",
            name="search_text",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.functions.text.Upper(
                    django.db.models.functions.text.Concat(
                        models.F("name"),
                        models.Value("\x1f"),
                        models.F("description"),
                        output_field=models.TextField(),
                    ),
                    output_field=models.TextField(),
                ),
                output_field=models.TextField(),
            ),
        ),
    ]
