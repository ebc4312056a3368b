"""The health checks behind ``/health/ready`` and ``/health/compliance``.

Built on django-health-check: each check is a ``HealthCheck`` dataclass whose ``run``
raises ``ServiceUnavailable`` with an operator-readable reason. The portal's own checks
read the database through ``sync_to_async(thread_sensitive=True)``: the request's own
thread and connection, so a probe never leaves a stray connection in a worker thread.

Readiness (may this process take traffic?) is only what the web process needs: database,
migrations, Redis and cache. The compliance checks (worker, beat, outbox, audit sealer,
audit anchor) say
whether the portal keeps its promises; they page an operator and never take web processes
out of the load balancer.
"""

import dataclasses
from datetime import datetime, timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from health_check.base import HealthCheck
from health_check.contrib.celery import Ping
from health_check.contrib.redis import Redis
from health_check.exceptions import ServiceUnavailable
from redis.asyncio import Redis as RedisClient

from portal.audit_seal import seal_lag_seconds
from portal.audit_verify import audit_anchors, verify_audit
from portal.models import Notification
from portal.scheduled_jobs import scheduled_jobs_overdue

# The oldest undelivered e-mail may wait this long (retries back off; past it, mail is stuck).
OUTBOX_MAX_AGE = timedelta(minutes=15)
# The audit anchor job runs daily; an hour of slack before its absence is an alarm.
AUDIT_ANCHOR_MAX_AGE = timedelta(hours=25)
# Events are sealed within 2 seconds under normal load; a burst (a bulk import writing
# 100,000 events) takes the sealer some seconds more, and a confidential report's event
# carries its time cut to the minute, so it looks up to 59 s older than it is. Past this,
# the sealer has stopped or cannot keep up: events written since have no link yet.
AUDIT_SEAL_MAX_LAG = timedelta(seconds=120)


def _redis_client() -> RedisClient:
    return RedisClient.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)


@dataclasses.dataclass
class PortalRedis(Redis):
    """Redis (broker and cache) answers a PING; nothing to check without ``REDIS_URL``
    (tasks then run in-process)."""

    client_factory: object = dataclasses.field(default=_redis_client, repr=False)

    def __repr__(self) -> str:
        return "Redis"

    async def run(self) -> None:
        if settings.REDIS_URL:
            await super().run()


@dataclasses.dataclass
class MigrationsApplied(HealthCheck):
    """Every migration of the code is applied to the database (a deploy that forgot
    ``migrate`` serves errors on every new column)."""

    async def run(self) -> None:
        unapplied = await sync_to_async(_unapplied_migrations, thread_sensitive=True)()
        if unapplied:
            raise ServiceUnavailable(f"{len(unapplied)} migrations not applied: {unapplied[0]}")


def _unapplied_migrations() -> list[str]:
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _ in plan]


@dataclasses.dataclass
class CeleryWorker(Ping):
    """A Celery worker consuming the portal's queue answered a ping (within a second);
    nothing to check when tasks run in-process (no ``REDIS_URL``)."""

    def __repr__(self) -> str:
        return "CeleryWorker"

    def run(self) -> None:
        if not settings.CELERY_TASK_ALWAYS_EAGER:
            super().run()


@dataclasses.dataclass
# The health checks' texts are for operators (monitoring), in English: "(ops)" below.


class BeatHeartbeat(HealthCheck):
    """Every beat job succeeded within twice its period (``scheduled_jobs_overdue``): beat
    stopped means no escalation, no grant expiry, no Art. 33 reminders."""

    async def run(self) -> None:
        overdue = await sync_to_async(scheduled_jobs_overdue, thread_sensitive=True)()
        if overdue:
            names = ", ".join(job["name"] for job in overdue)
            raise ServiceUnavailable(f"Scheduled jobs overdue: {names}")  # i18n: not shown (ops)


def outbox_oldest_pending(now: datetime | None = None) -> tuple[int, float]:
    """The outbox's backlog: (number of e-mails neither sent nor failed for good, age in
    seconds of the oldest of them, 0.0 when there is none)."""
    now = now or timezone.now()
    pending = Notification.objects.filter(sent_at__isnull=True, failed_at__isnull=True)
    oldest = pending.order_by("created_at").values_list("created_at", flat=True).first()
    age = (now - oldest).total_seconds() if oldest else 0.0
    return pending.count(), max(age, 0.0)


@dataclasses.dataclass
class OutboxBacklog(HealthCheck):
    """The oldest undelivered notification is younger than ``OUTBOX_MAX_AGE``."""

    async def run(self) -> None:
        count, age = await sync_to_async(outbox_oldest_pending, thread_sensitive=True)()
        if age > OUTBOX_MAX_AGE.total_seconds():
            raise ServiceUnavailable(
                f"{count} notifications undelivered, the oldest for {int(age // 60)} minutes"
            )


def audit_anchor_problem(now: datetime | None = None) -> str:
    """Why the audit trail is not vouched for, or "" when it is: the newest anchor must be
    younger than ``AUDIT_ANCHOR_MAX_AGE`` and ``verify_audit`` must pass from that newest
    checkpoint on (at most a day of events, whatever the log's length: the daily anchor
    job walks the whole log before it writes a checkpoint)."""
    now = now or timezone.now()
    try:
        anchors = audit_anchors()
    except ValueError as error:
        return str(error)
    if not anchors:
        return "No audit anchor written yet"  # i18n: not shown (ops)
    newest = anchors[-1].written_at
    if newest is None:
        return (
            "The newest audit anchor's"  # i18n: not shown (ops)
            f" time cannot be read ({anchors[-1].file})"
        )
    if now - newest > AUDIT_ANCHOR_MAX_AGE:
        return f"Newest audit anchor is from {newest:%Y-%m-%d %H:%M} UTC"  # i18n: not shown (ops)
    try:
        result = verify_audit(from_checkpoint=True)
    except DatabaseError as error:
        return f"Audit trail could not be read: {type(error).__name__}"  # i18n: not shown (ops)
    if not result.ok:
        return f"Audit trail broken at event #{result.first_bad}"  # i18n: not shown (ops)
    return ""


@dataclasses.dataclass
class AuditAnchor(HealthCheck):
    """The audit chain verifies and was anchored within ``AUDIT_ANCHOR_MAX_AGE``."""

    timeout = timedelta(seconds=60)

    async def run(self) -> None:
        problem = await sync_to_async(audit_anchor_problem, thread_sensitive=True)()
        if problem:
            raise ServiceUnavailable(problem)


@dataclasses.dataclass
class AuditSealer(HealthCheck):
    """The oldest audit event not sealed yet has waited less than ``AUDIT_SEAL_MAX_LAG``
    (``seal_lag_seconds``: one read of the partial index of the unsealed)."""

    async def run(self) -> None:
        lag = await sync_to_async(seal_lag_seconds, thread_sensitive=True)()
        if lag > AUDIT_SEAL_MAX_LAG.total_seconds():
            raise ServiceUnavailable(
                f"Audit events wait {int(lag)}"  # i18n: not shown (ops)
                " s to be sealed"
            )


READY_CHECKS = (
    "health_check.checks.Database",
    MigrationsApplied,
    PortalRedis,
    "health_check.checks.Cache",
)
COMPLIANCE_CHECKS = (CeleryWorker, BeatHeartbeat, OutboxBacklog, AuditSealer, AuditAnchor)
