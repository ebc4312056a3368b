"""E-mails that cannot be delivered: text from people never breaks a header, an error that
cannot succeed on retry fails the notification at once (compliance is told and sees it in the
portal), and an error that can succeed later is still retried.

The SMTP server is real (aiosmtpd on a free port); it refuses chosen recipients as a mail
server does, with a 5xx (permanent) or 4xx (transient) reply to RCPT TO.
"""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from consent.models import Purpose
from consent.services.sharing import sharing_request_create
from incidents.services.reports import incident_report
from portal.models import AuditEvent, Notification
from portal.notification_delivery import notification_deliver
from portal.notifications import notification_outbox_sweep, notify
from tests.customers.conftest import consent
from tests.factories import DataAssetFactory, UserFactory
from tests.integration.services import SmtpSink, free_port

pytestmark = pytest.mark.django_db

CRLF_TITLE = "CRLF test\r\nBcc: x@example.org"
ALERT = "notification_undelivered"


@pytest.fixture
def smtp_sink():
    sink = SmtpSink(free_port())
    sink.start()
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=sink.port,
        EMAIL_TIMEOUT=5,
    ):
        yield sink
    sink.stop()


def notify_one(user, capture, subject="Hello", kind="test") -> Notification:
    """One committed notification to ``user``, delivered at once (eager task); reloaded."""
    with capture(execute=True):
        (row,) = notify(users=[user], kind="test", context={"subject": subject})
        # The kind is what the compliance alert counts; its texts are not under test here.
        Notification.objects.filter(pk=row.pk).update(kind=kind)
    row.refresh_from_db()
    return row


def sweep_after(**delta) -> int:
    with time_machine.travel(timezone.now() + timedelta(**delta)):
        return notification_outbox_sweep()


# --- Line breaks in headers --------------------------------------------------------------


def test_an_incident_titled_with_a_line_break_is_mailed_to_responders_with_a_one_line_subject(
    requester, compliance_officer, legal_counsel, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        incident = incident_report(actor=requester, title=CRLF_TITLE, description="Seen today.")

    rows = Notification.objects.filter(kind="incident_reported")
    assert rows.count() == 2
    assert all(row.sent_at and not row.last_error and not row.failed_at for row in rows)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [compliance_officer.email, legal_counsel.email]
    )
    for message in mail.outbox:
        subject = message.message()["Subject"]
        assert "\r" not in subject and "\n" not in subject
        assert subject == f"New incident report {incident.reference}: CRLF test Bcc: x@example.org"
        assert message.bcc == [] and "Bcc" not in message.message()
    assert Notification.objects.get(recipient=legal_counsel).subject.count("\n") == 0


def test_a_sharing_request_on_an_asset_named_with_a_line_break_reaches_the_owner(
    requester, owner, django_capture_on_commit_callbacks
):
    """Asset names (the admin, an import) and sharing recipients go into approval subjects."""
    asset = DataAssetFactory(
        owner=owner,
        name="Partner list\r\nBcc: x@example.org",
        customers=2,
        categories=["user.contact.email"],
        collected_for=["essential.service"],
    )
    consent(list(asset.customers.all()), "third_party_sharing")
    with django_capture_on_commit_callbacks(execute=True):
        sharing_request_create(
            actor=requester,
            asset=asset,
            purpose=Purpose.objects.get(key="essential.service"),
            justification="The logistics partner delivers the spring orders to these customers.",
            recipient="Nordic Logistics AS",
            recipient_country="NO",
            agreement_reference="DPA-2024-017",
            agreement_end=timezone.localdate() + timedelta(days=365),
            categories=["user.contact.email"],
        )

    row = Notification.objects.get(recipient=owner, kind="approval_needed")
    assert row.sent_at is not None and row.failed_at is None
    (message,) = [m for m in mail.outbox if m.to == [owner.email]]
    assert message.subject.startswith(
        "Approval needed: Share Partner list Bcc: x@example.org with Nordic Logistics AS"
    )
    assert "\n" not in message.subject and "\r" not in message.subject
    assert "Bcc" not in message.message()  # no header of that name: only RFC 5322 folding


