"""What people read, word for word, for the kinds with the most moving parts, through the
public services: the subject and body of each notification as stored and mailed. The texts
live in templates/notifications/; a change to one shows up here."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core import mail

from consent.models import Purpose
from customers.services.access import access_request_create, access_request_decide
from customers.services.grants import grant_revoke
from incidents.services.deadlines import incident_no_risk_confirm, incident_no_risk_propose
from incidents.services.escalation import (
    incident_duties_flag_overdue,
    incident_duties_remind,
    incidents_escalate_unacknowledged,
)
from incidents.services.reports import incident_acknowledge, incident_report
from incidents.services.triage import incident_triage
from portal.display import datetime_text
from portal.models import Notification
from tests.customers.conftest import EMAIL_MARKETING, JUSTIFICATION, consent
from tests.factories import DataAssetFactory, UserFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def frozen():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def email_marketing(db):
    return Purpose.objects.get(key=EMAIL_MARKETING)


@pytest.fixture
def carl(db):
    return UserFactory(username="carl", first_name="Carl", last_name="Christensen")


def texts(kind: str) -> list[tuple[str, str, str, str]]:
    """(recipient, subject, body, link) of every notification of ``kind``, by recipient."""
    rows = Notification.objects.filter(kind=kind).order_by("recipient__username")
    return [(n.recipient.username, n.subject, n.body, n.link) for n in rows]


def test_an_access_request_from_ask_to_revoke(
    frozen,
    requester,
    owner,
    compliance_officer,
    email_marketing,
    django_capture_on_commit_callbacks,
):
    asset = DataAssetFactory(
        owner=owner,
        name="Newsletter <EU> & friends",
        customers=2,
        classification="confidential",
        classification_confirmed=True,
    )
    consent(asset.customers.all())
    with django_capture_on_commit_callbacks(execute=True):
        request = access_request_create(
            actor=requester, asset=asset, purpose=email_marketing, justification=JUSTIFICATION
        )
        access_request_decide(
            access_request=request, actor=owner, approve=True, reason="Fine by the owner."
        )
        access_request_decide(
            access_request=request, actor=compliance_officer, approve=True, reason="Fine by us."
        )
    link = f"/requests/{request.pk}/"
    chain_title = request.chain.title
    summary = request.chain.summary

    assert texts("approval_needed") == [
        (
            "comp",
            f"Approval needed: {chain_title}",
            f"Rita Requester asks: {chain_title}.\n{summary}\n\n"
            f"Step 2: Compliance. Decide in the portal: {request.chain.link}",
            request.chain.link,
        ),
        (
            "own",
            f"Approval needed: {chain_title}",
            f"Rita Requester asks: {chain_title}.\n{summary}\n\n"
            f"Step 1: Data owner. Decide in the portal: {request.chain.link}",
            request.chain.link,
        ),
    ]
    assert request.chain.link.endswith(link)
    assert texts("request_progress") == [
        (
            "req",
            f"Your request: {chain_title}",
            f"Step 1 approved by Otto Owner; next: Compliance.\n{request.chain.link}",
            request.chain.link,
        )
    ]
    assert texts("request_decided") == [
        (
            "req",
            f"Your request: {chain_title}",
            f"Approved by Cora Person: Fine by us.\n{request.chain.link}",
            request.chain.link,
        )
    ]
    grant = request.grant
    assert texts("grant_created") == [
        (
            "req",
            "Access granted: Newsletter <EU> & friends",
            "You may use Newsletter <EU> & friends for Marketing Email Communications "
            "(marketing.communications.email) until "
            f"{datetime_text(grant.expires_at, ZoneInfo('Europe/Oslo'))}. Only customers who are "
            "eligible for this purpose at the moment you read are shown.",
            f"/grants/{grant.pk}/records/",
        )
    ]

    with django_capture_on_commit_callbacks(execute=True):
        grant_revoke(actor=owner, grant=grant, reason="The campaign is over.")
    assert texts("grant_revoked") == [
        (
            "req",
            "Access revoked: Newsletter <EU> & friends",
            "Otto Owner revoked your access to Newsletter <EU> & friends: The campaign is over.",
            "/grants/",
        )
    ]
    message = next(m for m in mail.outbox if m.subject.startswith("Access revoked"))
    assert message.body == (
        "Otto Owner revoked your access to Newsletter <EU> & friends: The campaign is over."
        f"\n\nOpen it in the portal: {settings.PORTAL_URL}/grants/"
    )


def test_an_incident_from_a_confidential_report_to_its_close(
    frozen, carl, compliance_officer, legal_counsel, django_capture_on_commit_callbacks
):
    legal_counsel.time_zone = "America/New_York"
    legal_counsel.save()
    with django_capture_on_commit_callbacks(execute=True):
        incident = incident_report(
            actor=carl,
            title="Export <mailed> & lost",
            description="A spreadsheet with customer phone numbers.",
            confidential_reporter=True,
        )
        incident_acknowledge(actor=compliance_officer, incident=incident)
        incident_triage(
            actor=compliance_officer,
            incident=incident,
            assignee=legal_counsel,
            personal_data_breach=True,
            breach_reason="Phone numbers reached an outside address.",
        )
        incident_no_risk_propose(
            actor=compliance_officer, incident=incident, reason="The recipient deleted it."
        )
        incident_no_risk_confirm(actor=legal_counsel, incident=incident)
        incident_triage(actor=legal_counsel, incident=incident, status="closed")
    ref, link = incident.reference, f"/incidents/{incident.pk}/"

    def reported(zone_time: str) -> str:
        return (
            f"A report of suspected mishandling was filed on {zone_time}.\n"
            f"Discovered: {zone_time}.\n"
            "Reporter: confidential (the reporter asked to stay confidential; only Compliance "
            "and Legal can see the name, in the portal).\n"
            f"Acknowledge it within {settings.INCIDENT_ACK_SLA} minutes.\n\n"
            "What happened:\nA spreadsheet with customer phone numbers."
        )

    subject = f"New incident report {ref}: Export <mailed> & lost"
    assert texts("incident_reported") == [
        ("comp", subject, reported("3 Mar 2025 10:00 CET"), link),
        ("legal", subject, reported("3 Mar 2025 04:00 EST"), link),
    ]
    assert texts("incident_acknowledged") == [
        (
            "carl",
            f"Your report {ref} was acknowledged",
            "Compliance and Legal have taken up your report. You can follow its status in the "
            "portal under My reports.",
            link,
        )
    ]
    assert texts("incident_assigned") == [
        (
            "legal",
            f"Incident {ref} is assigned to you",
            f"Cora Person assigned {ref} (Export <mailed> & lost) to you.",
            link,
        )
    ]
    assert texts("incident_no_risk_proposed") == [
        (
            "legal",
            f"Confirm or reject: {ref} unlikely to result in a risk?",
            "Cora Person proposes not to notify the authority. A second member of Compliance or "
            "Legal must confirm it; until then the 72-hour clock keeps running.\n"
            "Reason: The recipient deleted it.",
            link,
        )
    ]
    assert texts("incident_closed") == [
        (
            "carl",
            f"Your report {ref} is closed",
            "Compliance and Legal have finished handling your report. Thank you for reporting it.",
            link,
        )
    ]
    everything = " ".join(n.subject + n.body for n in Notification.objects.all())
    assert "Carl" not in everything and "Christensen" not in everything


def test_an_unacknowledged_breach_escalates_then_its_deadline_reminds_and_runs_over(
    carl, compliance_officer, legal_counsel, django_capture_on_commit_callbacks
):
    legal_counsel.time_zone = "UTC"
    legal_counsel.save()
    hour = timedelta(hours=1)

    def run(job, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return job(**kwargs)

    with time_machine.travel(T0, tick=False):
        incident = run(
            incident_report,
            actor=carl,
            title="Export mailed",
            description="Oops.",
            discovered_at=T0 - hour,
        )
    with time_machine.travel(T0 + timedelta(minutes=settings.INCIDENT_ACK_SLA), tick=False):
        run(incidents_escalate_unacknowledged)
        run(incident_acknowledge, actor=compliance_officer, incident=incident)
        run(
            incident_triage,
            actor=compliance_officer,
            incident=incident,
            personal_data_breach=True,
            breach_reason="Names and phone numbers reached an outside recipient.",
        )
    duty = incident.duties.get(duty__regime__key="gdpr-art-33")
    with time_machine.travel(duty.due_at - 48 * hour, tick=False):
        run(incident_duties_remind)
    with time_machine.travel(duty.due_at + 30 * hour, tick=False):
        run(incident_duties_flag_overdue)
    ref, link = incident.reference, f"/incidents/{incident.pk}/"
    waited = settings.INCIDENT_ACK_SLA
    name, regime = duty.duty.name, duty.duty.regime.name

    def escalated(reported: str) -> str:
        return (
            f"{ref} (Export mailed) was reported {reported}, {waited} minutes ago, and nobody "
            "has acknowledged it yet. Acknowledge it now."
        )

    assert texts("incident_escalated") == [
        (
            "comp",
            f"Escalation 1: {ref} is not acknowledged",
            escalated("3 Mar 2025 10:00 CET"),
            link,
        ),
        (
            "legal",
            f"Escalation 1: {ref} is not acknowledged",
            escalated("3 Mar 2025 09:00 UTC"),
            link,
        ),
    ]
    due_oslo = f"{duty.due_at.astimezone(ZoneInfo('Europe/Oslo')):%d %b %Y %H:%M %Z}".lstrip("0")
    due_utc = f"{duty.due_at.astimezone(UTC):%d %b %Y %H:%M %Z}".lstrip("0")
    assert texts("incident_deadline_reminder") == [
        (
            "comp",
            f"Reminder: {name} for {ref} due in 48 hours",
            f"{regime}: {name} for {ref} (Export mailed) is due {due_oslo}, in 48 hours.\n"
            "Record it in the portal once made.",
            link,
        ),
        (
            "legal",
            f"Reminder: {name} for {ref} due in 48 hours",
            f"{regime}: {name} for {ref} (Export mailed) is due {due_utc}, in 48 hours.\n"
            "Record it in the portal once made.",
            link,
        ),
    ]
    assert texts("incident_deadline_overdue") == [
        (
            "comp",
            f"OVERDUE: {name} for {ref}, 30 hours late",
            f"{regime}: {name} for {ref} (Export mailed) is due {due_oslo}, 30 hours ago.\n"
            "Make it now and record it with the reasons for the delay.",
            link,
        ),
        (
            "legal",
            f"OVERDUE: {name} for {ref}, 30 hours late",
            f"{regime}: {name} for {ref} (Export mailed) is due {due_utc}, 30 hours ago.\n"
            "Make it now and record it with the reasons for the delay.",
            link,
        ),
    ]
