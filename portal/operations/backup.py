"""Backup and restore of the whole portal: the PostgreSQL database (``pg_dump`` custom
format) plus the audit anchors, the files outside the database that vouch for its audit
chain.

A backup directory holds ``portal.dump``, ``audit-anchors/`` and ``manifest.json`` (when,
the row count of every table, the newest audit event). The anchors are copied first and
the dump and counts come from one exported snapshot afterwards: every anchored event is in
the dump, and the counts are exactly the dump's.

A restore loads the dump into an empty database, puts the anchors into
``AUDIT_ANCHOR_DIR``, runs ``verify_audit`` and compares every table's rows with the
manifest. Used by ``manage.py backup_portal`` and ``manage.py restore_portal``.
"""

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from django.apps import apps
from django.conf import settings
from django.db import connection
from django.utils import timezone

from portal.audit_verify import AuditVerification, verify_audit

DUMP = "portal.dump"
ANCHORS = "audit-anchors"
MANIFEST = "manifest.json"


class BackupError(Exception):
    """A backup or restore could not be made; the message says why, for an operator."""


@dataclass
class RestoreReport:
    verification: AuditVerification
    # table: (rows in the manifest, rows restored), only the tables that differ
    differences: dict[str, tuple[int, int]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.verification.ok and not self.differences


def _conninfo() -> dict[str, Any]:
    db = settings.DATABASES["default"]
    return {
        "dbname": db["NAME"],
        "user": db["USER"] or None,
        "password": db["PASSWORD"] or None,
        "host": db["HOST"] or None,
        "port": db["PORT"] or None,
    }


def _pg_env(info: dict[str, Any]) -> dict[str, str]:
    env = dict(os.environ)
    names = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD"}
    env.update({names[key]: str(info[key]) for key in names if info[key]})
    env["PGDATABASE"] = info["dbname"]
    return env


def _tables() -> list[str]:
    """Every table of the portal's models (auto-created many-to-many tables included)."""
    return sorted({model._meta.db_table for model in apps.get_models(include_auto_created=True)})


def _row_counts(cursor: Any) -> dict[str, int]:
    counts = {}
    for table in _tables():
        cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 - our own table names
        counts[table] = cursor.fetchone()[0]
    return counts


def _run(command: list[str], env: dict[str, str]) -> None:
    try:
        subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    except FileNotFoundError as error:
        raise BackupError(f"{command[0]} is not installed (PostgreSQL client tools).") from error
    except subprocess.CalledProcessError as error:
        raise BackupError(f"{command[0]} failed: {error.stderr.strip()[:500]}") from error


def backup(directory: Path) -> dict[str, Any]:
    """Write a consistent backup into ``directory`` (created; must not hold a backup yet).

    Out: the manifest (``created_at`` ISO UTC, ``seconds`` taken, ``tables`` row counts,
    ``last_audit_event_id``, ``anchors`` copied). Raises ``BackupError`` (not PostgreSQL,
    directory already used, pg_dump missing or failing).
    """
    if connection.vendor != "postgresql":
        raise BackupError(
            "Backups need PostgreSQL (pg_dump);"  # i18n: not shown (ops)
            " this database is not."
        )
    directory = Path(directory)
    if (directory / MANIFEST).exists():
        raise BackupError(f"{directory} already holds a backup: choose a new directory.")
    started = time.monotonic()
    anchors = directory / ANCHORS
    anchors.mkdir(parents=True, exist_ok=True)
    source = Path(settings.AUDIT_ANCHOR_DIR)
    copied = sorted(source.glob("anchor-*.json")) if source.is_dir() else []
    for anchor in copied:
        shutil.copy2(anchor, anchors / anchor.name)
    info = _conninfo()
    with psycopg.connect(**{k: v for k, v in info.items() if v is not None}) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction(), conn.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            counts = _row_counts(cursor)
            cursor.execute('SELECT coalesce(max(id), 0) FROM "portal_auditevent"')
            last_event = cursor.fetchone()[0]
            # The dump sees exactly what the counts saw: the snapshot this transaction holds.
            _run(
                ["pg_dump", "--format=custom", f"--snapshot={snapshot}", "--no-owner"]
                + [f"--file={directory / DUMP}"],
                _pg_env(info),
            )
    manifest = {
        "created_at": timezone.now().isoformat(),
        "seconds": round(time.monotonic() - started, 1),
        "tables": counts,
        "last_audit_event_id": last_event,
        "anchors": len(copied),
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


def restore(directory: Path) -> RestoreReport:
    """Load the backup in ``directory`` into the configured database, which must be empty
    (no table of the portal yet: a restore never overwrites a live portal), put its anchors
    into ``AUDIT_ANCHOR_DIR``, then verify the audit chain against them and every table's
    row count against the manifest.

    Raises ``BackupError`` (no backup there, database not empty, pg_restore failing).
    """
    directory = Path(directory)
    if not (directory / MANIFEST).is_file() or not (directory / DUMP).is_file():
        raise BackupError(f"{directory} holds no backup ({MANIFEST} and {DUMP}).")
    if connection.vendor != "postgresql":
        raise BackupError(
            "Restores need PostgreSQL (pg_restore);"  # i18n: not shown (ops)
            " this database is not."
        )
    if "django_migrations" in connection.introspection.table_names():
        raise BackupError(
            "The database is not empty:"  # i18n: not shown (ops)
            " restore into a new, empty database."
        )
    started = time.monotonic()
    manifest = json.loads((directory / MANIFEST).read_text())
    _run(
        # --no-comments: the dump's COMMENT ON EXTENSION (pg_trgm) may only be written by
        # the extension's owner, and an administrator may have created it beforehand.
        ["pg_restore", "--no-owner", "--no-privileges", "--no-comments", "--exit-on-error"]
        + [f"--dbname={_conninfo()['dbname']}", str(directory / DUMP)],
        _pg_env(_conninfo()),
    )
    target = Path(settings.AUDIT_ANCHOR_DIR)
    target.mkdir(parents=True, exist_ok=True)
    for anchor in sorted((directory / ANCHORS).glob("anchor-*.json")):
        shutil.copy2(anchor, target / anchor.name)
    with connection.cursor() as cursor:
        restored = _row_counts(cursor)
    differences = {
        table: (rows, restored.get(table, 0))
        for table, rows in manifest["tables"].items()
        if restored.get(table, 0) != rows
    }
    return RestoreReport(
        verification=verify_audit(),
        differences=differences,
        seconds=round(time.monotonic() - started, 1),
    )