@pytest.mark.parametrize(
    "subject",
    [
        "Deletion confirmed: Acme\nBcc: x@example.org",  # a sharing recipient
        "Tell Acme\rCc: y@example.org: 2 customer(s) withdrew consent",
        "Tab\tand\x0bvertical\x0cfeed\x00nul\u2028line\u2029paragraph\x85next",
    ],
)
def test_every_control_character_in_a_subject_becomes_a_space(
    requester, subject, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        (row,) = notify(users=[requester], kind="test", context={"subject": subject})

    row.refresh_from_db()
    assert row.sent_at is not None and row.failed_at is None
    (message,) = mail.outbox
    header = message.message()["Subject"]
    assert header == row.subject
    assert not any(ord(c) < 32 or c in "\x7f\x85\u2028\u2029" for c in header)
    assert "Cc" not in message.message() and "Bcc" not in message.message()


def test_a_row_stored_with_a_line_break_before_the_fix_is_still_delivered(requester):
    # Written straight to the table, as rows pending from before the fix are.
    row = Notification.objects.create(recipient=requester, kind="test", subject=CRLF_TITLE)

    assert notification_deliver(notification_ids=[row.pk]).sent == [row.pk]
    (message,) = mail.outbox
    assert message.message()["Subject"] == "CRLF test Bcc: x@example.org"


# --- Permanent failures ------------------------------------------------------------------


def test_a_recipient_refused_with_550_fails_after_one_attempt_and_compliance_is_told(
    requester, compliance_officer, smtp_sink, django_capture_on_commit_callbacks
):
    smtp_sink.refuse[requester.email] = "550 5.1.1 No such user here"
    row = notify_one(
        requester, django_capture_on_commit_callbacks, "Access granted: CRM", kind="grant_created"
    )
    assert row.attempts == 1
    assert row.sent_at is None and row.failed_at is not None
    assert "550" in row.last_error
    # Not retried: neither by the task nor by the sweep, hours later.
    assert sweep_after(hours=6) == 0
    row.refresh_from_db()
    assert row.attempts == 1

    (alert,) = Notification.objects.filter(kind=ALERT)
    assert alert.recipient == compliance_officer
    assert alert.link == reverse("notification_undelivered")
    # The alert names no person and repeats no message: it may concern a confidential report.
    text = alert.subject + alert.body
    for secret in (requester.username, str(requester), requester.email, "Access granted"):
        assert secret not in text
    # The alert itself reached compliance by e-mail.
    assert [m["to"] for m in smtp_sink.messages] == [[compliance_officer.email]]


def test_a_header_that_cannot_be_built_fails_at_once(
    requester, compliance_officer, django_capture_on_commit_callbacks
):
    requester.email = "rita@example.org\nBcc: x@example.org"  # bypassing the forms
    requester.save()
    row = notify_one(requester, django_capture_on_commit_callbacks)
    assert (row.attempts, row.sent_at is None, row.failed_at is not None) == (1, True, True)
    assert row.last_error
    assert Notification.objects.filter(kind=ALERT, recipient=compliance_officer).count() == 1
    assert [m.to for m in mail.outbox] == [[compliance_officer.email]]


def test_an_alert_that_cannot_be_delivered_raises_no_further_alert(
    requester, compliance_officer, smtp_sink, django_capture_on_commit_callbacks
):
    smtp_sink.refuse[requester.email] = "550 5.1.1 No such user here"
    smtp_sink.refuse[compliance_officer.email] = "550 5.1.1 No such user here"
    with django_capture_on_commit_callbacks(execute=True):
        notify(users=[requester], kind="test", context={"subject": "Hello"})

    (alert,) = Notification.objects.filter(kind=ALERT)
    assert alert.failed_at is not None  # failed too, and stays in the inbox
    assert Notification.objects.count() == 2


def test_a_450_is_transient_and_retried_until_it_is_delivered(
    requester, compliance_officer, smtp_sink, django_capture_on_commit_callbacks
):
    smtp_sink.refuse[requester.email] = "450 4.2.1 Mailbox busy, try later"
    row = notify_one(requester, django_capture_on_commit_callbacks)
    assert (row.attempts, row.sent_at, row.failed_at) == (1, None, None)
    assert "450" in row.last_error and row.next_attempt_at is not None
    assert not Notification.objects.filter(kind=ALERT).exists()

    del smtp_sink.refuse[requester.email]
    assert sweep_after(hours=2) == 1
    row.refresh_from_db()
    assert row.sent_at is not None and row.attempts == 2
    assert [m["to"] for m in smtp_sink.messages] == [[requester.email]]


# --- The page of undelivered notifications -----------------------------------------------


@pytest.fixture
def failed_row(requester, compliance_officer, smtp_sink, django_capture_on_commit_callbacks):
    smtp_sink.refuse[requester.email] = "550 5.1.1 No such user here"
    row = notify_one(
        requester, django_capture_on_commit_callbacks, "Access granted: CRM", kind="grant_created"
    )
    return row


def test_compliance_sees_failed_and_retrying_notifications_with_their_last_error(
    client, failed_row, requester, compliance_officer, smtp_sink, django_capture_on_commit_callbacks
):
    smtp_sink.refuse["late@example.org"] = "451 4.3.0 Try again later"
    late = type(requester).objects.create(username="late", email="late@example.org")
    retrying = notify_one(late, django_capture_on_commit_callbacks, "Deadline soon")
    with django_capture_on_commit_callbacks(execute=False):
        (fresh,) = notify(users=[late], kind="test", context={"subject": "Not yet attempted"})
    client.force_login(compliance_officer)

    page = client.get(reverse("notification_undelivered"))

    assert page.status_code == 200
    html = page.content.decode()
    assert f'id="undelivered-{failed_row.pk}"' in html
    assert f'id="undelivered-{retrying.pk}"' in html
    assert f'id="undelivered-{fresh.pk}"' not in html  # pending, not yet tried
    assert "550 5.1.1 No such user here" in html and "451 4.3.0" in html
    assert reverse("notification_retry", args=[failed_row.pk]) in html
    assert reverse("notification_retry", args=[retrying.pk]) not in html  # retried anyway
    assert reverse("notification_undelivered") in client.get(reverse("home")).content.decode()


@pytest.mark.parametrize("who", ["requester", "owner", "legal_counsel", "outsider"])
def test_everyone_but_compliance_gets_404_on_undelivered_notifications(
    request, client, failed_row, who
):
    client.force_login(request.getfixturevalue(who))

    assert client.get(reverse("notification_undelivered")).status_code == 404
    retry = client.post(reverse("notification_retry", args=[failed_row.pk]))
    assert retry.status_code == 404
    failed_row.refresh_from_db()
    assert failed_row.failed_at is not None
    assert reverse("notification_undelivered") not in client.get("/").content.decode()


def test_compliance_retries_a_failed_notification_once_the_address_is_fixed(
    client, failed_row, requester, compliance_officer, smtp_sink, django_capture_on_commit_callbacks
):
    del smtp_sink.refuse[requester.email]
    client.force_login(compliance_officer)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("notification_retry", args=[failed_row.pk]))

    assert response.status_code == 302
    failed_row.refresh_from_db()
    assert failed_row.sent_at is not None and failed_row.failed_at is None
    assert failed_row.attempts == 2
    assert requester.email in [m["to"][0] for m in smtp_sink.messages]
    page = client.get(response["Location"]).content.decode()
    assert "Sent again" in page and f'id="undelivered-{failed_row.pk}"' not in page
    assert AuditEvent.objects.filter(action="notification.retry", actor=compliance_officer).exists()


