"""Celery tasks of the portal core. Thin: reload by id, bail out if done, call a service."""

import logging
from datetime import datetime

from celery import shared_task
from celery.exceptions import Retry
from django.conf import settings
from django.utils import timezone

from portal.audit import audit_channel
from portal.audit_seal import seal_pending
from portal.errors import NotAllowed
from portal.idempotency import idempotency_keys_prune
from portal.models import User
from portal.notification_delivery import (
    DeliveryInterrupted,
    notification_deliver,
    notification_deliver_abandon,
)
from portal.notifications import notification_outbox_sweep
from portal.scheduled_jobs import scheduled_jobs_catch_up
from portal.services import AuditAnchorResult, audit_anchor_write
from portal.sessions import SessionStore

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=settings.NOTIFICATION_MAX_RETRIES)
def deliver_notifications(
    self, ids: list[int], sent_unrecorded: list[int] | None = None, claim: str | None = None
) -> int:
    """Send these notifications' e-mails, each at most once per claim (see
    ``notification_deliver``); returns how many failed.

    Rows that failed are retried together, after the longest backoff the service recorded on
    them; after the last retry they stay pending and the outbox sweep keeps trying at the
    capped backoff. Rows sent meanwhile (by another worker) are skipped by the claim. Rows
    that failed for good (a 5xx refusal, a message that cannot be built) are not retried:
    the service marked them failed and told compliance.

    A database failure mid-batch (``DeliveryInterrupted``) is retried at once, with a short
    growing countdown (at most ``NOTIFICATION_INTERRUPTED_RETRIES`` times): the retry
    carries the claim to release (``claim``, ISO 8601) and the rows the SMTP server already
    accepted (``sent_unrecorded``, marked sent and never sent again). If even that retry
    cannot be published (the broker is down too), the claim is released here if the
    database answers; only when both are down does a claim wait for
    ``NOTIFICATION_CLAIM_TIMEOUT``, and an accepted row then goes out a second time.
    """
    try:
        report = notification_deliver(
            notification_ids=ids,
            sent_unrecorded=sent_unrecorded or [],
            earlier_claim=datetime.fromisoformat(claim) if claim else None,
        )
    except DeliveryInterrupted as interrupted:
        return _retry_interrupted(self, interrupted)
    failures = report.failed
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


def _retry_interrupted(task, interrupted: DeliveryInterrupted) -> int:
    claim = interrupted.claimed_at.isoformat() if interrupted.claimed_at else None
    logger.warning(
        "Delivery of %d notification(s) interrupted (%s); retrying at once.",
        len(interrupted.pending),
        interrupted,
    )
    if not task.request.is_eager:
        try:
            raise task.retry(
                args=[interrupted.pending],
                kwargs={"sent_unrecorded": interrupted.sent_unrecorded, "claim": claim},
                countdown=min(2**task.request.retries, 30),
                max_retries=settings.NOTIFICATION_INTERRUPTED_RETRIES,
                exc=interrupted,
            )
        except Retry:
            raise
        except Exception as error:  # noqa: BLE001 - retry not published (broker down, or max)
            logger.error("Could not schedule the retry (%s); releasing the claim.", error)
    # No retry coming: record what we know now, so the sweep takes over at once.
    try:
        notification_deliver_abandon(
            notification_ids=interrupted.pending,
            sent_unrecorded=interrupted.sent_unrecorded,
            claimed_at=interrupted.claimed_at,
        )
    except Exception as error:  # noqa: BLE001 - database down as well: the claim goes stale
        logger.error(
            "Could not release the claim on %d notification(s) (%s); they wait for the claim "
            "timeout, and %d accepted e-mail(s) may be sent again.",
            len(interrupted.pending),
            error,
            len(interrupted.sent_unrecorded),
        )
    return len(interrupted.pending)


@shared_task
def sweep_notification_outbox() -> int:
    """Beat job: re-queue notifications still pending (see ``notification_outbox_sweep``)."""
    return notification_outbox_sweep()


@shared_task
def audit_seal() -> int:
    """Beat job, every second: seal the committed, unsealed audit events (position and
    keyed link, ``portal.audit_seal.seal_pending``). Returns how many; 0 when another
    sealer holds the lock. Catches up on its own after a pause."""
    return seal_pending().sealed


def _anchor_outcome(result: AuditAnchorResult) -> dict:
    """What an anchor task returns: the verification's verdict and the anchored head."""
    verification, anchor = result.verification, result.anchor
    return {
        "ok": verification.ok,
        "checked": verification.checked,
        "first_bad": verification.first_bad,
        "reason": verification.reason,
        "anchored_event": anchor.event_id if anchor else None,
        "file": anchor.file if anchor else "",
    }


@shared_task
def audit_anchor_daily() -> dict:
    """Beat job: verify the audit chain and anchor its head outside the database."""
    with audit_channel("task"):
        return _anchor_outcome(audit_anchor_write(actor=None))


@shared_task
def audit_anchor_requested(actor_id: int) -> dict:
    """A compliance officer's "Verify and anchor now" (``actor_id``: the officer's user
    id): the daily job's work, recorded with the officer as the actor, run by a worker so
    that the officer's request does not wait for a walk of the whole log (about 8 seconds
    per million events). Compliance learns a new anchor or a broken trail in the inbox and
    by e-mail (``audit_anchor_write`` tells them). Returns the outcome (``_anchor_outcome``),
    or ``{}`` when the person is gone or no longer a compliance officer by the time it
    runs: nothing is done for them then (the daily job still anchors)."""
    actor = User.objects.filter(pk=actor_id, is_active=True).first()
    if actor is None:
        logger.warning("Audit anchor asked by user %s skipped: the account is gone.", actor_id)
        return {}
    try:
        with audit_channel("task"):
            return _anchor_outcome(audit_anchor_write(actor=actor))
    except NotAllowed:  # no longer a compliance officer: the service's own rule
        logger.warning("Audit anchor asked by user %s skipped: no longer compliance.", actor_id)
        return {}


@shared_task
def prune_idempotency_keys() -> int:
    """Beat job: delete Idempotency-Keys past their 24 hours (``idempotency_keys_prune``)."""
    return idempotency_keys_prune()


@shared_task
def clear_expired_sessions() -> None:
    """Beat job: delete the sessions past their expiry date, as ``manage.py clearsessions``
    does (Django's session documentation, "Clearing the session store")."""
    SessionStore.clear_expired()


@shared_task
def catch_up_scheduled_jobs() -> list[str]:
    """Beat job: queue every job that missed its period (``scheduled_jobs_catch_up``)."""
    return scheduled_jobs_catch_up()
