import pytest
from django.core import mail
from django.db import transaction

from portal.models import Notification
from portal.notifications import notify

pytestmark = pytest.mark.django_db


def test_committed_notification_is_delivered_once_per_recipient(
    requester, compliance_officer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        notify(
            users=[requester, compliance_officer, requester],
            kind="test",
            subject="A report needs you",
            body="Open the portal.",
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
        notify(users=[requester], kind="test", subject="Never sent")
        raise RuntimeError("the event failed")

    assert not Notification.objects.exists()
    assert mail.outbox == []
