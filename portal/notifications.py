"""Notifications: the one way any part of the portal tells people something.

How a notification travels (an outbox):

1. ``notify`` writes one ``Notification`` row per recipient in the caller's transaction and
   queues ``portal.tasks.deliver_notifications`` on commit, in batches of ``DELIVERY_BATCH``.
   A rollback leaves no row and sends nothing; a broker that is down leaves the rows pending
   (a warning, never a 500).
2. ``notification_deliver`` (run by the task) claims the rows with a conditional UPDATE, so
   only one worker sends each; sends each e-mail with a ``Message-ID`` derived from the
   row's id (a resent copy is recognisable as the same message); marks it sent. A failure
   releases the claim and records ``attempts``, ``last_error`` and ``next_attempt_at``
   (exponential backoff); the task retries those rows then.
3. ``notification_outbox_sweep`` (celery beat, every ``NOTIFICATION_SWEEP_INTERVAL``)
   re-queues every row still pending after ``NOTIFICATION_SWEEP_AGE`` whose backoff has
   passed, including rows whose claim is older than ``NOTIFICATION_CLAIM_TIMEOUT`` (the
   worker holding it died mid-send). Nothing stays pending while Redis, a worker and the
   SMTP server are up.

Delivery is at least once: a worker killed between the SMTP server accepting a message and
the row being marked sent leaves a claim that goes stale, and the row is sent again. That is
at most one message per worker process in flight, and the copies share a Message-ID.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from portal.models import Notification

logger = logging.getLogger(__name__)


def notify(
    *,
    users: Iterable,
    kind: str,
    subject: str,
    body: str = "",
    link: str = "",
    target: models.Model | None = None,
) -> list[Notification]:
    """Tell each of ``users`` (duplicates and inactive accounts dropped) about an event.

    Guarantees: the rows are written in the caller's transaction and delivery is queued only
    once it commits; if queuing fails the rows stay pending and the outbox sweep sends them.
    ``subject`` and ``body`` are what the recipient reads in the inbox and the e-mail; they
    must never contain what the recipient may not see (a confidential reporter, records).
    """
    recipients = {user.pk: user for user in users if user is not None and user.is_active}
    target_type, target_id = "", ""
    if target is not None:
        target_type = f"{target._meta.app_label}.{target._meta.model_name}"
        target_id = str(target.pk)
    rows = [
        Notification(
            recipient=user,
            kind=kind,
            subject=subject[:255],
            body=body,
            link=link,
            target_type=target_type,
            target_id=target_id,
        )
        for user in recipients.values()
    ]
    rows = bulk_create_with_history(rows, Notification)
    ids = [row.pk for row in rows]
    if ids:
        transaction.on_commit(lambda: queue_delivery(ids))
    return rows


# Rows per delivery task: one message and one SMTP connection serve a whole batch, while
# enough tasks remain for every worker process to take a share of a large event.
DELIVERY_BATCH = 25


def queue_delivery(ids: list[int]) -> int:
    """Hand the rows to Celery in batches; returns how many rows were queued.

    A broker that is down must not break the caller: the rows stay pending and the outbox
    sweep delivers them later. The first failure stops the loop, so a dead broker costs one
    bounded publish attempt (``CELERY_TASK_PUBLISH_RETRY_POLICY``), not one per batch.
    """
    from portal.tasks import deliver_notifications

    for start in range(0, len(ids), DELIVERY_BATCH):
        try:
            deliver_notifications.delay(ids[start : start + DELIVERY_BATCH])
        except Exception as error:  # noqa: BLE001 - any broker failure leaves the row pending
            logger.warning(
                "Could not queue %d notification(s) (%s); the outbox sweep will deliver them.",
                len(ids) - start,
                error,
            )
            return start
    return len(ids)


class DeliveryFailed(Exception):
    """The e-mail could not be sent; the row is pending again until ``retry_at``."""

    def __init__(self, message: str, *, notification_id: int, retry_at: datetime):
        super().__init__(message)
        self.notification_id = notification_id
        self.retry_at = retry_at


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after the ``attempts``-th failed send, capped."""
    seconds = settings.NOTIFICATION_RETRY_BACKOFF * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, settings.NOTIFICATION_RETRY_BACKOFF_MAX))


def message_id(notification: Notification) -> str:
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "compliance-portal"
    return f"<notification-{notification.pk}@{domain}>"


def notification_email(notification: Notification, connection=None) -> EmailMessage:
    body = notification.body
    if notification.link:
        body = f"{body}\n\nOpen it in the portal: {settings.PORTAL_URL}{notification.link}"
    return EmailMessage(
        subject=notification.subject,
        body=body.strip(),
        to=[notification.recipient.email],
        headers={"Message-ID": message_id(notification)},
        connection=connection,
    )


def _claimable() -> Q:
    """Pending and not held by a live worker (no claim, or one older than the timeout)."""
    stale = timezone.now() - timedelta(seconds=settings.NOTIFICATION_CLAIM_TIMEOUT)
    return Q(sent_at__isnull=True) & (Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale))


