"""Notification e-mails carry a bounded excerpt of what people wrote, never the whole text:
the rest is in the portal, one link away."""

import pytest
from django.conf import settings
from django.core import mail

from incidents.services.deadlines import incident_no_risk_propose
from incidents.services.reports import incident_acknowledge, incident_report
from incidents.services.triage import incident_triage
from portal.models import Notification
from portal.notification_delivery import notification_deliver
from portal.notifications import notify

pytestmark = pytest.mark.django_db

CONTINUED = "… (continued in the portal)"
# A body a recipient can read: the text's limit and the fixed lines around it.
READABLE = settings.NOTIFICATION_BODY_MAX_CHARS + 500


def description_of(size: int) -> str:
    line = "The export of 2024-05 was mailed to an outside address by mistake. "
    return (line * (size // len(line) + 1))[:size]


def test_a_2_4_mb_incident_description_is_mailed_to_responders_as_an_excerpt(
    requester, compliance_officer, legal_counsel, django_capture_on_commit_callbacks
):
    description = description_of(2_400_000)
    with django_capture_on_commit_callbacks(execute=True):
        incident = incident_report(actor=requester, title="Export mailed", description=description)

    assert len(mail.outbox) == 2
    for message in mail.outbox:
        assert len(message.body) < READABLE
        assert description[:500] in message.body
        assert CONTINUED in message.body
        assert f"{settings.PORTAL_URL}/incidents/{incident.pk}/" in message.body
        # The lines that say what to do are not cut off by the excerpt.
        assert f"Acknowledge it within {settings.INCIDENT_ACK_SLA} minutes" in message.body
    for row in Notification.objects.filter(kind="incident_reported"):
        assert len(row.body) < READABLE  # nor stored in full for every responder
    incident.refresh_from_db()
    assert incident.description == description  # the incident keeps every word


def test_a_long_reason_is_mailed_as_an_excerpt_with_the_instructions_kept(
    requester, compliance_officer, legal_counsel, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        incident = incident_report(actor=requester, title="Export mailed", description="Oops.")
        incident_acknowledge(actor=compliance_officer, incident=incident)
        incident_triage(
            actor=compliance_officer,
            incident=incident,
            personal_data_breach=True,
            breach_reason="Names and phone numbers reached an outside recipient.",
        )
    mail.outbox.clear()
    reason = description_of(50_000)
    with django_capture_on_commit_callbacks(execute=True):
        incident_no_risk_propose(actor=compliance_officer, incident=incident, reason=reason)

    (message,) = mail.outbox
    assert message.to == [legal_counsel.email]
    assert len(message.body) < READABLE and CONTINUED in message.body
    assert "A second member of Compliance or Legal must confirm it" in message.body


def test_every_kind_of_notification_is_bounded_at_the_one_door(
    requester, django_capture_on_commit_callbacks
):
    """``notify`` is the door of every kind, present and future: a reason, a note, a
    justification or evidence quoted in a body is cut there."""
    body = description_of(100_000)
    with django_capture_on_commit_callbacks(execute=True):
        (row,) = notify(
            users=[requester], kind="test", context={"subject": "Hello", "body": body}, link="/x/"
        )

    (message,) = mail.outbox
    assert len(message.body) < READABLE and len(row.body) < READABLE
    assert body[:200] in message.body and CONTINUED in message.body
    assert message.body.endswith(f"{settings.PORTAL_URL}/x/")


def test_a_short_body_is_mailed_whole(requester, django_capture_on_commit_callbacks):
    body = description_of(settings.NOTIFICATION_BODY_MAX_CHARS)
    with django_capture_on_commit_callbacks(execute=True):
        notify(users=[requester], kind="test", context={"subject": "Hello", "body": body})

    (message,) = mail.outbox
    assert message.body == body.strip() and CONTINUED not in message.body


def test_a_row_stored_in_full_before_the_limit_is_mailed_as_an_excerpt(requester):
    row = Notification.objects.create(
        recipient=requester, kind="test", subject="Hello", body=description_of(2_400_000)
    )

    assert notification_deliver(notification_ids=[row.pk]).sent == [row.pk]
    (message,) = mail.outbox
    assert len(message.body) < READABLE and CONTINUED in message.body
