"""Notifications: the one way any part of the portal tells people something.

How a notification travels (an outbox):

1. ``notify`` writes one ``Notification`` row per recipient in the caller's transaction and
   queues ``portal.tasks.deliver_notification`` on commit. A rollback leaves no row and
   sends nothing; a broker that is down leaves the rows pending (a warning, never a 500).
2. ``notification_deliver`` (run by the task) claims the row with a conditional UPDATE, so
   only one worker sends it; sends the e-mail with a ``Message-ID`` derived from the row's id
   (a resent copy is recognisable as the same message); marks it sent. A failure releases the
   claim and records ``attempts``, ``last_error`` and ``next_attempt_at`` (exponential
   backoff); the task retries at that time.
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
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone

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
    for row in rows:
        row.save()
    ids = [row.pk for row in rows]
    if ids:
        transaction.on_commit(lambda: queue_delivery(ids))
    return rows


def queue_delivery(ids: list[int]) -> int:
    """Hand the rows to Celery; returns how many were queued.

    A broker that is down must not break the caller: the rows stay pending and the outbox
    sweep delivers them later. The first failure stops the loop, so a dead broker costs one
    bounded publish attempt (``CELERY_TASK_PUBLISH_RETRY_POLICY``), not one per row.
    """
    from portal.tasks import deliver_notification

    for queued, pk in enumerate(ids):
        try:
            deliver_notification.delay(pk)
        except Exception as error:  # noqa: BLE001 - any broker failure leaves the row pending
            logger.warning(
                "Could not queue %d notification(s) (%s); the outbox sweep will deliver them.",
                len(ids) - queued,
                error,
            )
            return queued
    return len(ids)


class DeliveryFailed(Exception):
    """The e-mail could not be sent; the row is pending again until ``retry_at``."""

    def __init__(self, message: str, *, retry_at: datetime):
        super().__init__(message)
        self.retry_at = retry_at


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after the ``attempts``-th failed send, capped."""
    seconds = settings.NOTIFICATION_RETRY_BACKOFF * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, settings.NOTIFICATION_RETRY_BACKOFF_MAX))


def message_id(notification: Notification) -> str:
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "compliance-portal"
    return f"<notification-{notification.pk}@{domain}>"


def notification_email(notification: Notification) -> EmailMessage:
    body = notification.body
    if notification.link:
        body = f"{body}\n\nOpen it in the portal: {settings.PORTAL_URL}{notification.link}"
    return EmailMessage(
        subject=notification.subject,
        body=body.strip(),
        to=[notification.recipient.email],
        headers={"Message-ID": message_id(notification)},
    )


def _claimable() -> Q:
    """Pending and not held by a live worker (no claim, or one older than the timeout)."""
    stale = timezone.now() - timedelta(seconds=settings.NOTIFICATION_CLAIM_TIMEOUT)
    return Q(sent_at__isnull=True) & (Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale))


def notification_deliver(*, notification_id: int) -> bool:
    """Send one notification's e-mail unless it is sent or another worker holds it.

    Guarantees: the conditional UPDATE lets exactly one worker claim a pending row; a row
    with ``sent_at`` is never sent again; a failure releases the claim, records the attempt
    and raises ``DeliveryFailed`` with the time of the next try. Returns whether it sent.
    No transaction around the send: the claim must be visible to other workers at once, and
    an SMTP conversation must not hold a database transaction open.
    """
    claimed_at = timezone.now()
    claimed = Notification.objects.filter(_claimable(), pk=notification_id).update(
        claimed_at=claimed_at, attempts=F("attempts") + 1
    )
    if not claimed:
        return False
    notification = Notification.objects.select_related("recipient").get(pk=notification_id)
    if not notification.recipient.email:
        # Nowhere to send it: the inbox is the delivery. Not an error to retry forever.
        Notification.objects.filter(pk=notification_id).update(
            sent_at=timezone.now(), last_error="The recipient has no e-mail address."
        )
        return False
    try:
        notification_email(notification).send()
    except Exception as error:  # noqa: BLE001 - any failure: record it, release, retry later
        retry_at = timezone.now() + retry_delay(notification.attempts)
        reason = f"{type(error).__name__}: {error}"[:2000]
        Notification.objects.filter(
            pk=notification_id, claimed_at=claimed_at, sent_at__isnull=True
        ).update(claimed_at=None, last_error=reason, next_attempt_at=retry_at)
        raise DeliveryFailed(reason, retry_at=retry_at) from error
    Notification.objects.filter(pk=notification_id, sent_at__isnull=True).update(
        sent_at=timezone.now(), last_error="", next_attempt_at=None
    )
    return True


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
