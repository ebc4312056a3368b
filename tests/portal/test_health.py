"""The health probes: each check goes red when its part is stopped and green again after;
anonymous probes see a status only, staff see which check failed and why."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from portal.audit import audit_record
from portal.audit_seal import seal_pending
from portal.audit_verify import verify_audit
from portal.models import AuditEvent, Notification, ScheduledJobRun, User
from portal.scheduled_jobs import scheduled_jobs
from portal.services import audit_anchor_write
from tests.conftest import redis_url
from tests.factories import UserFactory
from tests.portal.audit_tampering import TABLE, tamper, write_events

pytestmark = pytest.mark.django_db

CLOSED_PORT = "redis://127.0.0.1:1/0"


@pytest.fixture
def staff_client():
    staff = Client()
    staff.force_login(UserFactory(username="ops", is_staff=True))
    return staff


def report(client, path: str) -> tuple[int, dict]:
    response = client.get(path, {"format": "json"})
    return response.status_code, response.json()


def failing(checks: dict) -> dict:
    return {name: reason for name, reason in checks.items() if reason != "OK"}


def all_jobs_succeeded(at=None) -> None:
    for job in scheduled_jobs():
        ScheduledJobRun.objects.update_or_create(
            name=job.name, defaults={"last_success_at": at or timezone.now()}
        )


@pytest.fixture
def compliance_green(settings):
    """Everything the compliance probe checks is fine: no worker needed (tasks run
    in-process), every job just succeeded, the chain is anchored now."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    all_jobs_succeeded()
    write_events(3)
    assert audit_anchor_write(actor=None).anchor is not None


def test_liveness_answers_without_checking_anything(client, settings):
    settings.REDIS_URL = CLOSED_PORT

    response = client.get("/health/live")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_anonymous_probe_gets_only_a_status_and_staff_the_details(client, staff_client, settings):
    settings.REDIS_URL = CLOSED_PORT

    anonymous = client.get("/health/ready", {"format": "json"})
    assert (anonymous.status_code, anonymous.json()) == (503, {"status": "unavailable"})

    status, checks = report(staff_client, "/health/ready")
    assert status == 503
    assert list(failing(checks)) == ["Redis"]
    assert "Connection" in failing(checks)["Redis"]


def test_a_malformed_accept_header_is_no_server_error(client, staff_client, settings):
    # Redis at a closed port: the readiness answer is known (503), whatever the machine runs.
    settings.REDIS_URL = CLOSED_PORT
    anonymous = client.get("/health/ready", HTTP_ACCEPT="garbage")
    staff = staff_client.get("/health/ready", HTTP_ACCEPT="text/html, foo bar")

    assert (anonymous.status_code, anonymous.json()) == (503, {"status": "unavailable"})
    assert staff.status_code == 406


@pytest.mark.redis
def test_readiness_is_red_with_redis_at_a_closed_port_and_green_again(staff_client, settings):
    settings.REDIS_URL = CLOSED_PORT
    status, checks = report(staff_client, "/health/ready")
    assert status == 503 and list(failing(checks)) == ["Redis"]

    settings.REDIS_URL = redis_url()
    status, checks = report(staff_client, "/health/ready")
    assert (status, failing(checks)) == (200, {})
    assert {"Database(alias='default')", "MigrationsApplied()", "Redis"} <= set(checks)


def test_beat_heartbeat_goes_red_when_a_job_missed_twice_its_period(staff_client, compliance_green):
    status, checks = report(staff_client, "/health/compliance")
    assert (status, failing(checks)) == (200, {})

    sweep = next(job for job in scheduled_jobs() if job.name == "notification-outbox-sweep")
    with time_machine.travel(timezone.now() + 2 * sweep.period + timedelta(seconds=5)):
        status, checks = report(staff_client, "/health/compliance")
        assert status == 503
        assert "notification-outbox-sweep" in failing(checks)["BeatHeartbeat()"]
        assert "audit-anchor-daily" not in failing(checks)["BeatHeartbeat()"]

        all_jobs_succeeded()  # beat is back: every job ran
        status, checks = report(staff_client, "/health/compliance")
        assert "BeatHeartbeat()" not in failing(checks)


