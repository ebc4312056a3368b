"""The approvals list leaves out every chain its reader already decided a step of
(segregation of duties): an index of the steps by decider and chain lets the database read
that person's chains from the index alone. Built without blocking writes
(``portal.migration_operations``): every decision writes a step."""

from django.db import migrations, models

from portal.migration_operations import add_index_concurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("portal", "0019_forget_django_sessions"),
    ]

    operations = [
        add_index_concurrently(
            "portal",
            "approvalstep",
            models.Index(fields=["decided_by", "chain"], name="approvalstep_decided_by_chain"),
        ),
    ]
