"""Notifications speak each recipient's language, never the sender's: one event tells a
Norwegian reader in Norwegian and an English one in English, in the inbox and by e-mail
(through the real delivery, into Django's locmem outbox), whatever language the request that
caused it was in. The audit log and the inbox pages read in Norwegian too."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import translation

from incidents.services.reports import incident_report
from portal.audit import audit_record
from portal.audit_actions import AuditAction
from portal.identity.scim_tokens import scim_token_create
from portal.models import Notification
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# 09:30 UTC is 10:30 in Oslo (CET) and in the default Europe/Oslo site zone.
REPORTED = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize("request_language", ["en-gb", "nb"])
def test_one_incident_report_tells_each_responder_in_their_own_language(
    request_language,
    requester,
    compliance_officer,
    legal_counsel,
    settings,
    django_capture_on_commit_callbacks,
):
    settings.PORTAL_URL = "https://portal.example"
    legal_counsel.language = "nb"
    legal_counsel.save(update_fields=["language"])

    with (
        time_machine.travel(REPORTED, tick=False),
        translation.override(request_language),
        # Delivery is queued on commit (an eager Celery task): the real delivery function.
        django_capture_on_commit_callbacks(execute=True),
    ):
        incident = incident_report(
            actor=requester, title="Laptop left on a train", description="Seen today."
        )

    norwegian = Notification.objects.get(kind="incident_reported", recipient=legal_counsel)
    english = Notification.objects.get(kind="incident_reported", recipient=compliance_officer)
    assert norwegian.subject == f"Ny avviksmelding {incident.reference}: Laptop left on a train"
    assert english.subject == (f"New incident report {incident.reference}: Laptop left on a train")
    # The dates in each reader's format: 30.11.2026 in Norwegian.
    assert "En melding om mulig feilbehandling ble sendt inn 30.11.2026 10:30" in norwegian.body
    assert "Hva som skjedde:\nSeen today." in norwegian.body
    assert "A report of suspected mishandling was filed on" in english.body
    assert "What happened:\nSeen today." in english.body
    assert "suspected mishandling" not in norwegian.body

    sent = {message.to[0]: message for message in mail.outbox}
    assert set(sent) == {legal_counsel.email, compliance_officer.email}
    to_norwegian, to_english = sent[legal_counsel.email], sent[compliance_officer.email]
    assert to_norwegian.subject == norwegian.subject
    assert to_english.subject == english.subject
    address = f"https://portal.example{incident.get_absolute_url()}"
    assert to_norwegian.body.endswith(f"\n\nÅpne i portalen: {address}")
    assert "Open it in the portal" not in to_norwegian.body
    assert to_english.body.endswith(f"\n\nOpen it in the portal: {address}")
    assert "Hva som skjedde" not in to_english.body


def test_the_audit_log_names_its_actions_in_norwegian(client, compliance_officer):
    audit_record(actor=compliance_officer, action=AuditAction.AUTH_LOGIN, target=None)
    client.force_login(compliance_officer)

    page = client.get("/audit/", HTTP_ACCEPT_LANGUAGE="nb").content.decode()

    assert '<h1 class="h3 mb-3">Revisjonslogg</h1>' in page
    assert "Logget inn" in page and "<code>auth.login</code>" in page
    assert "Ingen hendelser passer" not in page


def test_the_inbox_reads_in_norwegian(client, requester):
    requester.language = "nb"
    requester.save(update_fields=["language"])
    client.force_login(requester)

    page = client.get("/notifications/").content.decode()

    assert "Ingen varsler ennå." in page


def test_scim_explains_a_refusal_in_the_language_the_client_asks_for(db):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    _token, raw = scim_token_create(actor=root, name="directory")
    scim = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    norwegian = scim.get("/scim/v2/Users/abc", HTTP_ACCEPT_LANGUAGE="nb").json()
    english = scim.get("/scim/v2/Users/abc").json()

    # The protocol's tokens stay as they are; only the sentence for people is translated.
    assert norwegian["status"] == english["status"] == "404"
    assert norwegian["detail"] == "Ingen bruker 'abc'."
    assert english["detail"] == "No user 'abc'."
