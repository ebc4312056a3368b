"""Compliance's customer search matches a customer's name and e-mail anywhere in them,
ignoring case (``UPPER(...) LIKE``): PostgreSQL capitalised all 100,000 customers of the
scale data for every statement (115 to 120 ms, twice a page). Trigram indexes of the
capitals (pg_trgm, a trusted extension a database owner may create; left in place by a
rollback) find the matches instead. Built without blocking writes, on PostgreSQL only,
and kept out of the model's state
(``portal.migration_operations.add_postgresql_index_concurrently``)."""

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import migrations
from django.db.models.functions import Upper

from portal.migration_operations import (
    CreateExtensionIfMissing,
    add_postgresql_index_concurrently,
)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("customers", "0015_search_text"),
    ]

    operations = [
        CreateExtensionIfMissing("pg_trgm"),
        add_postgresql_index_concurrently(
            "customers",
            "customer",
            GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="customer_name_trigram"),
        ),
        add_postgresql_index_concurrently(
            "customers",
            "customer",
            GinIndex(OpClass(Upper("email"), name="gin_trgm_ops"), name="customer_email_trigram"),
        ),
    ]
