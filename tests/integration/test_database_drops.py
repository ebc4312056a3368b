"""The database drops in the middle of work (its connections are terminated and new ones are
refused for a while) with a real PostgreSQL, Redis, `celery worker` and SMTP server: no
claim is left to wait for its timeout and no e-mail the server accepted is sent twice.
"""

import time

import psycopg
import pytest
from django.db import connection, transaction

from portal.models import Notification
from portal.notifications import notify
from tests.integration.services import wait_for
from tests.integration.test_notifications import people

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def drop_database_connections(seconds: float) -> None:
    """Terminate every session on the test database but this test's own and refuse new ones
    for ``seconds``: what the worker sees while PostgreSQL restarts. Run from a session on
    the ``postgres`` database (a database cannot refuse its own connections); the shared
    server itself is never stopped."""
    settings = connection.settings_dict
    name = settings["NAME"]
    mine = connection.cursor().connection.info.backend_pid
    admin = psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    quoted = connection.ops.quote_name(name)
    try:
        admin.execute(f"ALTER DATABASE {quoted} ALLOW_CONNECTIONS false")
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> %s",
            [name, mine],
        )
        time.sleep(seconds)
    finally:
        admin.execute(f"ALTER DATABASE {quoted} ALLOW_CONNECTIONS true")
        admin.close()


def test_a_database_drop_during_delivery_leaves_no_claim_and_sends_no_email_twice(
    broker, smtp_sink, celery_processes
):
    smtp_sink.delay = 0.4  # slow DATA, so the drop lands while messages are being accepted
    celery_processes.smtp_port = smtp_sink.port
    recipients = people(20)
    # A claim timeout far beyond the test: a claim left behind would be seen, not swept.
    celery_processes.worker(
        concurrency=1, CELERY_TASK_TIME_LIMIT="60", NOTIFICATION_CLAIM_TIMEOUT="600"
    )
    with transaction.atomic():
        ids = [
            row.pk for row in notify(users=recipients, kind="test", context={"subject": "Reported"})
        ]

    wait_for(lambda: len(smtp_sink.messages) >= 3, timeout=30, what="the batch to be under way")
    # Drop while the server is accepting the next message: its row cannot be marked sent.
    time.sleep(0.2)
    drop_database_connections(3.0)
    back = time.monotonic()

    wait_for(
        lambda: Notification.objects.filter(pk__in=ids, sent_at__isnull=False).count() == 20,
        timeout=60,
        what="all 20 notifications marked sent after the database returned",
    )
    recovered = time.monotonic() - back
    print(f"\nall sent {recovered:.1f}s after the database returned")

    assert recovered < 30, "the rows waited for something other than the database"
    assert not Notification.objects.filter(claimed_at__isnull=False, sent_at__isnull=True).exists()
    wait_for(lambda: len(smtp_sink.messages) >= 20, timeout=10, what="20 e-mails")
    time.sleep(1)
    assert smtp_sink.duplicates() == 0
    assert sorted(m["to"][0] for m in smtp_sink.messages) == sorted(r.email for r in recipients)


def _terminate(pid: int) -> None:
    """End one PostgreSQL session from outside, as a server restart or a network drop does."""
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.fixture
def connection_dropped_after_incident_commit():
    """Drop this process's database connection the moment the transaction that inserted an
    incident commits: the half-commit of a database restart. Django's own instrumentation
    (``execute_wrapper``, ``on_commit``); nothing of the portal is replaced."""
    dropped = []

    def watch(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith('INSERT INTO "INCIDENTS_INCIDENT"') and not dropped:
            pid = context["connection"].connection.info.backend_pid
            transaction.on_commit(lambda: (_terminate(pid), dropped.append(pid)))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        yield dropped


def test_a_connection_drop_after_the_report_commits_answers_the_incident_and_never_files_two(
    connection_dropped_after_incident_commit,
):
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    from incidents.models import Incident

    carl = get_user_model().objects.create(username="carl", email="carl@example.com")
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(carl)
    report = {"title": "Customer list on a shared drive", "description": "Seen today."}

    first = client.post("/api/incidents/", report, format="json", HTTP_IDEMPOTENCY_KEY="r-1")
    assert connection_dropped_after_incident_commit, "the connection was not dropped"
    # A new request starts with a health-checked connection (CONN_HEALTH_CHECKS), as under
    # gunicorn; the test client skips that signal, so the test does it.
    connection.close()
    again = client.post("/api/incidents/", report, format="json", HTTP_IDEMPOTENCY_KEY="r-1")

    assert first.status_code == 201, first.content[:300]
    assert again.status_code == 201
    assert again.json() == first.json()
    assert Incident.objects.count() == 1
    assert Incident.objects.get().reference == first.json()["reference"]
