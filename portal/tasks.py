"""Celery tasks of the portal core. Thin: reload by id, bail out if done, call a service."""

from celery import shared_task
from django.core.mail import EmailMessage
from django.db.models import F, Q
from django.utils import timezone

from portal.audit import audit_channel
from portal.models import Notification
from portal.services import audit_anchor_write


@shared_task
def deliver_notification(pk: int) -> bool:
    """Send one notification's e-mail, at most once.

    The row is claimed with a conditional UPDATE, so two workers handed the same id cannot
    both send it; a row already sent is never sent again.
    """
    claimed = Notification.objects.filter(
        Q(pk=pk), Q(sent_at__isnull=True), Q(claimed_at__isnull=True)
    ).update(claimed_at=timezone.now(), attempts=F("attempts") + 1)
    if not claimed:
        return False
    notification = Notification.objects.select_related("recipient").get(pk=pk)
    message = EmailMessage(
        subject=notification.subject,
        body=notification.body,
        to=[notification.recipient.email],
        headers={"Message-ID": f"<notification-{notification.pk}@compliance-portal>"},
    )
    try:
        message.send()
    except Exception as error:  # noqa: BLE001 - recorded on the row, retried by the sweep
        Notification.objects.filter(pk=pk).update(claimed_at=None, last_error=str(error)[:2000])
        raise
    Notification.objects.filter(pk=pk).update(sent_at=timezone.now(), last_error="")
    return True


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
