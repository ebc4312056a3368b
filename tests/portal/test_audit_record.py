import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token

from portal.audit import GENESIS_HASH, audit_channel, audit_record
from portal.audit_seal import event_link, seal_pending
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_events_are_written_unsealed_then_sealed_each_linked_to_the_previous_one(requester, asset):
    first = audit_record(actor=requester, action="records.view", target=asset)
    second = audit_record(actor=None, action="grant.expire", detail={"count": 3})
    assert (first.position, first.hash) == (None, None)

    assert seal_pending().sealed == 2
    first, second = AuditEvent.objects.get(pk=first.pk), AuditEvent.objects.get(pk=second.pk)

    assert (first.position, second.position) == (1, 2)
    assert first.previous_hash == GENESIS_HASH
    assert second.previous_hash == first.hash
    assert first.hash == event_link(first) and first.key_id == "test"
    assert second.actor_label == "system"
    assert first.asset_id == asset.pk
    assert first.target_type == "customers.dataasset"


def test_an_edited_event_no_longer_matches_its_link(requester):
    audit_record(actor=requester, action="export.download", detail={"rows": 10})
    seal_pending()
    event = AuditEvent.objects.get()
    event.detail = {"rows": 1}

    assert event_link(event) != event.hash


def test_a_link_needs_the_key_a_plain_hash_of_the_content_is_not_one(requester, settings):
    audit_record(actor=requester, action="export.download", detail={"rows": 10})
    seal_pending()
    event = AuditEvent.objects.get()
    settings.AUDIT_KEYS = "test:another-secret"

    assert event_link(event) != event.hash


def test_commands_and_tasks_name_their_channel(requester):
    assert audit_record(actor=requester, action="records.view").channel == "command"
    with audit_channel("task"):
        assert audit_record(actor=None, action="records.view").channel == "task"


def test_a_classification_change_in_the_ui_is_audited_with_request_details(
    client, compliance_officer, asset
):
    client.force_login(compliance_officer)

    client.post(
        reverse("customers:asset_classify", args=[asset.pk]),
        {"classification": "internal", "reason": "Business contacts only, reviewed."},
        HTTP_X_REQUEST_ID="req-123",
        REMOTE_ADDR="10.1.2.3",
    )

    event = AuditEvent.objects.get(action="asset.classification_change")
    assert event.actor == compliance_officer
    assert event.asset_id == asset.pk
    assert event.detail["to"] == "internal"
    assert event.detail["from"] == {"classification": "confidential", "confirmed": False}
    assert (event.channel, event.request_id, event.ip) == ("web", "req-123", "10.1.2.3")


def test_an_api_change_records_the_token_fingerprint_never_the_token(
    api_client, compliance_officer, asset
):
    token = Token.objects.create(user=compliance_officer)

    api_client.post(
        f"/api/assets/{asset.pk}/classify/",
        {"classification": "restricted", "reason": "Holds contract values, need to know."},
        format="json",
        HTTP_AUTHORIZATION=f"Token {token.key}",
    )

    event = AuditEvent.objects.get(action="asset.classification_change")
    assert event.channel == "api"
    assert event.token_id and token.key not in event.token_id
    assert token.key not in str(event.detail)


def test_a_refused_classification_leaves_no_event(client, requester, asset):
    client.force_login(requester)

    client.post(
        reverse("customers:asset_classify", args=[asset.pk]),
        {"classification": "public", "reason": "Please make it public now."},
    )

    assert not AuditEvent.objects.filter(action="asset.classification_change").exists()
