"""The search migrations roll back and forward again on either database: the trigram
indexes go with a rollback, the pg_trgm extension stays (an administrator may own it, other
objects may use it), and the generated search columns come back filled."""

import pytest
from django.core.management import call_command
from django.db import connection

from portal.selectors import people_named
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def trigram_indexes() -> set[str]:
    if connection.vendor != "postgresql":
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'customers_customer'"
            " AND indexname LIKE '%%trigram'"
        )
        return {row[0] for row in cursor.fetchall()}


def extension_installed() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        return cursor.fetchone() is not None


def test_the_search_migrations_roll_back_and_forward_again():
    UserFactory(username="solveig", first_name="Solveig", last_name="Dahl")

    call_command("migrate", "customers", "0014", verbosity=0)
    call_command("migrate", "portal", "0022", verbosity=0)
    assert trigram_indexes() == set()
    call_command("migrate", verbosity=0)

    assert [user.username for user in people_named("DAHL")] == ["solveig"]
    if connection.vendor == "postgresql":
        assert trigram_indexes() == {"customer_name_trigram", "customer_email_trigram"}


@pytest.mark.postgres
def test_a_rollback_keeps_the_trigram_extension():
    call_command("migrate", "customers", "0015", verbosity=0)
    try:
        assert extension_installed()
        assert trigram_indexes() == set()
    finally:
        call_command("migrate", verbosity=0)
    assert trigram_indexes() == {"customer_name_trigram", "customer_email_trigram"}
