"""Backup and restore at the scale data size: how long ``backup_portal`` and
``restore_portal`` (which includes ``verify_audit`` and the row-count check) take, and how
big the dump is.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench_backup \\
        .venv/bin/python benchmarks/backup_restore.py

The database is created, migrated and loaded with ``seed_scale`` if it holds no scale data
yet, anchored with ``audit_anchor``; the restore goes into a new database next to it,
dropped at the end. Each command runs as its own process, as an operator runs it.
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench_backup")
ADMIN_URL = URL.rsplit("/", 1)[0] + "/postgres"


def admin(statement: sql.Composable) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(statement)


def manage(*args: str, url: str, anchors: Path) -> tuple[float, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "benchmark-only-" + "b" * 40),
        "DATABASE_URL": url,
        "AUDIT_ANCHOR_DIR": str(anchors),
        "REDIS_URL": "",
        "LOG_LEVEL": "WARNING",
    }
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return time.monotonic() - started, result.stdout.strip()


def has_scale_data() -> bool:
    with psycopg.connect(URL) as conn:
        try:
            row = conn.execute("SELECT count(*) FROM portal_user WHERE username = 'scale-admin'")
        except psycopg.errors.UndefinedTable:
            return False
        return bool(row.fetchone()[0])


def main() -> None:
    name = URL.rsplit("/", 1)[1]
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    if not exists:
        admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    work = Path(tempfile.mkdtemp(prefix="portal-backup-bench-"))
    anchors = work / "anchors"
    manage("migrate", "-v0", url=URL, anchors=anchors)
    if not has_scale_data():
        seconds, _ = manage("seed_scale", url=URL, anchors=anchors)
        print(f"seed_scale: {seconds:.0f} s")
    manage("audit_anchor", url=URL, anchors=anchors)

    seconds, output = manage("backup_portal", str(work / "backup"), url=URL, anchors=anchors)
    size = (work / "backup" / "portal.dump").stat().st_size
    print(f"backup_portal: {seconds:.1f} s wall, dump {size / 1e6:.0f} MB\n  {output}")

    target = f"{name}_restored"
    admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(target)))
    admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target)))
    try:
        seconds, output = manage(
            "restore_portal",
            str(work / "backup"),
            url=URL.rsplit("/", 1)[0] + f"/{target}",
            anchors=work / "restored-anchors",
        )
        print(f"restore_portal (with verify_audit): {seconds:.1f} s wall\n  {output}")
    finally:
        admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(target)))


if __name__ == "__main__":
    main()
