"""Every HTML page carries the Content-Security-Policy and the other security headers."""

import re

import pytest
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import UserFactory
from tests.portal import url_sweep


def csp_directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def assert_security_headers(response, where: str):
    assert "Content-Security-Policy" in response, where
    policy = csp_directives(response)
    assert policy["script-src"] == ["'self'"], where
    assert "'unsafe-inline'" not in policy["default-src"], where
    assert policy["frame-ancestors"] == ["'none'"], where
    assert policy["object-src"] == ["'none'"], where
    assert response["X-Frame-Options"] == "DENY", where
    assert response["Referrer-Policy"] == "same-origin", where
    assert response["X-Content-Type-Options"] == "nosniff", where
    assert "Server" not in response, where


def html_pages() -> list[str]:
    """Every page without an id in its address (the admin's: its index and one list)."""
    pages = []
    for endpoint in url_sweep.endpoints():
        if endpoint.params or endpoint.key.startswith("api-") or endpoint.key == "logout":
            continue
        if endpoint.namespace == "admin" and endpoint.key not in {
            "admin:index",
            "admin:portal_user_changelist",
        }:
            continue
        pages.append(url_sweep.build_path(endpoint.route, {}))
    return pages


@pytest.fixture
def signed_in_as(client, settings):
    settings.OTP_REQUIRED = True

    def sign_in(user):
        client.force_login(user)
        if user.is_superuser or user.groups.exists():
            device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()
        return client

    return sign_in


@pytest.mark.parametrize("role", ["anonymous", "requester", "compliance_officer", "superuser"])
def test_every_html_page_has_the_csp_and_the_other_security_headers(
    request, client, signed_in_as, asset, role
):
    if role == "superuser":
        signed_in_as(UserFactory(username="root", is_superuser=True, is_staff=True))
    elif role != "anonymous":
        signed_in_as(request.getfixturevalue(role))

    seen = 0
    for url in html_pages():
        response = client.get(url, follow=True)
        if "text/html" not in response.get("Content-Type", ""):
            continue  # a CSV download
        assert_security_headers(response, f"{role} {url}")
        seen += 1
    assert seen >= 10


def test_object_pages_and_error_pages_have_the_headers_too(client, signed_in_as, asset, outsider):
    signed_in_as(outsider)
    for url in [reverse("customers:asset_detail", args=[asset.pk]), "/no-such-page/"]:
        assert_security_headers(client.get(url), url)


def test_no_page_carries_an_inline_script(client, signed_in_as, asset, compliance_officer):
    signed_in_as(compliance_officer)
    for url in html_pages() + [reverse("customers:asset_detail", args=[asset.pk])]:
        response = client.get(url, follow=True)
        if "text/html" in response.get("Content-Type", ""):
            inline = re.findall(rb"<script(?![^>]*\bsrc=)[^>]*>", response.content)
            executable = [tag for tag in inline if b"application/json" not in tag]
            assert executable == [], url


def test_the_api_docs_load_their_script_from_the_site_and_relax_only_styles(
    client, signed_in_as, requester
):
    signed_in_as(requester)
    page = client.get(reverse("api-docs"))

    assert page.status_code == 200
    policy = csp_directives(page)
    assert policy["script-src"] == ["'self'"]
    assert "'unsafe-inline'" in policy["style-src"]
    assert b"<script>" not in page.content
    script = client.get(reverse("api-docs") + "?script=")
    assert script.status_code == 200
    assert b"SwaggerUIBundle" in script.content
