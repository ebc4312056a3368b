"""`make run` from a fresh clone: the same `make setup` steps, twice, on a new SQLite file."""

import os
import sqlite3
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def make_setup(database: Path) -> subprocess.CompletedProcess:
    # The audit heads beside the test's database, never in the checkout's var/ (where the
    # developer's own demo keeps its).
    anchors = database.parent / "audit-anchors"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "AUDIT_ANCHOR_DIR": str(anchors)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        ["make", "--no-print-directory", "setup"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def counts(database: Path) -> dict:
    with sqlite3.connect(database) as db:
        return {
            table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in [
                "portal_user",
                "customers_customer",
                "customers_dataasset",
                "customers_assetcustomer",
                "consent_purpose",
                "consent_datacategory",
                "customers_historicaldataasset",
            ]
        }


def test_make_setup_twice_on_a_fresh_database_changes_nothing_the_second_time(tmp_path):
    database = tmp_path / "fresh.sqlite3"

    first = make_setup(database)
    assert first.returncode == 0, first.stdout + first.stderr
    after_first = counts(database)
    second = make_setup(database)
    assert second.returncode == 0, second.stdout + second.stderr

    assert counts(database) == after_first
    # + dora and her Event attendees 2024, so an erasure has two owners.
    assert after_first["customers_dataasset"] == 4 + 1
    assert after_first["portal_user"] == 6 + 1
    assert "alice" in first.stdout and "password for all: demo" in first.stdout
    assert "0 assets created, 4 already there" in second.stdout


def test_make_run_prints_the_demo_accounts_once():
    planned = subprocess.run(
        ["make", "--dry-run", "--no-print-directory", "run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    seeding = [line for line in planned.splitlines() if "manage.py seed_demo" in line]
    printing = [line for line in seeding if "--no-accounts" not in line]
    assert len(seeding) == 2, planned  # load the data, then print the accounts
    assert len(printing) == 1 and "--accounts-only" in printing[0], planned
