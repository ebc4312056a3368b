"""The worker writes one JSON line per task, carrying the request id of the request that
queued it (django-structlog), through a real Redis and a real `celery worker`."""

import json

import pytest
import structlog
from django.contrib.auth import get_user_model
from django.db import transaction

from portal.notifications import notify
from tests.integration.services import wait_for

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def json_lines(text: str) -> list[dict]:
    lines = []
    for line in text.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    return lines


def test_a_task_queued_by_a_request_logs_one_json_line_with_that_request_id(
    broker, smtp_sink, celery_processes, tmp_path
):
    celery_processes.smtp_port = smtp_sink.port
    person = get_user_model().objects.create(username="p", email="p@example.com")
    celery_processes.worker(concurrency=1)
    # What django-structlog's request middleware binds for the length of a request.
    structlog.contextvars.bind_contextvars(request_id="req-4711", user_id=person.pk)
    try:
        with transaction.atomic():
            notify(users=[person], kind="test", context={"subject": "Hello"})
    finally:
        structlog.contextvars.clear_contextvars()

    def finished() -> list[dict]:
        text = "".join(path.read_text(errors="replace") for path in tmp_path.glob("worker-*.log"))
        return [line for line in json_lines(text) if line.get("event") == "task_succeeded"]

    wait_for(lambda: finished(), timeout=30, what="the worker's task_succeeded line")
    line = finished()[0]
    assert line["request_id"] == "req-4711"
    assert line["user_id"] == person.pk
    assert "p@example.com" not in json.dumps(finished())
    started = [
        entry
        for entry in json_lines(
            "".join(path.read_text(errors="replace") for path in tmp_path.glob("worker-*.log"))
        )
        if entry.get("event") == "task_started"
    ]
    assert started == []  # one line per task: the start is DEBUG
