"""Compliance's "Verify and anchor now" with a real worker: the officer's request only
queues the job (a walk of a large log takes seconds), a `celery worker` process verifies
and anchors with the officer as the actor, and the outcome reaches her inbox."""

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from portal import roles
from portal.models import AuditEvent, Notification
from tests.integration.services import free_port, wait_for
from tests.portal.audit_tampering import write_events

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def test_the_officers_anchor_runs_in_the_worker_and_its_outcome_reaches_her_inbox(
    broker, celery_processes, client, settings
):
    officer = get_user_model().objects.create(username="olivia", email="olivia@example.com")
    # Earlier transactional tests flush the tables, groups included.
    officer.groups.add(Group.objects.get_or_create(name=roles.COMPLIANCE)[0])
    events = write_events(5)
    celery_processes.smtp_port = free_port()
    celery_processes.worker()  # with the audit key and this test's anchor directory
    client.force_login(officer)

    answer = client.post(reverse("audit_anchor"), follow=True)

    assert answer.status_code == 200
    assert "verification is queued" in answer.content.decode()
    anchor = wait_for(
        lambda: AuditEvent.objects.filter(action="audit.anchor").first(),
        timeout=60,
        what="the worker to anchor the audit trail",
    )
    assert anchor.actor == officer
    assert anchor.channel == "task"
    assert anchor.detail["event_id"] >= events[-1].pk
    assert (Path(settings.AUDIT_ANCHOR_DIR) / anchor.detail["file"]).is_file()
    told = Notification.objects.get(recipient=officer, kind="audit_anchor")
    assert "intact" in told.body.lower()


def test_with_the_task_queue_down_the_officer_is_told_and_nothing_is_anchored(
    broker, client, settings
):
    officer = get_user_model().objects.create(username="olivia", email="olivia@example.com")
    officer.groups.add(Group.objects.get_or_create(name=roles.COMPLIANCE)[0])
    write_events(3)
    broker.use(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens: Redis is down
    client.force_login(officer)

    answer = client.post(reverse("audit_anchor"), follow=True)

    assert answer.status_code == 200
    assert "could not be queued (the task queue is down)" in answer.content.decode()
    assert not AuditEvent.objects.filter(action="audit.anchor").exists()
    assert not list(Path(settings.AUDIT_ANCHOR_DIR).glob("anchor-*.json"))
