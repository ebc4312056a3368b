"""Celery tasks of the portal core. Thin: reload by id, bail out if done, call a service."""

import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from portal.audit import audit_channel
from portal.notifications import notification_deliver, notification_outbox_sweep
from portal.services import audit_anchor_write

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=settings.NOTIFICATION_MAX_RETRIES)
def deliver_notifications(self, ids: list[int]) -> int:
    """Send these notifications' e-mails, each at most once per claim (see
    ``notification_deliver``); returns how many failed.

    Rows that failed are retried together, after the longest backoff the service recorded on
    them; after the last retry they stay pending and the outbox sweep keeps trying at the
    capped backoff. Rows sent meanwhile (by another worker) are skipped by the claim. Rows
    that failed for good (a 5xx refusal, a message that cannot be built) are not retried:
    the service marked them failed and told compliance.
    """
    failures = notification_deliver(notification_ids=ids).failed
    if not failures:
        return 0
    if self.request.is_eager or self.request.retries >= self.max_retries:
        # Eager (local demo, unit tests): no retry in-process; the rows keep their error.
        logger.error("%d notification(s) still failing; the sweep will retry.", len(failures))
        return len(failures)
    retry_at = max(failure.retry_at for failure in failures)
    raise self.retry(
        args=[[failure.notification_id for failure in failures]],
        countdown=max(0.0, (retry_at - timezone.now()).total_seconds()),
        exc=failures[0],
    )


@shared_task
def sweep_notification_outbox() -> int:
    """Beat job: re-queue notifications still pending (see ``notification_outbox_sweep``)."""
    return notification_outbox_sweep()


@shared_task
def audit_anchor_daily() -> dict:
    """Beat job: verify the audit chain and anchor its head outside the database."""
    with audit_channel("task"):
        result = audit_anchor_write(actor=None)
    anchor = result.anchor
    return {
        "ok": result.verification.ok,
        "checked": result.verification.checked,
        "first_bad": result.verification.first_bad,
        "anchored_event": anchor.event_id if anchor else None,
    }
