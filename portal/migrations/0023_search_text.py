"""An account's username, first and last name in capitals, kept by the database (a stored
generated column): a search for a person matches it instead of capitalising every account
for every search (``portal.selectors.people_named``, ``portal.text_search``). Adding it
rewrites the account table once (a row per employee); no large table is touched."""

import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0022_audit_event_actor_label_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="search_text",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.functions.text.Upper(
                    django.db.models.functions.text.Concat(
                        models.F("username"),
                        models.Value("\x1f"),
                        models.F("first_name"),
                        models.Value("\x1f"),
                        models.F("last_name"),
                        output_field=models.TextField(),
                    ),
                    output_field=models.TextField(),
                ),
                output_field=models.TextField(),
            ),
        ),
    ]