def test_an_undelivered_notification_aged_20_minutes_turns_the_outbox_red(
    staff_client, compliance_green
):
    with time_machine.travel(timezone.now() - timedelta(minutes=20)):
        stuck = Notification.objects.create(
            recipient=UserFactory(username="rcpt"), kind="test", subject="Stuck"
        )

    status, checks = report(staff_client, "/health/compliance")
    assert status == 503
    assert failing(checks) == {
        "OutboxBacklog()": "Unavailable: 1 notifications undelivered, the oldest for 20 minutes"
    }

    Notification.objects.filter(pk=stuck.pk).update(sent_at=timezone.now())
    assert report(staff_client, "/health/compliance")[0] == 200


def test_a_tampered_audit_event_turns_the_audit_check_red(staff_client, compliance_green):
    event = write_events(2)[0]
    tamper(f"UPDATE {TABLE} SET action = 'grant.create' WHERE id = %s", [event.pk])

    status, checks = report(staff_client, "/health/compliance")
    assert status == 503
    assert failing(checks) == {
        "AuditAnchor()": f"Unavailable: Audit trail broken at event #{event.pk}"
    }

    tamper(f"UPDATE {TABLE} SET action = 'records.view' WHERE id = %s", [event.pk])
    assert report(staff_client, "/health/compliance")[0] == 200


def test_an_anchor_older_than_25_hours_turns_the_audit_check_red(staff_client, compliance_green):
    with time_machine.travel(timezone.now() + timedelta(hours=25, minutes=1)):
        all_jobs_succeeded()
        staff_client.force_login(User.objects.get(username="ops"))  # yesterday's session ended
        status, checks = report(staff_client, "/health/compliance")
        assert status == 503
        assert "Newest audit anchor is from" in failing(checks)["AuditAnchor()"]

        assert audit_anchor_write(actor=None).anchor is not None
        assert report(staff_client, "/health/compliance")[0] == 200


def test_no_worker_answering_turns_the_worker_check_red(staff_client, compliance_green, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False

    status, checks = report(staff_client, "/health/compliance")

    assert status == 503
    assert failing(checks) == {"CeleryWorker": "Unavailable: Celery workers unavailable"}


def test_an_event_unsealed_for_over_two_minutes_turns_the_sealer_check_red(
    staff_client, compliance_green
):
    seal_pending()  # the anchor's own event
    with time_machine.travel(timezone.now(), tick=False) as clock:
        audit_record(actor=None, action="records.view")
        clock.shift(timedelta(seconds=150))  # and the sealer has not kept up since
        all_jobs_succeeded()  # while beat ran its jobs (the heartbeat is its own check)

        status, checks = report(staff_client, "/health/compliance")
        assert status == 503
        assert failing(checks) == {
            "AuditSealer()": "Unavailable: Audit events wait 150 s to be sealed"
        }

        seal_pending()  # the sealer is back
        assert report(staff_client, "/health/compliance") == (200, checks | {"AuditSealer()": "OK"})


def test_the_compliance_probe_verifies_from_the_newest_checkpoint_only(client, compliance_green):
    # An event the checkpoint vouches for, rewritten: the daily anchor job's whole walk
    # names it; the probe, scraped every few minutes, walks only what came after.
    before_checkpoint = AuditEvent.objects.get(position=1)
    tamper(f"UPDATE {TABLE} SET action = 'grant.create' WHERE id = %s", [before_checkpoint.pk])
    after_checkpoint = write_events(2)[0]

    assert client.get("/health/compliance").status_code == 200
    assert verify_audit().first_bad == before_checkpoint.pk

    tamper(f"UPDATE {TABLE} SET action = 'grant.create' WHERE id = %s", [after_checkpoint.pk])
    assert client.get("/health/compliance").status_code == 503
