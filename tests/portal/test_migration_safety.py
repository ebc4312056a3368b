"""Migrations that are safe to run while the old version serves: no statement rewrites or
long-locks the large tables (customers, asset memberships, consent states, the audit
trail). ``sqlmigrate`` prints each migration's SQL; a statement on a large table that
rewrites it or holds its lock for a scan is flagged, unless the table is created in the
same migration (it is empty then).

How to write such a change instead: docs/operations.md, upgrades.
"""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

pytestmark = pytest.mark.django_db

LARGE_TABLES = {
    "customers_customer",
    "customers_assetcustomer",
    "consent_consentstate",
    "portal_auditevent",
}

# Statement pattern -> why it blocks the old version.
UNSAFE = {
    r"ALTER COLUMN \S+ TYPE": "changes a column's type: rewrites the table under an exclusive lock",
    r"SET NOT NULL": "scans the whole table under an exclusive lock",
    r"CREATE (UNIQUE )?INDEX (?!CONCURRENTLY)": "builds an index blocking writes",
    r"ADD CONSTRAINT (?!.*NOT VALID)": "validates a constraint over every row under a lock",
    r"ADD COLUMN .* DEFAULT \w+\(": "a volatile default rewrites every row",
}


def statements(app: str, name: str) -> list[str]:
    out = StringIO()
    call_command("sqlmigrate", app, name, stdout=out)
    return [s.strip() for s in out.getvalue().split(";\n") if s.strip()]


def unsafe_statements(sql: list[str]) -> list[str]:
    created = {m for s in sql for m in re.findall(r'CREATE TABLE "(\w+)"', s)}
    found = []
    for statement in sql:
        line = " ".join(statement.split())
        table = re.search(r'(?:ALTER TABLE|ON) "(\w+)"', line)
        if not table or table.group(1) not in LARGE_TABLES or table.group(1) in created:
            continue
        for pattern, why in UNSAFE.items():
            if re.search(pattern, line):
                found.append(f"{line[:160]} -- {why}")
    return found


def our_migrations() -> list[tuple[str, str]]:
    """Every migration of the portal's apps except the initial ones (they create the
    tables, empty at the first deployment)."""
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    return sorted(
        key
        for key, migration in loader.disk_migrations.items()
        if key[0] in {"portal", "customers", "consent", "incidents"} and not migration.initial
    )


@pytest.mark.postgres
def test_no_migration_rewrites_or_long_locks_a_large_table():
    flagged = {}
    for app, name in our_migrations():
        found = unsafe_statements(statements(app, name))
        if found:
            flagged[f"{app}.{name}"] = found
    assert flagged == {}


def test_the_check_flags_a_type_change_and_a_plain_index_on_a_large_table():
    sql = [
        'ALTER TABLE "portal_auditevent" ALTER COLUMN "action" TYPE varchar(200)',
        'CREATE INDEX "x" ON "customers_customer" ("email")',
        'CREATE INDEX CONCURRENTLY "y" ON "customers_customer" ("email")',
        'ALTER TABLE "customers_dataasset" ALTER COLUMN "name" TYPE varchar(300)',
    ]

    found = unsafe_statements(sql)

    assert len(found) == 2
    assert "rewrites the table" in found[0] and "blocking writes" in found[1]
