"""A confidential reporter's identity appears nowhere outside Compliance and Legal: not in
pages, API answers, notifications, e-mails, the audit trail or the row history."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse

from incidents.models import Incident
from incidents.services.deadlines import incident_no_risk_confirm, incident_no_risk_propose
from incidents.services.escalation import (
    incident_duties_flag_overdue,
    incident_duties_remind,
    incidents_escalate_unacknowledged,
)
from incidents.services.reports import incident_acknowledge
from incidents.services.triage import incident_triage
from portal import roles
from portal.models import AuditEvent, Notification, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CARL = ("carl", "christensen")


def names_carl(text: str) -> bool:
    text = text.lower()
    return any(word in text for word in CARL)


def main_of(response) -> str:
    """The page's content, without the navigation bar that names the signed-in user."""
    page = response.content.decode()
    return re.search(r"<main.*</main>", page, re.S).group(0)


@pytest.fixture
def confidential(report, frozen):
    return report(confidential_reporter=True)


@pytest.fixture
def whole_life(confidential, deliver, responders, frozen):
    """Acknowledged, escalated before that, a breach with reminders and an overdue notice,
    a no-risk proposal and closing: every message the portal sends about an incident."""
    comp, comp2, legal = responders
    frozen.move_to(confidential.reported_at + timedelta(minutes=61))
    deliver(incidents_escalate_unacknowledged)
    deliver(incident_acknowledge, actor=comp, incident=confidential)
    deliver(
        incident_triage,
        actor=comp,
        incident=confidential,
        personal_data_breach=True,
        breach_reason="Phone numbers reached people without a right to them.",
        assignee=legal,
    )
    frozen.move_to(confidential.aware_at + timedelta(hours=25))
    deliver(incident_duties_remind)
    frozen.move_to(confidential.aware_at + timedelta(hours=73))
    deliver(incident_duties_flag_overdue)
    deliver(
        incident_no_risk_propose,
        actor=comp,
        incident=confidential,
        reason="Encrypted file, key not disclosed.",
    )
    deliver(incident_no_risk_confirm, actor=comp2, incident=confidential)
    for status in ("investigating", "contained", "closed"):
        deliver(incident_triage, actor=legal, incident=confidential, status=status)
    return confidential


def test_no_notification_or_email_about_a_confidential_report_names_the_reporter(whole_life):
    kinds = set(Notification.objects.values_list("kind", flat=True))
    assert {
        "incident_reported",
        "incident_escalated",
        "incident_acknowledged",
        "incident_assigned",
        "incident_deadline_reminder",
        "incident_deadline_overdue",
        "incident_no_risk_proposed",
        "incident_closed",
    } <= kinds
    for notification in Notification.objects.all():
        assert not names_carl(notification.subject + notification.body), notification.kind
    assert len(mail.outbox) == Notification.objects.count()
    for message in mail.outbox:
        assert not names_carl(message.subject + message.body), message.subject


def test_a_named_reporter_is_named_to_compliance_and_legal(report, responders):
    members = {
        user.username
        for user in User.objects.filter(groups__name__in=[roles.COMPLIANCE, roles.LEGAL])
    }
    assert members == {"comp", "comp2", "legal"}  # two compliance officers and legal counsel

    report(confidential_reporter=False)

    told = {
        note.recipient.username: note.body
        for note in Notification.objects.filter(kind="incident_reported").select_related(
            "recipient"
        )
    }
    assert set(told) == members
    for username, body in told.items():
        assert "Reporter: Carl Christensen." in body, username
    mailed = {message.to[0]: message.body for message in mail.outbox}
    assert set(mailed) == {f"{username}@example.com" for username in members}
    for address, body in mailed.items():
        assert "Reporter: Carl Christensen." in body, address


def test_audit_trail_and_row_history_of_a_confidential_report_carry_no_reporter(whole_life):
    events = AuditEvent.objects.filter(target_id=str(whole_life.pk))
    report_event = events.get(action="incident.report")
    assert report_event.actor is None and report_event.actor_label == "confidential"
    assert report_event.detail["reporter"] == "confidential"
    for event in events:
        assert not names_carl(f"{event.actor_label} {event.target_label} {event.detail}")
    assert "reporter" not in {f.name for f in Incident.history.model._meta.fields}
    first = whole_life.history.earliest("history_date")
    assert first.history_user is None


def test_reporter_reads_confidential_in_his_own_pages_and_api(
    client, api_client, carl, confidential
):
    client.force_login(carl)
    api_client.force_authenticate(carl)

    detail = client.get(reverse("incidents:detail", args=[confidential.pk]))
    mine = client.get(reverse("incidents:mine"))
    one = api_client.get(f"/api/incidents/{confidential.pk}/").json()
    listed = api_client.get("/api/incidents/").json()["results"]

    assert detail.context["reporter"] == "confidential"
    assert not names_carl(main_of(detail)) and not names_carl(main_of(mine))
    assert one["reporter"] == "confidential" and listed[0]["reporter"] == "confidential"
    assert not names_carl(str(one)) and not names_carl(str(listed))


def test_api_answer_to_the_report_itself_says_confidential(api_client, carl, responders):
    api_client.force_authenticate(carl)

    body = api_client.post(
        "/api/incidents/",
        {"title": "x", "description": "y", "confidential_reporter": True},
        format="json",
    ).json()

    assert body["reporter"] == "confidential"


def test_other_employees_and_owners_get_nothing_at_all(client, api_client, alice, confidential):
    client.force_login(alice)
    api_client.force_authenticate(alice)

    assert client.get(reverse("incidents:detail", args=[confidential.pk])).status_code == 404
    assert api_client.get(f"/api/incidents/{confidential.pk}/").status_code == 404
    assert api_client.get("/api/incidents/").json()["results"] == []


def test_administrator_sees_no_incident_in_the_admin(client, confidential):
    """Incidents are for Compliance and Legal, in the portal: not in the admin at all."""
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)

    listing = client.get("/admin/incidents/incident/")
    change = client.get(f"/admin/incidents/incident/{confidential.pk}/change/")

    assert listing.status_code == 404 and change.status_code == 404
    assert not names_carl(listing.content.decode())
    assert not names_carl(change.content.decode())


def test_compliance_and_legal_see_who_reported(client, api_client, responders, confidential):
    comp, _, legal = responders
    client.force_login(comp)
    api_client.force_authenticate(legal)

    detail = client.get(reverse("incidents:detail", args=[confidential.pk]))
    listing = client.get(reverse("incidents:list"))

    assert "Carl Christensen" in main_of(detail)
    assert "Carl Christensen" in main_of(listing)
    assert api_client.get(f"/api/incidents/{confidential.pk}/").json()["reporter"] == (
        "Carl Christensen"
    )
