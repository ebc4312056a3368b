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


def old_chain(
    apps, count: int, *, break_at: int | None = None, varied: bool = False
) -> tuple[int, str]:
    """Events as the previous version wrote them: SHA-256 chained, no key. ``varied``: as
    the demo's are, with actors, addresses, tokens, non-ASCII labels and nested details.
    Returns the last event's id and hash."""
    AuditEvent = apps.get_model("portal", "AuditEvent")
    actor = apps.get_model("portal", "User").objects.create(username="olivia") if varied else None
    previous = "0" * 64
    for n in range(count):
        values = {
            "created_at": datetime(2026, 1, 1, 12, n, 5, 123 * n, tzinfo=UTC),
            "actor_id": actor.pk if actor and n % 2 else None,
            "actor_label": "olivia" if actor and n % 2 else "system",
            "action": "records.view",
            "target_type": "customers.dataasset" if varied else "",
            "target_id": str(n) if varied else "",
            "target_label": f'Kundenliste Zürich \u2028 «{n}» "q"' if varied else "",
            "asset_id": n if varied else None,
            "detail": {"n": n, "rows": [1, 2.5, None], "why": {"é": True}} if varied else {"n": n},
            "channel": "web" if varied else "command",
            "request_id": f"req-{n:04d}" if varied else "",
            "ip": ("10.0.0.7" if n % 2 else "2001:db8::1") if varied else None,
            "token_id": "a1b2c3d4e5f6" if varied else "",
            "previous_hash": previous,
        }
        content = {**values, "created_at": f"2026-01-01T12:{n:02d}:05.{123 * n:06d}Z"}
        text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
        digest = hashlib.sha256(text.encode()).hexdigest()
        if n == break_at:
            values["detail"] = {"n": "rewritten"}
        last = AuditEvent.objects.create(**values, hash=digest)
        previous = digest
    return last.pk, previous


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


def old_anchor(settings, event_id: int, digest: str) -> None:
    """An anchor file as the previous version wrote it: no position, no signature."""
    settings.AUDIT_ANCHOR_DIR.mkdir(parents=True, exist_ok=True)
    anchor = {"event_id": event_id, "hash": digest, "anchored_at": "2026-01-02T03:00:00+00:00"}
    (settings.AUDIT_ANCHOR_DIR / f"anchor-20260102T030000Z-{event_id}.json").write_text(
        json.dumps(anchor)
    )


@pytest.mark.postgres
def test_demo_like_events_and_their_old_anchor_verify_after_the_upgrade(
    at_the_old_version, settings
):
    old_anchor(settings, *old_chain(at_the_old_version, 12, varied=True))

    migrate(AFTER)

    result = verify_audit()
    assert (result.ok, result.checked, result.unsealed) == (True, 12, 0)


@pytest.mark.postgres
def test_an_old_anchor_that_no_longer_matches_stops_the_upgrade(at_the_old_version, settings):
    last_id, _ = old_chain(at_the_old_version, 5)
    old_anchor(settings, last_id, "f" * 64)

    with pytest.raises(RuntimeError, match="no longer holds the head anchored"):
        migrate(AFTER)
