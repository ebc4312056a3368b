"""Notifications through a real Redis, real `celery worker` / `beat` processes and a real
SMTP server: nothing is lost when the broker, a worker or the mail server fails.
"""

import time

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from portal.models import Notification
from portal.notifications import notify
from tests.integration.services import free_port, wait_for

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def people(count: int) -> list:
    User = get_user_model()
    return User.objects.bulk_create(
        [User(username=f"person{i}", email=f"person{i}@example.com") for i in range(count)]
    )


def events(recipients: list, count: int, subject: str = "Approval needed") -> list[int]:
    """``count`` events, each committing its own notifications to all ``recipients``."""
    ids = []
    for number in range(count):
        with transaction.atomic():
            rows = notify(
                users=recipients, kind="test", context={"subject": f"{subject} #{number}"}
            )
        ids += [row.pk for row in rows]
    return ids


def expected_message_ids(ids) -> set[str]:
    return {f"<notification-{pk}@localhost>" for pk in ids}


def sent_count() -> int:
    return Notification.objects.filter(sent_at__isnull=False).count()


def test_rolled_back_event_sends_nothing_and_committed_one_mails_each_recipient_once(
    broker, smtp_sink, celery_processes
):
    celery_processes.smtp_port = smtp_sink.port
    alice, bob, carol = people(3)
    celery_processes.worker()

    with pytest.raises(RuntimeError), transaction.atomic():
        notify(users=[alice, bob], kind="test", context={"subject": "Rolled back"})
        raise RuntimeError("the event failed")
    with transaction.atomic():
        committed = notify(
            users=[alice, bob, carol, alice], kind="test", context={"subject": "Committed"}
        )

    wait_for(lambda: sent_count() == 3, timeout=30, what="3 notifications marked sent")
    wait_for(lambda: len(smtp_sink.messages) >= 3, timeout=10, what="3 e-mails")
    assert not Notification.objects.filter(subject="Rolled back").exists()
    assert sorted(m["to"][0] for m in smtp_sink.messages) == [
        "person0@example.com",
        "person1@example.com",
        "person2@example.com",
    ]
    assert {m["subject"] for m in smtp_sink.messages} == {"Committed"}
    assert set(smtp_sink.message_ids()) == expected_message_ids(r.pk for r in committed)


def test_200_notifications_through_a_real_worker_are_all_sent_none_twice(
    broker, smtp_sink, celery_processes
):
    celery_processes.smtp_port = smtp_sink.port
    recipients = people(10)
    ids = events(recipients, 20)
    assert len(ids) == 200
    celery_processes.worker()

    wait_for(lambda: sent_count() == 200, timeout=60, what="200 notifications marked sent")
    wait_for(lambda: len(smtp_sink.messages) >= 200, timeout=10, what="200 e-mails")

    assert len(smtp_sink.messages) == 200
    assert smtp_sink.duplicates() == 0
    assert set(smtp_sink.message_ids()) == expected_message_ids(ids)
    assert not Notification.objects.filter(attempts__gt=1).exists()


def test_worker_killed_mid_batch_then_a_new_worker_delivers_everything(
    broker, smtp_sink, celery_processes, record_property
):
    smtp_sink.delay = 0.02  # a slow mail server, so the batch is still running at the kill
    celery_processes.smtp_port = smtp_sink.port
    recipients = people(10)
    ids = events(recipients, 20)
    doomed = celery_processes.worker(concurrency=2)

    wait_for(lambda: sent_count() >= 30, timeout=60, what="the batch to be under way")
    celery_processes.kill(doomed)
    sent_at_kill = sent_count()
    # Claimed but not marked sent: the tasks that were in flight when the worker died.
    in_flight = Notification.objects.filter(claimed_at__isnull=False, sent_at__isnull=True).count()
    assert sent_at_kill < 200, "the worker finished before the kill: nothing was tested"

    celery_processes.worker(concurrency=2)
    celery_processes.beat()
    wait_for(lambda: sent_count() == 200, timeout=60, what="all 200 notifications sent")
    wait_for(lambda: len(set(smtp_sink.message_ids())) >= 200, timeout=10, what="200 e-mails")

    duplicates = smtp_sink.duplicates()
    record_property("duplicates_after_sigkill", duplicates)
    print(
        f"\nSIGKILL after {sent_at_kill}/200 sent, {in_flight} in flight; "
        f"duplicates after recovery: {duplicates}"
    )
    assert set(smtp_sink.message_ids()) == expected_message_ids(ids)
    assert duplicates <= in_flight


