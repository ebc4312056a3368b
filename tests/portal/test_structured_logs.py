"""One JSON line per request: its request id and user id, never the query string, the IP
address or anything else that names a person; the security log keeps its lines."""

import json
import logging

import pytest
import structlog
from django.test import Client

from portal.audit import security_event
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def as_json(record: logging.LogRecord) -> dict:
    """The line the console handler writes for ``record`` (the ``json`` formatter)."""
    [formatter] = [
        handler.formatter
        for handler in logging.getLogger().handlers
        if isinstance(handler.formatter, structlog.stdlib.ProcessorFormatter)
    ]
    return json.loads(formatter.format(record))


def lines(caplog, event: str) -> list[dict]:
    return [
        as_json(record)
        for record in caplog.records
        if isinstance(record.msg, dict) and record.msg.get("event") == event
    ]


def test_a_request_writes_one_json_line_with_request_and_user_id(caplog):
    person = UserFactory(username="searcher", first_name="Ingrid", last_name="Nilsen")
    client = Client(REMOTE_ADDR="198.51.100.7", HTTP_USER_AGENT="Probe/1.0")
    client.force_login(person)

    with caplog.at_level(logging.INFO):
        response = client.get("/customers/search/", {"q": "Ingrid Nilsen"})

    [line] = lines(caplog, "request_finished")
    assert line["user_id"] == person.pk
    assert line["request"] == "GET /customers/search/"
    # The same id as the answer's header, the audit rows and the security log.
    assert line["request_id"] == response["X-Request-ID"]
    assert lines(caplog, "request_started") == []
    text = json.dumps(line)
    assert "Ingrid" not in text and "198.51.100.7" not in text and "Probe/1.0" not in text


def test_the_security_log_keeps_its_lines_as_json(caplog):
    with caplog.at_level(logging.INFO, logger="portal.security"):
        security_event("login.locked_out", username_hash="abc")

    records = [record for record in caplog.records if record.name == "portal.security"]
    assert records
    line = as_json(records[0])
    assert line["logger"] == "portal.security" and line["level"] in ("warning", "info")
    assert "login.locked_out" in line["event"]
