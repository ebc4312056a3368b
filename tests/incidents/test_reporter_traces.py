"""A confidential reporter stays unknown in every stored trace.

carl makes named events and a confidential report from the same address, with the same API
token (or session) and even the same request id header; the confidential report's audit
events share no identifying value with his other events, and the history rows it writes
(incident, timeline, notifications) name nobody.
"""

import logging

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from incidents.models import Incident, TimelineEntry
from portal.audit import token_fingerprint
from portal.models import AuditEvent, Notification

ADDRESS = "10.20.30.40"
SAME_REQUEST_ID = "carl-laptop-trace-1"  # a client (or proxy) that sends one id throughout

# The fields that say WHAT happened, shared by everyone who does the same thing: equal
# values there link no one. Every other field of an event must differ.
WHAT_HAPPENED = {"id", "action", "target_type", "channel", "asset_id", "previous_hash", "hash"}
EVENT_FIELDS = [field.attname for field in AuditEvent._meta.concrete_fields]


def shared_values(confidential: AuditEvent, named: AuditEvent) -> dict:
    return {
        name: getattr(confidential, name)
        for name in EVENT_FIELDS
        if name not in WHAT_HAPPENED
        and getattr(confidential, name) not in (None, "", {}, [])
        and getattr(confidential, name) == getattr(named, name)
    }


def assert_unlinkable(incident: Incident, reporter, *, token_key: str = ""):
    confidential = list(
        AuditEvent.objects.filter(target_type="incidents.incident", target_id=str(incident.pk))
    )
    named = list(AuditEvent.objects.filter(actor=reporter))
    assert confidential and named
    for event in confidential:
        assert event.actor_id is None and event.actor_label == "confidential"
        assert (event.ip, event.request_id, event.token_id) == (None, "", "")
        # The time is kept to the minute only.
        assert (event.created_at.second, event.created_at.microsecond) == (0, 0)
        text = str(event.detail) + event.target_label
        for identifying in (reporter.username, str(reporter), ADDRESS, SAME_REQUEST_ID):
            assert identifying not in text
        if token_key:
            assert token_fingerprint(token_key) not in text
        for other in named:
            assert shared_values(event, other) == {}, (event.action, other.action)
    # The named events do carry what identifies them: the comparison had something to find.
    assert any(event.ip == ADDRESS for event in named)


def assert_history_names_nobody(incident: Incident):
    rows = list(incident.history.all())
    rows += list(TimelineEntry.history.filter(incident_id=incident.pk))
    rows += list(
        Notification.history.filter(target_type="incidents.incident", target_id=str(incident.pk))
    )
    assert len(rows) >= 4
    assert {row.history_user_id for row in rows} == {None}


@pytest.fixture
def token_client(carl):
    token = Token.objects.create(user=carl)
    client = APIClient(
        REMOTE_ADDR=ADDRESS,
        HTTP_X_REQUEST_ID=SAME_REQUEST_ID,
        HTTP_AUTHORIZATION=f"Token {token.key}",
    )
    client.token_key = token.key
    return client


def report_by_api(client, *, confidential: bool, title: str):
    response = client.post(
        "/api/incidents/",
        {
            "title": title,
            "description": "The list was attached to an e-mail to a supplier.",
            "confidential_reporter": confidential,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return Incident.objects.get(pk=response.json()["id"])


def test_a_confidential_report_by_api_token_shares_nothing_with_the_reporters_named_events(
    carl, responders, token_client, caplog
):
    report_by_api(token_client, confidential=False, title="Named report one")
    with caplog.at_level(logging.INFO, logger="portal.security"):
        confidential = report_by_api(token_client, confidential=True, title="Anonymous report")
    report_by_api(token_client, confidential=False, title="Named report two")

    named = AuditEvent.objects.filter(actor=carl)
    assert {event.token_id for event in named} == {token_fingerprint(token_client.token_key)}
    assert {event.request_id for event in named} == {SAME_REQUEST_ID}
    assert_unlinkable(confidential, carl, token_key=token_client.token_key)
    assert_history_names_nobody(confidential)
    # A successful report writes no security log line: nothing there to link either.
    assert not [r for r in caplog.records if r.name == "portal.security"]


def test_a_confidential_report_on_the_page_shares_nothing_with_the_reporters_named_events(
    client, carl, responders
):
    # A real login (the password step) from carl's address: a named event with that address.
    response = client.post(
        reverse("login"),
        {"username": "carl", "password": "correct horse battery staple"},
        REMOTE_ADDR=ADDRESS,
        HTTP_X_REQUEST_ID=SAME_REQUEST_ID,
    )
    assert response.status_code == 302
    for title, confidential in (("Named report", False), ("Anonymous report", True)):
        data = {"title": title, "description": "A spreadsheet on the open share."}
        if confidential:
            data["confidential_reporter"] = "on"
        response = client.post(
            reverse("incidents:report"),
            data,
            REMOTE_ADDR=ADDRESS,
            HTTP_X_REQUEST_ID=SAME_REQUEST_ID,
        )
        assert response.status_code == 302
    confidential = Incident.objects.get(title="Anonymous report")
    assert confidential.confidential_reporter and confidential.reporter == carl

    assert AuditEvent.objects.filter(actor=carl, action="auth.login", ip=ADDRESS).exists()
    assert_unlinkable(confidential, carl)
    assert_history_names_nobody(confidential)


def test_a_named_report_keeps_its_reporter_and_request_details(carl, responders, token_client):
    incident = report_by_api(token_client, confidential=False, title="Named report")
    event = AuditEvent.objects.get(action="incident.report", target_id=str(incident.pk))
    assert (event.actor, event.ip, event.request_id) == (carl, ADDRESS, SAME_REQUEST_ID)
    assert event.token_id == token_fingerprint(token_client.token_key)
    assert incident.history.earliest("history_date").history_user == carl


def test_the_identity_is_withheld_only_inside_the_confidential_report(carl):
    from portal.audit import audit_record, identity_withheld

    with identity_withheld():
        hidden = audit_record(actor=carl, action="records.view")
    shown = audit_record(actor=carl, action="records.view")

    assert (hidden.actor, hidden.actor_label) == (None, "confidential")
    assert (shown.actor, shown.actor_label) == (carl, "carl")
    assert shown.created_at.microsecond != 0 or shown.created_at.second != 0


def test_a_security_log_line_written_while_the_identity_is_withheld_names_nobody(carl, caplog):
    from portal.audit import identity_withheld, security_event

    with caplog.at_level(logging.INFO, logger="portal.security"):
        security_event("test.refusal", user=carl)
        with identity_withheld():
            security_event("test.refusal", user=carl)
    named, withheld = [r.getMessage() for r in caplog.records if r.name == "portal.security"]
    assert "user='carl'" in named
    assert "carl" not in withheld and "user='anonymous'" in withheld