def test_events_commit_while_redis_is_down_and_the_beat_sweep_delivers_them(
    broker, smtp_sink, celery_processes
):
    celery_processes.smtp_port = smtp_sink.port
    recipients = people(5)
    broker.use(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens: Redis is down

    started = time.monotonic()
    ids = events(recipients, 4, subject="Incident reported")
    took = time.monotonic() - started

    assert len(ids) == 20
    assert Notification.objects.filter(pk__in=ids, sent_at__isnull=True).count() == 20
    assert took < 4 * 3, f"each event waited on the dead broker ({took:.1f}s for 4)"

    # Redis is back: the worker and beat use it; the sweep finds the pending rows.
    celery_processes.worker()
    celery_processes.beat()
    wait_for(lambda: sent_count() == 20, timeout=45, what="the sweep to deliver all 20")
    wait_for(lambda: len(smtp_sink.messages) >= 20, timeout=10, what="20 e-mails")

    assert smtp_sink.duplicates() == 0
    assert set(smtp_sink.message_ids()) == expected_message_ids(ids)


def test_smtp_down_keeps_rows_pending_with_the_error_then_delivers_when_it_returns(
    broker, smtp_port_down, celery_processes
):
    sink = smtp_port_down
    celery_processes.smtp_port = sink.port
    recipients = people(5)
    celery_processes.worker()
    ids = events(recipients, 1, subject="Deadline in 24 hours")

    def all_failed_once():
        rows = Notification.objects.filter(pk__in=ids)
        return all(r.attempts >= 1 and r.last_error and r.sent_at is None for r in rows)

    wait_for(all_failed_once, timeout=30, what="every send to fail against the closed port")
    assert sink.messages == []
    assert "refused" in Notification.objects.get(pk=ids[0]).last_error.lower()

    sink.start()
    wait_for(lambda: sent_count() == 5, timeout=45, what="the retries to deliver all 5")

    assert sorted(m["to"][0] for m in sink.messages) == sorted(r.email for r in recipients)
    assert sink.duplicates() == 0
    rows = Notification.objects.filter(pk__in=ids)
    assert all(r.attempts >= 2 and r.last_error == "" for r in rows)


def test_a_recipient_refused_with_550_fails_after_one_attempt_and_compliance_is_told(
    broker, smtp_sink, celery_processes
):
    """The real worker and beat: a permanent refusal is not retried (not by the task, not by
    the sweep), the others in the same event are delivered, compliance is told once."""
    from django.contrib.auth.models import Group

    from portal import roles

    celery_processes.smtp_port = smtp_sink.port
    gone, present, officer = people(3)
    officer.groups.add(Group.objects.get(name=roles.COMPLIANCE))
    smtp_sink.refuse[gone.email] = "550 5.1.1 No such user here"
    celery_processes.worker()
    celery_processes.beat()

    with transaction.atomic():
        rows = notify(users=[gone, present], kind="test", context={"subject": "Incident reported"})
    refused = next(row for row in rows if row.recipient_id == gone.pk)

    def alert_sent():
        return Notification.objects.filter(
            kind="notification_undelivered", sent_at__isnull=False
        ).exists()

    wait_for(alert_sent, timeout=30, what="compliance's alert to be delivered")
    time.sleep(4)  # several sweeps (every second here) and task retries had their chance

    refused.refresh_from_db()
    assert refused.failed_at is not None and refused.sent_at is None
    assert refused.attempts == 1
    assert "550 5.1.1" in refused.last_error
    assert Notification.objects.get(recipient=present, kind="test").sent_at is not None
    alert = Notification.objects.get(kind="notification_undelivered")
    assert alert.recipient_id == officer.pk
    assert sorted(m["to"][0] for m in smtp_sink.messages) == sorted([present.email, officer.email])
    assert smtp_sink.duplicates() == 0
