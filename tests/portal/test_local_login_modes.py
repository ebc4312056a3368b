"""The login page with single sign-on configured: the provider's button first, local
passwords only as LOCAL_LOGIN allows, every failure of the provider a message (no 500), and
the deployment check of a half-made configuration. No provider is needed for these: the
sign-ins themselves are in test_single_sign_on.py."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.checks import run_checks
from django.test import Client
from django.urls import reverse

from portal.models import AuditEvent
from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"


@pytest.fixture
def sso(settings):
    """SSO configured towards an address where nothing answers."""
    settings.OIDC_ISSUER = "http://127.0.0.1:9"
    settings.OIDC_RP_CLIENT_ID = "portal"
    settings.OIDC_RP_CLIENT_SECRET = "secret"
    settings.OIDC_PROVIDER_NAME = "Contoso Entra ID"
    settings.OIDC_TIMEOUT = 2
    settings.LOCAL_LOGIN = "breakglass"
    return settings


def make_user(username, **fields):
    user = UserFactory(username=username, **fields)
    user.set_password(PASSWORD)
    user.save()
    return user


def log_in(client, username):
    return client.post(reverse("login"), {"username": username, "password": PASSWORD})


def test_without_sso_the_login_page_is_the_password_form_alone(db):
    page = Client().get(reverse("login")).content.decode()
    assert 'name="password"' in page
    assert "Sign in with" not in page


def test_with_sso_the_providers_button_comes_first_and_passwords_are_for_break_glass(sso, db):
    page = Client().get(reverse("login") + "?next=/grants/").content.decode()
    button = page.index("Sign in with Contoso Entra ID")
    assert 'href="/accounts/sso/start/?next=/grants/"' in page
    assert button < page.index("Break-glass administrators") < page.index('name="password"')


def test_break_glass_lets_a_superuser_in_with_password_then_asks_for_totp(sso, db):
    make_user("root", is_superuser=True, is_staff=True)
    sso.OTP_REQUIRED = False  # the demo switch does not spare a break-glass login its TOTP
    client = Client()
    assert log_in(client, "root").status_code == 302
    assert SESSION_KEY in client.session
    assert client.get("/").url.startswith(reverse("two_factor_verify"))


def test_break_glass_refuses_everyone_else_with_a_message_saying_where_to_sign_in(sso, db):
    make_user("mia")
    client = Client()
    answer = log_in(client, "mia")
    assert answer.status_code == 200
    assert SESSION_KEY not in client.session
    assert (
        "Please enter the user name and password of a break-glass administrator. Everyone "
        "else signs in with Contoso Entra ID."
    ) in answer.content.decode()
    assert AuditEvent.objects.filter(action="auth.login_failed").count() == 1
    # The admin's own login page is the same door.
    admin = Client().post("/admin/login/", {"username": "mia", "password": PASSWORD})
    assert SESSION_KEY not in admin.wsgi_request.session


def test_local_login_off_shows_no_form_and_refuses_a_posted_password(sso, db):
    sso.LOCAL_LOGIN = "off"
    make_user("root", is_superuser=True, is_staff=True)
    client = Client()
    assert 'name="password"' not in client.get(reverse("login")).content.decode()
    answer = client.post(reverse("login"), {"username": "root", "password": PASSWORD})
    assert SESSION_KEY not in client.session
    page = client.get(answer.url).content.decode()
    assert "Passwords are switched off for this portal: sign in with Contoso Entra ID." in page


def test_local_login_on_keeps_every_password_working_beside_sso(sso, db):
    sso.LOCAL_LOGIN = "on"
    make_user("mia")
    client = Client()
    assert log_in(client, "mia").status_code == 302
    assert SESSION_KEY in client.session


def test_a_provider_that_does_not_answer_is_a_message_not_an_error(sso, db):
    client = Client()
    answer = client.get(reverse("sso_start"), follow=True)
    assert answer.status_code == 200
    assert (
        "The identity provider (Contoso Entra ID) could not be reached. Try again in a "
        "minute; if it goes on, tell the service desk."
    ) in answer.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        "?code=abc&state=never-issued",
        "?state=x",
        "?error=access_denied&error_description=The+user+cancelled",
        "?code=abc&state=" + "x" * 5000,
    ],
)
def test_a_callback_the_portal_did_not_start_signs_nobody_in(sso, db, query):
    client = Client()
    client.get(reverse("login"))  # a session, as a browser has
    answer = client.get(reverse("sso_callback") + query, follow=True)
    assert answer.status_code == 200
    assert answer.redirect_chain[-1][0] == reverse("login")
    assert SESSION_KEY not in client.session
    page = answer.content.decode()
    assert "did not sign you in (The user cancelled)" in page or "could not be completed" in page


def test_without_sso_its_addresses_are_not_found(db):
    assert Client().get(reverse("sso_start")).status_code == 404
    assert Client().get(reverse("sso_callback") + "?code=a&state=b").status_code == 404


def test_check_deploy_warns_about_a_half_configured_sso(settings):
    settings.OIDC_ISSUER = "http://idp.example.com"
    settings.OIDC_RP_CLIENT_ID = "portal"
    settings.OIDC_RP_CLIENT_SECRET = ""
    settings.OIDC_MFA_REQUIRED = False
    warnings = [m.msg for m in run_checks(include_deployment_checks=True) if m.id == "portal.W004"]
    assert warnings == [
        "Single sign-on: single sign-on needs OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET.",
        "Single sign-on: OIDC_ISSUER 'http://idp.example.com' is not an https:// address.",
        "Single sign-on: OIDC_MFA_REQUIRED is off: privileged roles sign in with one factor.",
        "Single sign-on: LOCAL_LOGIN=on: every account can still log in with a password.",
    ]
    settings.OIDC_ISSUER = settings.OIDC_RP_CLIENT_ID = ""
    assert not [m for m in run_checks(include_deployment_checks=True) if m.id == "portal.W004"]
