"""The approvals list reads the open steps and their pending chains from two small covering
indexes alone (a merge of the two, no visit to either table). Built without blocking
writes (``portal.migration_operations``): every request and decision writes a chain and
its steps."""

from django.db import migrations, models

from portal.migration_operations import add_index_concurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("portal", "0020_approvalstep_decided_by_chain"),
    ]

    operations = [
        add_index_concurrently(
            "portal",
            "approvalchain",
            models.Index(
                fields=["id"],
                include=["created_at", "requester", "kind"],
                name="approvalchain_pending",
                condition=models.Q(status="pending"),
            ),
        ),
        add_index_concurrently(
            "portal",
            "approvalstep",
            models.Index(
                fields=["chain"],
                include=["id", "role", "approver"],
                name="approvalstep_open_by_chain",
                condition=models.Q(status="open"),
            ),
        ),
    ]
