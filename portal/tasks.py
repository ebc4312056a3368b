"""Celery tasks of the portal core. Thin: reload by id, bail out if done, call a service."""

import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from portal.notifications import (
    DeliveryFailed,
    notification_deliver,
    notification_outbox_sweep,
)

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=settings.NOTIFICATION_MAX_RETRIES)
def deliver_notification(self, pk: int) -> bool:
    """Send one notification's e-mail, at most once per claim (see ``notification_deliver``).

    A failed send is retried with the backoff the service recorded on the row; after the
    last retry the row stays pending and the outbox sweep keeps trying at the capped backoff.
    """
    try:
        return notification_deliver(notification_id=pk)
    except DeliveryFailed as failure:
        if self.request.is_eager or self.request.retries >= self.max_retries:
            # Eager (local demo, unit tests): no retry in-process; the row keeps its error.
            logger.error("Notification %s still failing (%s); the sweep will retry.", pk, failure)
            return False
        countdown = max(0.0, (failure.retry_at - timezone.now()).total_seconds())
        raise self.retry(countdown=countdown, exc=failure) from failure


@shared_task
def sweep_notification_outbox() -> int:
    """Beat job: re-queue notifications still pending (see ``notification_outbox_sweep``)."""
    return notification_outbox_sweep()
