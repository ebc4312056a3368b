"""A report of mishandling through a real Redis, real `celery worker` and `beat` processes
and a real SMTP server: every Compliance and Legal member gets the e-mail, no e-mail names
a confidential reporter, and beat escalates an unacknowledged report once per level."""

import email
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.test import APIClient

from incidents.models import Incident, Notice
from portal import roles
from portal.models import Notification
from tests.integration.services import SmtpSink, free_port, wait_for

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


class BodySink(SmtpSink):
    """The SMTP sink, also keeping each message's text, to read what the e-mail says."""

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook
        answer = await super().handle_DATA(server, session, envelope)
        message = email.message_from_bytes(envelope.content)
        with self._lock:
            self.messages[-1]["body"] = message.get_payload(decode=True).decode()
        return answer


@pytest.fixture
def sink():
    sink = BodySink(free_port())
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def cast(db):
    """carl reports; olivia and conrad (Compliance) and lena (Legal) receive."""
    User = get_user_model()
    people = {}
    for username, first, last, group in [
        ("carl", "Carl", "Christensen", None),
        ("olivia", "Olivia", "Olsen", roles.COMPLIANCE),
        ("conrad", "Conrad", "Cole", roles.COMPLIANCE),
        ("lena", "Lena", "Lund", roles.LEGAL),
    ]:
        user = User.objects.create(
            username=username, first_name=first, last_name=last, email=f"{username}@example.com"
        )
        if group:
            # Earlier transactional tests flush the tables, groups included.
            user.groups.add(Group.objects.get_or_create(name=group)[0])
        people[username] = user
    return people


RESPONDERS = ["conrad@example.com", "lena@example.com", "olivia@example.com"]


def test_confidential_report_by_carl_reaches_every_mailbox_without_naming_him(
    broker, sink, celery_processes, cast
):
    celery_processes.smtp_port = sink.port
    celery_processes.worker()
    client = APIClient()
    client.force_authenticate(cast["carl"])

    response = client.post(
        "/api/incidents/",
        {
            "title": "Customer list on a shared drive",
            "description": "Retail customers' phone numbers readable by everyone.",
            "confidential_reporter": True,
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    reference = response.json()["reference"]
    inboxes = Notification.objects.filter(kind="incident_reported", sent_at__isnull=False)
    # A row is marked sent after the mail server accepted it, so the sink can hold a message
    # a moment before its row says so: wait for both.
    wait_for(lambda: inboxes.count() >= 3, timeout=30, what="3 notifications marked sent")
    wait_for(lambda: len(sink.messages) >= 3, timeout=10, what="3 e-mails in the SMTP sink")
    assert sorted(m["to"][0] for m in sink.messages) == RESPONDERS
    assert all(reference in m["subject"] for m in sink.messages)
    for message in sink.messages:
        text = (message["subject"] + message["body"]).lower()
        assert "carl" not in text and "christensen" not in text
        assert "confidential" in message["body"]
    assert sorted(n.recipient.email for n in inboxes) == RESPONDERS


def escalations_run(celery_processes) -> int:
    """How many times a worker finished the escalation job (from the workers' logs)."""
    return sum(
        line.count("escalate_unacknowledged[") and line.count("] succeeded in ")
        for path in celery_processes.tmp_path.glob("worker-*.log")
        for line in path.read_text(errors="replace").splitlines()
    )


def test_beat_escalates_an_unacknowledged_report_once_however_often_it_runs(
    broker, sink, celery_processes, cast
):
    from incidents.services.reports import incident_report

    celery_processes.smtp_port = sink.port
    incident = incident_report(
        actor=cast["carl"], title="Lost laptop", description="Left on the train."
    )
    # Arranged, not waited for: the report was filed 61 minutes ago.
    Incident.objects.filter(pk=incident.pk).update(
        reported_at=timezone.now() - timedelta(minutes=61)
    )
    celery_processes.worker()
    celery_processes.beat(INCIDENT_JOB_SECONDS="1")

    wait_for(
        lambda: escalations_run(celery_processes) >= 4,
        timeout=60,
        what="beat to run the escalation job four times",
    )
    wait_for(lambda: len(sink.messages) >= 6, timeout=30, what="report and escalation e-mails")

    escalated = [m for m in sink.messages if m["subject"].startswith("Escalation 1:")]
    assert sorted(m["to"][0] for m in escalated) == RESPONDERS
    assert list(Notice.objects.values_list("key", flat=True)) == ["escalation:1"]
    assert Notification.objects.filter(kind="incident_escalated").count() == 3
    assert sink.duplicates() == 0
