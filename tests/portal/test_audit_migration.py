"""The upgrade to the sealed log verifies the old unkeyed chain first, then seals it."""

import hashlib
import json
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from portal.audit_verify import verify_audit

BEFORE = [("portal", "0011_idempotency_keys_and_scheduled_job_runs")]
AFTER = [("portal", "0012_audit_sealed_log")]
OLD_FIELDS = (
    "created_at", "actor_id", "actor_label", "action", "target_type", "target_id",
    "target_label", "asset_id", "detail", "channel", "request_id", "ip", "token_id",
    "previous_hash",
)  # fmt: skip


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def old_chain(apps, count: int, *, break_at: int | None = None) -> None:
    """Events as the previous version wrote them: SHA-256 chained, no key."""
    AuditEvent = apps.get_model("portal", "AuditEvent")
    previous = "0" * 64
    for n in range(count):
        values = {
            "created_at": datetime(2026, 1, 1, 12, n, tzinfo=UTC),
            "actor_id": None,
            "actor_label": "system",
            "action": "records.view",
            "target_type": "",
            "target_id": "",
            "target_label": "",
            "asset_id": None,
            "detail": {"n": n},
            "channel": "command",
            "request_id": "",
            "ip": None,
            "token_id": "",
            "previous_hash": previous,
        }
        content = {**values, "created_at": f"2026-01-01T12:{n:02d}:00.000000Z"}
        text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
        digest = hashlib.sha256(text.encode()).hexdigest()
        if n == break_at:
            values["detail"] = {"n": "rewritten"}
        AuditEvent.objects.create(**values, hash=digest)
        previous = digest


@pytest.fixture
def at_the_old_version(transactional_db):
    apps = migrate(BEFORE)
    yield apps
    with connection.cursor() as cursor:
        # The suite empties tables with TRUNCATE too; a broken chain would stop the upgrade.
        cursor.execute("TRUNCATE portal_auditevent CASCADE")
    migrate(migrate_latest_targets())


def migrate_latest_targets():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


@pytest.mark.postgres
def test_an_intact_old_chain_is_sealed_and_verifies(at_the_old_version):
    old_chain(at_the_old_version, 5)

    migrate(AFTER)

    result = verify_audit()
    assert (result.ok, result.checked, result.unsealed) == (True, 5, 0)


@pytest.mark.postgres
def test_a_broken_old_chain_stops_the_upgrade(at_the_old_version):
    old_chain(at_the_old_version, 5, break_at=2)

    with pytest.raises(RuntimeError, match="broken at event"):
        migrate(AFTER)
