"""Two-factor authentication: compliance, legal and superusers reach nothing but enrolment
until they verify a TOTP device; their API tokens wait for enrolment."""

from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from portal.models import AuditEvent
from tests.factories import UserFactory
from tests.portal import url_sweep

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def two_factor_on(settings):
    settings.OTP_REQUIRED = True


def code_for(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def log_in(client, user):
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return response


def page_urls() -> list[str]:
    """Every parameterless page and API list of the site, from the URL resolver."""
    urls = []
    for endpoint in url_sweep.endpoints():
        if endpoint.params or endpoint.key.startswith(("two_factor", "logout", "login")):
            continue
        urls.append(url_sweep.build_path(endpoint.route, {}))
    return urls


def test_olivia_without_a_second_factor_reaches_nothing_but_enrolment(compliance_officer):
    client = Client()
    response = log_in(client, compliance_officer)
    assert response["Location"] == reverse("home")

    reached = {}
    for url in page_urls():
        response = client.get(url)
        reached[url] = (response.status_code, response.get("Location", ""))

    leaks = {
        url: answer
        for url, answer in reached.items()
        if not (
            (answer[0] == 302 and answer[1].startswith(reverse("two_factor_verify")))
            or (url.startswith("/api/") and answer[0] == 403)
        )
    }
    assert leaks == {}
    assert len(reached) > 25
    # Verification sends her on to enrolment, which answers.
    verify = client.get(reverse("two_factor_verify"))
    assert verify.status_code == 302 and verify["Location"].startswith(reverse("two_factor_enrol"))
    assert client.get(reverse("two_factor_enrol")).status_code == 200


def test_enrolling_a_device_opens_olivias_pages(compliance_officer):
    client = Client()
    log_in(client, compliance_officer)
    page = client.get(reverse("two_factor_enrol"), {"next": reverse("audit_log")})
    assert b"<svg" in page.content  # the QR code, drawn in the page
    device = TOTPDevice.objects.get(user=compliance_officer, confirmed=False)
    assert device.config_url.split("secret=")[1][:8] in page.content.decode()

    response = client.post(
        reverse("two_factor_enrol"), {"otp_token": code_for(device), "next": reverse("audit_log")}
    )

    assert response.status_code == 302 and response["Location"] == reverse("audit_log")
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("audit_log")).status_code == 200
    assert client.get(reverse("consent:consent_import")).status_code == 200
    assert client.get(reverse("api-audit")).status_code == 200
    assert AuditEvent.objects.filter(action="auth.otp_enrol", actor=compliance_officer).exists()


def test_a_later_login_asks_for_the_code_and_a_wrong_one_is_refused_and_recorded(legal_counsel):
    device = TOTPDevice.objects.create(user=legal_counsel, name="phone", confirmed=True)
    client = Client()
    log_in(client, legal_counsel)
    assert client.get(reverse("customers:asset_list"))["Location"].startswith(
        reverse("two_factor_verify")
    )
    # Enrolling another device without the first one is not a way around it.
    assert client.get(reverse("two_factor_enrol"))["Location"].startswith(
        reverse("two_factor_verify")
    )

    with time_machine.travel(timezone.now(), tick=False) as clock:
        wrong = client.post(reverse("two_factor_verify"), {"otp_token": "000000"})
        assert wrong.status_code == 400
        assert "not right" in wrong.content.decode()
        assert client.get(reverse("customers:asset_list")).status_code == 302
        failed = AuditEvent.objects.get(action="auth.otp_failed")
        assert failed.detail == {"stage": "login", "throttled": False}

        clock.shift(60)  # past the throttle of one failure
        right = client.post(reverse("two_factor_verify"), {"otp_token": code_for(device)})
    assert right.status_code == 302
    assert client.get(reverse("customers:asset_list")).status_code == 200


def test_superusers_need_the_second_factor_too(db):
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    client = Client()
    log_in(client, admin)

    response = client.get(reverse("admin:index"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two_factor_verify"))


def test_an_employee_needs_no_second_factor(requester):
    client = Client()
    log_in(client, requester)

    assert client.get(reverse("customers:asset_list")).status_code == 200


def test_nothing_is_required_when_two_factor_is_off(settings, compliance_officer):
    settings.OTP_REQUIRED = False
    client = Client()
    log_in(client, compliance_officer)

    assert client.get(reverse("audit_log")).status_code == 200


def test_a_token_of_a_compliance_officer_without_a_device_does_not_authenticate(
    compliance_officer, api_client
):
    token = Token.objects.create(user=compliance_officer)  # e.g. issued in the admin
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    refused = api_client.get("/api/assets/")
    assert refused.status_code in (401, 403)
    assert "two-factor" in refused.json()["detail"]

    TOTPDevice.objects.create(user=compliance_officer, name="phone", confirmed=True)
    assert api_client.get("/api/assets/").status_code == 200


def test_a_token_of_an_employee_works_without_a_device(requester, api_client):
    token = Token.objects.create(user=requester)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    assert api_client.get("/api/assets/").status_code == 200


def test_drf_create_token_refuses_until_the_user_has_enrolled(compliance_officer):
    with pytest.raises(CommandError, match="must enrol a two-factor device"):
        call_command("drf_create_token", compliance_officer.username, stdout=StringIO())
    assert not Token.objects.filter(user=compliance_officer).exists()

    TOTPDevice.objects.create(user=compliance_officer, name="phone", confirmed=True)
    out = StringIO()
    call_command("drf_create_token", compliance_officer.username, stdout=out)

    key = Token.objects.get(user=compliance_officer).key
    assert key in out.getvalue()
    issued = AuditEvent.objects.get(action="auth.token_issue")
    assert key not in str(issued.detail)


def test_drf_create_token_issues_an_employees_token(requester):
    call_command("drf_create_token", requester.username, stdout=StringIO())

    assert Token.objects.filter(user=requester).exists()