def test_retrying_a_notification_that_is_still_being_retried_is_refused(
    client, requester, compliance_officer, smtp_sink, django_capture_on_commit_callbacks
):
    smtp_sink.refuse[requester.email] = "450 4.2.1 Mailbox busy, try later"
    retrying = notify_one(requester, django_capture_on_commit_callbacks)
    client.force_login(compliance_officer)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("notification_retry", args=[retrying.pk]), follow=True)

    assert response.status_code == 200
    assert "has not failed" in response.content.decode()
    retrying.refresh_from_db()
    assert retrying.attempts == 1


def test_a_delivered_notification_is_not_on_the_page_and_cannot_be_retried(
    client, requester, compliance_officer, django_capture_on_commit_callbacks
):
    sent = notify_one(requester, django_capture_on_commit_callbacks)
    client.force_login(compliance_officer)

    page = client.get("/notifications/undelivered/")
    assert page.status_code == 200
    assert f'id="undelivered-{sent.pk}"' not in page.content.decode()
    assert client.post(reverse("notification_retry", args=[sent.pk])).status_code == 404
    sent.refresh_from_db()
    assert sent.attempts == 1


def test_the_page_reads_a_fixed_number_of_queries_whatever_its_rows(
    client, compliance_officer, django_assert_max_num_queries
):
    people = [UserFactory() for _ in range(30)]
    Notification.objects.bulk_create(
        Notification(
            recipient=person,
            kind="test",
            subject="Hello",
            attempts=1,
            failed_at=timezone.now(),
            last_error="550 5.1.1 No such user here",
        )
        for person in people
    )
    client.force_login(compliance_officer)

    with django_assert_max_num_queries(12):
        page = client.get(reverse("notification_undelivered"))

    assert page.content.decode().count('id="undelivered-') == 30


def test_a_thousand_refused_addresses_give_each_officer_one_alert_until_it_is_read(
    compliance_officer, second_compliance_officer, smtp_sink, django_capture_on_commit_callbacks
):
    people = UserFactory.create_batch(60)
    for person in people:
        smtp_sink.refuse[person.email] = "550 5.1.1 No such user here"
    with django_capture_on_commit_callbacks(execute=True):
        # Three delivery batches of 25.
        notify(users=people, kind="test", context={"subject": "Hello"})

    assert Notification.objects.filter(kind="test", failed_at__isnull=False).count() == 60
    assert Notification.objects.filter(kind=ALERT, recipient=compliance_officer).count() == 1
    assert Notification.objects.filter(kind=ALERT, recipient=second_compliance_officer).count() == 1

    # Once an officer has read the alert, the next failure tells that officer again.
    Notification.objects.filter(kind=ALERT, recipient=compliance_officer).update(
        read_at=timezone.now()
    )
    with django_capture_on_commit_callbacks(execute=True):
        notify(users=people[:1], kind="test", context={"subject": "Again"})
    assert Notification.objects.filter(kind=ALERT, recipient=compliance_officer).count() == 2
    assert Notification.objects.filter(kind=ALERT, recipient=second_compliance_officer).count() == 1
