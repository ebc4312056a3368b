"""Security events reach the audit trail or the security log, never with a secret in them."""

import json
import logging

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from portal.audit import audit_record, security_event
from portal.audit_seal import seal_pending
from portal.audit_verify import verify_audit
from portal.models import AuditEvent
from tests.factories import DataAssetFactory
from tests.portal.audit_tampering import without_trigger

SECRET_PASSWORD = "Zebra-Tulip-7781-secret"
SECRET_CODE = "918273"


@pytest.fixture
def security_log(caplog):
    caplog.set_level(logging.INFO, logger="portal.security")
    return caplog


def logged(caplog, event: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith(event)]


def everything_recorded(caplog) -> str:
    events = json.dumps(list(AuditEvent.objects.values()), default=str)
    attempts = json.dumps(list(AccessAttempt.objects.values()), default=str)
    return events + attempts + "\n".join(r.getMessage() for r in caplog.records)


def test_failed_logins_and_a_lockout_are_recorded_without_the_password(security_log, requester):
    client = Client()
    for _ in range(6):
        client.post(reverse("login"), {"username": "req", "password": SECRET_PASSWORD})

    assert AuditEvent.objects.filter(action="auth.login_failed").count() >= 5
    assert AuditEvent.objects.filter(action="auth.lockout").exists()
    assert logged(security_log, "auth.login_failed")
    assert logged(security_log, "auth.lockout")
    assert SECRET_PASSWORD not in everything_recorded(security_log)


def test_a_wrong_second_factor_is_recorded_without_the_code(
    settings, security_log, compliance_officer
):
    settings.OTP_REQUIRED = True
    TOTPDevice.objects.create(user=compliance_officer, name="phone", confirmed=True)
    client = Client()
    client.force_login(compliance_officer)

    client.post(reverse("two_factor_verify"), {"otp_token": SECRET_CODE})

    assert AuditEvent.objects.filter(action="auth.otp_failed").exists()
    assert "user='comp'" in logged(security_log, "auth.otp_failed")[0]
    assert SECRET_CODE not in everything_recorded(security_log)


def test_a_refused_action_on_a_visible_object_is_logged(security_log, client, requester, asset):
    client.force_login(requester)

    response = client.post(reverse("customers:asset_classify", args=[asset.pk]), {})

    assert response.status_code == 403
    [line] = logged(security_log, "permission_denied")
    assert "user='req'" in line and f"/assets/{asset.pk}/classify/" in line


def test_a_refused_api_action_is_logged_without_the_token(security_log, api_client, requester):
    token = Token.objects.create(user=requester)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    response = api_client.post("/api/consents/", {}, format="json")

    assert response.status_code == 403
    assert logged(security_log, "permission_denied")
    assert token.key not in everything_recorded(security_log)


def test_a_hidden_object_is_a_404_and_not_logged_as_a_refusal(security_log, client, outsider):
    restricted = DataAssetFactory(classification="restricted")
    client.force_login(outsider)

    assert client.get(reverse("customers:asset_detail", args=[restricted.pk])).status_code == 404
    assert logged(security_log, "permission_denied") == []


@pytest.mark.postgres
def test_a_broken_audit_chain_is_logged(security_log, requester, asset):
    event = audit_record(actor=requester, action="records.view", target=asset)
    seal_pending()  # sealed, as the beat sealer does within seconds
    # What someone with database access could do (the trigger is PostgreSQL's guard).
    without_trigger("UPDATE portal_auditevent SET action = 'test.x' WHERE id = %s", [event.pk])

    assert not verify_audit().ok
    [line] = logged(security_log, "audit.verification_failed")
    assert f"first_bad='{event.pk}'" in line


def test_fields_named_like_secrets_never_reach_the_log(security_log):
    security_event("test.event", password="hunter2-long", api_token="abc123", note="kept")

    [line] = logged(security_log, "test.event")
    assert "hunter2-long" not in line and "abc123" not in line
    assert "note='kept'" in line
