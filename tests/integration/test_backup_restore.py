"""Backup and restore, proven at demo size: ``backup_portal`` on the demo data, then
``restore_portal`` (a separate process, as an operator runs it) into a fresh database
verifies the audit chain against the backed-up anchors and finds every grant, consent and
incident as before."""

import os
import subprocess
import sys
import uuid
from io import StringIO
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from consent.models import ConsentRecord, ConsentState
from customers.models.access import AccessGrant
from incidents.models import Incident
from portal.services import audit_anchor_write
from tests.integration.conftest import ROOT, SECRET_KEY, database_url

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# What "as before" means: each row's identity and the fields a restore must not lose.
COMPARED = {
    AccessGrant: ["id", "user_id", "asset_id", "expires_at", "revoked_at"],
    ConsentRecord: ["id", "customer_id", "purpose_id", "status", "recorded_at"],
    ConsentState: ["id", "customer_id", "purpose_id", "status"],
    Incident: ["id", "reference", "status", "reported_at", "closed_at"],
}


def rows_in(cursor, model, fields) -> list[tuple]:
    columns = ", ".join(model._meta.get_field(name).column for name in fields)
    cursor.execute(f"SELECT {columns} FROM {model._meta.db_table} ORDER BY id")  # noqa: S608
    return cursor.fetchall()


@pytest.fixture
def fresh_database():
    """An empty PostgreSQL database next to the test database, dropped afterwards."""
    db = connection.settings_dict
    name = f"{db['NAME']}_restore_{uuid.uuid4().hex[:8]}"
    admin = {"dbname": "postgres", "user": db["USER"], "host": db["HOST"] or "127.0.0.1"}
    admin |= {"port": db["PORT"] or 5432, "password": db["PASSWORD"] or None}
    with psycopg.connect(**admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(**admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def restore_in_a_new_process(backup_dir: Path, database: str, anchors: Path, user: str = ""):
    url = database_url().rsplit("/", 1)[0] + f"/{database}"
    if user:  # the same server as another role (trust authentication on this machine)
        url = url.replace("://" + connection.settings_dict["USER"] + "@", f"://{user}@", 1)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": url,
        "AUDIT_ANCHOR_DIR": str(anchors),
        # The audit keys live outside the database and the backup: the restored instance
        # is given the same ones, as an operator would.
        "AUDIT_KEYS": settings.AUDIT_KEYS,
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.run(
        [sys.executable, "manage.py", "restore_portal", str(backup_dir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_restored_demo_verifies_its_audit_trail_and_has_every_row(tmp_path, fresh_database):
    call_command("seed_demo", stdout=StringIO())
    anchor = audit_anchor_write(actor=None).anchor
    assert anchor is not None
    backup_dir = tmp_path / "backup"
    out = StringIO()

    call_command("backup_portal", str(backup_dir), stdout=out)

    assert "audit anchors" in out.getvalue()
    assert (backup_dir / "portal.dump").stat().st_size > 0
    result = restore_in_a_new_process(backup_dir, fresh_database, tmp_path / "anchors")
    assert result.returncode == 0, result.stderr
    assert "audit trail intact" in result.stdout and "1 anchors" in result.stdout

    db = connection.settings_dict
    restored = psycopg.connect(
        dbname=fresh_database,
        user=db["USER"],
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        password=db["PASSWORD"] or None,
    )
    with restored, restored.cursor() as after, connection.cursor() as before:
        for model, fields in COMPARED.items():
            original = rows_in(before, model, fields)
            assert original, f"the demo has {model.__name__} rows"
            assert rows_in(after, model, fields) == original, model.__name__


def test_a_restore_refuses_a_database_that_is_not_empty(tmp_path):
    call_command("seed_demo", stdout=StringIO())
    call_command("backup_portal", str(tmp_path / "backup"), stdout=StringIO())

    with pytest.raises(CommandError, match="not empty"):
        call_command("restore_portal", str(tmp_path / "backup"))
    with pytest.raises(CommandError, match="already holds a backup"):
        call_command("backup_portal", str(tmp_path / "backup"))


@pytest.fixture
def database_of_another_role():
    """An empty database owned by a role that is not a superuser, in which an administrator
    created pg_trgm beforehand (the route docs/operations.md gives); dropped afterwards."""
    db = connection.settings_dict
    suffix = uuid.uuid4().hex[:8]
    role, name = f"portal_restorer_{suffix}", f"{db['NAME']}_owned_{suffix}"
    admin = {"user": db["USER"], "host": db["HOST"] or "127.0.0.1"}
    admin |= {"port": db["PORT"] or 5432, "password": db["PASSWORD"] or None}
    with psycopg.connect(dbname="postgres", **admin, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN')
        conn.execute(f'CREATE DATABASE "{name}" OWNER "{role}"')
    with psycopg.connect(dbname=name, **admin, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION pg_trgm")
    yield role, name
    with psycopg.connect(dbname="postgres", **admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_a_restore_by_the_database_owner_takes_the_extension_an_administrator_created(
    tmp_path, database_of_another_role
):
    role, database = database_of_another_role
    call_command("seed_demo", stdout=StringIO())
    audit_anchor_write(actor=None)
    call_command("backup_portal", str(tmp_path / "backup"), stdout=StringIO())

    result = restore_in_a_new_process(tmp_path / "backup", database, tmp_path / "anchors", role)

    assert result.returncode == 0, result.stderr
    assert "audit trail intact" in result.stdout
