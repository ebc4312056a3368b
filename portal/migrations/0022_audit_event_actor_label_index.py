"""The audit log filtered by actor reads the events of that label from an index of the
label in capitals (the filter ignores case), beside the actor's key: 200,000 events were
read whole for each filtered page. Built without blocking the writes of audit events
(``portal.migration_operations``)."""

from django.db import migrations, models
from django.db.models.functions import Upper

from portal.migration_operations import add_index_concurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("portal", "0021_approvals_list_covering_indexes"),
    ]

    operations = [
        add_index_concurrently(
            "portal",
            "auditevent",
            models.Index(Upper("actor_label"), name="auditevent_actor_label"),
        ),
    ]