def _claim(ids: list[int], claimed_at: datetime) -> list[int]:
    """Claim the claimable rows among ``ids`` in one conditional UPDATE; returns their ids.

    Raw SQL because the ORM's ``update()`` cannot say which rows it changed (RETURNING), and
    re-reading by claim time could mistake another worker's simultaneous claim for ours.
    """
    if not ids:
        return []
    stale = claimed_at - timedelta(seconds=settings.NOTIFICATION_CLAIM_TIMEOUT)
    table = connection.ops.quote_name(Notification._meta.db_table)
    placeholders = ", ".join(["%s"] * len(ids))
    adapt = connection.ops.adapt_datetimefield_value  # as the ORM stores it (SQLite: text)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET claimed_at = %s, attempts = attempts + 1 "  # noqa: S608
            f"WHERE id IN ({placeholders}) AND sent_at IS NULL "
            "AND (claimed_at IS NULL OR claimed_at < %s) RETURNING id",
            [adapt(claimed_at), *ids, adapt(stale)],
        )
        return sorted(row[0] for row in cursor.fetchall())


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    failed: list[DeliveryFailed] = field(default_factory=list)


def notification_deliver(*, notification_ids: list[int]) -> DeliveryReport:
    """Send the e-mails of those rows that are pending and not held by another worker.

    Guarantees: one conditional UPDATE claims the rows, so exactly one worker holds each; a
    row with ``sent_at`` is never sent again; each claimed row is attempted (over one SMTP
    connection) and marked sent right after the server accepts it, so a worker killed
    mid-batch has at most one row sent but not marked (sent again once its claim is stale).
    A failure releases that row's claim and records ``attempts``, ``last_error`` and
    ``next_attempt_at``. No transaction around the send: claims must be visible to other
    workers at once, and an SMTP conversation must not hold a transaction open.
    """
    report = DeliveryReport()
    claimed_at = timezone.now()
    claimed = _claim(list(notification_ids), claimed_at)
    if not claimed:
        return report
    rows = Notification.objects.select_related("recipient").filter(pk__in=claimed).order_by("pk")
    smtp = get_connection()
    try:
        for notification in rows:
            if not notification.recipient.email:
                # Nowhere to send it: the inbox is the delivery. Not an error to retry forever.
                Notification.objects.filter(pk=notification.pk).update(
                    sent_at=timezone.now(), last_error="The recipient has no e-mail address."
                )
                continue
            try:
                smtp.open()  # no-op while open; reconnects after a failure closed it
                notification_email(notification, smtp).send()
            except Exception as error:  # noqa: BLE001 - any failure: record, release, retry
                smtp.close()  # a broken session must not fail the next row too
                report.failed.append(_record_failure(notification, claimed_at, error))
                continue
            Notification.objects.filter(pk=notification.pk, sent_at__isnull=True).update(
                sent_at=timezone.now(), last_error="", next_attempt_at=None
            )
            report.sent.append(notification.pk)
    finally:
        smtp.close()
    return report


def _record_failure(notification: Notification, claimed_at, error: Exception) -> DeliveryFailed:
    retry_at = timezone.now() + retry_delay(notification.attempts)
    reason = f"{type(error).__name__}: {error}"[:2000]
    Notification.objects.filter(
        pk=notification.pk, claimed_at=claimed_at, sent_at__isnull=True
    ).update(claimed_at=None, last_error=reason, next_attempt_at=retry_at)
    return DeliveryFailed(reason, notification_id=notification.pk, retry_at=retry_at)


def notification_outbox_sweep(*, limit: int | None = None) -> int:
    """Re-queue pending notifications older than ``NOTIFICATION_SWEEP_AGE``; returns how many.

    Guarantees: a row whose task was never queued (broker down), was lost, or whose worker
    died mid-send is queued again once its backoff has passed. Each queued row is given a
    new ``next_attempt_at`` one sweep age ahead, so a row still waiting in a long queue is not
    queued again every sweep; the claim makes any duplicate task harmless anyway.
    """
    now = timezone.now()
    due = (
        Notification.objects.filter(
            _claimable(), created_at__lte=now - timedelta(seconds=settings.NOTIFICATION_SWEEP_AGE)
        )
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("created_at", "pk")
    )
    ids = list(due.values_list("pk", flat=True)[: limit or settings.NOTIFICATION_SWEEP_BATCH])
    if not ids:
        return 0
    Notification.objects.filter(pk__in=ids).update(
        next_attempt_at=now + timedelta(seconds=settings.NOTIFICATION_SWEEP_AGE)
    )
    queued = queue_delivery(ids)
    logger.info("Outbox sweep re-queued %d of %d pending notification(s).", queued, len(ids))
    return queued


def notification_mark_read(*, actor, notification: Notification) -> Notification:
    """Mark ``actor``'s own notification read; reading it again keeps the first time.

    The caller loads the row with ``get_notification_for_user`` (404 for anyone else's); the
    recipient filter here is the second lock on that door.
    """
    Notification.objects.filter(pk=notification.pk, recipient=actor, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    notification.refresh_from_db(fields=["read_at"])
    return notification


def notification_mark_all_read(*, actor) -> int:
    """Mark every unread notification of ``actor`` read; returns how many changed."""
    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(
        read_at=timezone.now()
    )
