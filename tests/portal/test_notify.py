from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from portal.models import Notification
from portal.notification_delivery import notification_deliver
from portal.notifications import notification_outbox_sweep, notify

pytestmark = pytest.mark.django_db


def test_committed_notification_is_delivered_once_per_recipient(
    requester, compliance_officer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        notify(
            users=[requester, compliance_officer, requester],
            kind="test",
            context={"subject": "A report needs you", "body": "Open the portal."},
        )

    assert sorted(m.to[0] for m in mail.outbox) == [
        compliance_officer.email,
        requester.email,
    ]
    assert mail.outbox[0].extra_headers["Message-ID"].startswith("<notification-")
    assert Notification.objects.filter(sent_at__isnull=False).count() == 2


def test_rolled_back_notification_leaves_no_row_and_no_mail(
    requester, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        notify(users=[requester], kind="test", context={"subject": "Never sent"})
        raise RuntimeError("the event failed")

    assert not Notification.objects.exists()
    assert mail.outbox == []


def pending_notification(user, django_capture_on_commit_callbacks, **fields) -> Notification:
    """A committed row whose delivery was never queued (as when the broker was down)."""
    with django_capture_on_commit_callbacks(execute=False):
        (row,) = notify(users=[user], kind="test", context={"subject": "Pending"}, **fields)
    return row


def test_message_id_is_derived_from_the_notification_id(
    requester, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        (row,) = notify(
            users=[requester], kind="test", context={"subject": "Hello"}, link="/assets/1/"
        )

    (message,) = mail.outbox
    assert message.extra_headers["Message-ID"] == f"<notification-{row.pk}@localhost>"
    assert "/assets/1/" in message.body


def test_an_already_sent_notification_is_never_sent_again(
    requester, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        (row,) = notify(users=[requester], kind="test", context={"subject": "Once"})
    mail.outbox.clear()

    assert notification_deliver(notification_ids=[row.pk]).sent == []
    assert outbox_sweep_after(minutes=5) == 0

    assert mail.outbox == []
    row.refresh_from_db()
    assert row.attempts == 1


def outbox_sweep_after(*, minutes: int) -> int:
    with time_machine.travel(timezone.now() + timedelta(minutes=minutes)):
        return notification_outbox_sweep()


def test_a_live_claim_keeps_other_workers_off_but_a_stale_one_does_not(
    requester, django_capture_on_commit_callbacks
):
    row = pending_notification(requester, django_capture_on_commit_callbacks)
    Notification.objects.filter(pk=row.pk).update(claimed_at=timezone.now())

    assert notification_deliver(notification_ids=[row.pk]).sent == []
    assert mail.outbox == []

    # The worker holding the claim died mid-send: after the timeout the sweep re-queues it.
    later = settings.NOTIFICATION_CLAIM_TIMEOUT // 60 + 2
    assert outbox_sweep_after(minutes=later) == 1
    assert len(mail.outbox) == 1
    row.refresh_from_db()
    assert row.sent_at is not None


def test_sweep_requeues_pending_rows_older_than_a_minute_only(
    requester, outsider, django_capture_on_commit_callbacks
):
    old = pending_notification(requester, django_capture_on_commit_callbacks)
    with time_machine.travel(timezone.now() + timedelta(seconds=50)):
        fresh = pending_notification(outsider, django_capture_on_commit_callbacks)

    with time_machine.travel(timezone.now() + timedelta(seconds=65)):
        assert notification_outbox_sweep() == 1

    assert [m.to for m in mail.outbox] == [[requester.email]]
    assert Notification.objects.get(pk=old.pk).sent_at is not None
    assert Notification.objects.get(pk=fresh.pk).sent_at is None


@override_settings(
    EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
    EMAIL_HOST="127.0.0.1",
    EMAIL_PORT=1,  # nothing listens: the SMTP server is down
    EMAIL_TIMEOUT=2,
)
def test_failed_send_is_recorded_and_backs_off_before_the_sweep_retries(
    requester, django_capture_on_commit_callbacks
):
    row = pending_notification(requester, django_capture_on_commit_callbacks)

    assert len(notification_deliver(notification_ids=[row.pk]).failed) == 1
    row.refresh_from_db()
    assert (row.attempts, row.sent_at, row.claimed_at) == (1, None, None)
    assert "Connection refused" in row.last_error or "Errno" in row.last_error
    first_wait = row.next_attempt_at - timezone.now()

    assert len(notification_deliver(notification_ids=[row.pk]).failed) == 1
    row.refresh_from_db()
    second_wait = row.next_attempt_at - timezone.now()
    assert row.attempts == 2
    assert second_wait > first_wait + timedelta(seconds=settings.NOTIFICATION_RETRY_BACKOFF / 2)

    # Within the backoff, the sweep leaves the row alone.
    with time_machine.travel(row.next_attempt_at - timedelta(seconds=1)):
        assert notification_outbox_sweep() == 0


def test_sweep_delivers_a_failed_row_once_the_smtp_server_is_back(
    requester, django_capture_on_commit_callbacks
):
    row = pending_notification(requester, django_capture_on_commit_callbacks)
    with (
        override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend"),
        override_settings(EMAIL_HOST="127.0.0.1", EMAIL_PORT=1),
    ):
        assert len(notification_deliver(notification_ids=[row.pk]).failed) == 1

    assert outbox_sweep_after(minutes=2) == 1

    row.refresh_from_db()
    assert row.sent_at is not None and row.last_error == ""
    assert row.attempts == 2
    assert len(mail.outbox) == 1


def test_recipient_without_email_address_is_delivered_to_the_inbox_only(
    requester, django_capture_on_commit_callbacks
):
    requester.email = ""
    requester.save()

    with django_capture_on_commit_callbacks(execute=True):
        (row,) = notify(users=[requester], kind="test", context={"subject": "Inbox only"})

    row.refresh_from_db()
    assert row.sent_at is not None
    assert "no e-mail address" in row.last_error
    assert mail.outbox == []
    assert outbox_sweep_after(minutes=5) == 0
