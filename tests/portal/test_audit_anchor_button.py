"""Compliance's "Verify and anchor now" on the dashboard's audit trail card: the anchor job
itself (``audit_anchor_write``, as ``manage.py audit_anchor`` and the daily beat job),
recorded as ``audit.anchor`` with the officer as actor; POST only, compliance only."""

from pathlib import Path

import pytest
from django.urls import reverse

from portal.models import AuditEvent
from tests.portal.audit_tampering import TABLE, as_json, tamper, write_events

pytestmark = pytest.mark.django_db


def test_the_dashboard_card_offers_the_button_instead_of_the_command(client, compliance_officer):
    client.force_login(compliance_officer)

    page = client.get(reverse("home")).content.decode()

    assert f'action="{reverse("audit_anchor")}"' in page
    assert "Verify and anchor now" in page
    assert "manage.py audit_anchor" not in page


def test_an_officer_anchors_the_chain_and_is_the_actor_of_the_audit_event(
    client, compliance_officer, settings, django_capture_on_commit_callbacks
):
    write_events(3)
    client.force_login(compliance_officer)

    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(reverse("audit_anchor"), follow=True)

    anchor = AuditEvent.objects.get(action="audit.anchor")
    assert anchor.actor == compliance_officer
    assert anchor.channel == "web"
    files = list(Path(settings.AUDIT_ANCHOR_DIR).glob("anchor-*.json"))
    assert len(files) == 1
    text = answer.content.decode()
    assert answer.redirect_chain[-1][0] == reverse("home") + "#audit-chain"
    assert "The audit trail is intact" in text
    assert f"event #{anchor.detail['event_id']}, is anchored in {files[0].name}" in text
    assert "Intact</span> verified up to event" in text  # the card now says so


def test_a_broken_chain_is_reported_and_nothing_is_anchored(client, compliance_officer):
    events = write_events(3)
    tamper(f"UPDATE {TABLE} SET detail = {as_json()} WHERE id = %s", ['{"rows": 1}', events[1].pk])
    client.force_login(compliance_officer)

    text = client.post(reverse("audit_anchor"), follow=True).content.decode()

    assert f"The audit trail is broken at event #{events[1].pk}" in text
    assert not AuditEvent.objects.filter(action="audit.anchor").exists()
    assert AuditEvent.objects.filter(action="audit.verify_failed").exists()


@pytest.mark.parametrize("who", ["requester", "owner", "legal_counsel"])
def test_nobody_else_can_anchor_it_does_not_exist_for_them(client, request, who, settings):
    write_events(2)
    client.force_login(request.getfixturevalue(who))

    assert client.post(reverse("audit_anchor")).status_code == 404
    assert not AuditEvent.objects.filter(action="audit.anchor").exists()
    assert not list(Path(settings.AUDIT_ANCHOR_DIR).glob("anchor-*.json"))


def test_the_button_only_posts(client, compliance_officer):
    client.force_login(compliance_officer)

    assert client.get(reverse("audit_anchor")).status_code == 405
    assert not AuditEvent.objects.filter(action="audit.anchor").exists()


def test_the_service_refuses_a_person_who_is_not_compliance(requester):
    from portal.errors import NotAllowed
    from portal.services import audit_anchor_write

    with pytest.raises(NotAllowed, match="Only a compliance officer can anchor"):
        audit_anchor_write(actor=requester)
