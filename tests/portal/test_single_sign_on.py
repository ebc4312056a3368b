"""Single sign-on with OpenID Connect against a real provider (tests/oidc_provider), over
plain HTTP without a browser: the authorization code flow with PKCE (the provider requires
it), accounts made at the first sign-in, roles from directory groups at every sign-in, the
provider's second factor for privileged roles, and logout."""

import html
import re

import pytest
import requests
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from customers.visibility import active_grants
from portal.models import AuditEvent, SingleSignOnIdentity
from tests.customers.conftest import (  # noqa: F401 (fixtures)
    confidential_asset,
    email_marketing,
)
from tests.customers.test_grants import approved_grant
from tests.oidc_provider.harness import PASSWORD, sign_in_without_browser, started_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def idp(live_server, settings, tmp_path):
    provider = started_for(live_server, settings, tmp_path)
    yield provider
    provider.stop()


def alerts(page: str) -> list[str]:
    """The messages a portal page shows."""
    found = re.findall(r'class="alert[^"]*"[^>]*>(.*?)</div>', page, re.S)
    return [html.unescape(message).strip() for message in found]


def roles_of(username: str) -> list[str]:
    user = get_user_model().objects.get(username=username)
    groups = sorted(user.groups.values_list("name", flat=True))
    return groups + (["superuser"] if user.is_superuser else [])


def actions_about(user) -> list[str]:
    events = AuditEvent.objects.filter(target_id=str(user.pk), target_type="portal.user")
    return list(events.order_by("pk").values_list("action", flat=True))


def log_out(session: requests.Session, portal_url: str, page: str) -> requests.Response:
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    return session.post(
        portal_url + "/accounts/logout/",
        data={"csrfmiddlewaretoken": token},
        headers={"Referer": portal_url + "/"},
    )


def test_first_sign_in_creates_the_account_with_the_roles_of_its_groups(idp, live_server):
    idp.person(
        "nina", groups=["portal-compliance", "all-staff"], amr=["pwd", "mfa"], name="Nina Nilsen"
    )

    answer = sign_in_without_browser(requests.Session(), live_server.url, "nina")

    assert answer.url == live_server.url + "/", alerts(answer.text)
    assert "Signed in as nina · Compliance" in answer.text
    nina = get_user_model().objects.get(username="nina")
    assert (nina.first_name, nina.last_name, nina.email) == ("Nina", "Nilsen", "nina@example.com")
    assert not nina.has_usable_password()
    assert roles_of("nina") == ["Compliance"]
    assert SingleSignOnIdentity.objects.get(user=nina).issuer == idp.issuer
    assert actions_about(nina)[:3] == ["account.sso_provision", "account.sso_link", "role.grant"]
    grant = AuditEvent.objects.get(action="role.grant", target_id=str(nina.pk))
    assert (grant.actor_label, grant.detail["groups"]) == ("directory", ["portal-compliance"])
    login = AuditEvent.objects.get(action="auth.sso_login", actor=nina)
    assert login.detail["mfa"] is True and login.detail["amr"] == ["pwd", "mfa"]


def test_removed_from_the_group_the_person_loses_the_role_at_the_next_sign_in(idp, live_server):
    idp.person("nina", groups=["portal-compliance", "portal-admins"], amr=["pwd", "mfa"])
    first = sign_in_without_browser(requests.Session(), live_server.url, "nina")
    assert "Signed in as nina · Compliance" in first.text
    assert roles_of("nina") == ["Compliance", "superuser"]

    idp.person("nina", groups=["all-staff"], amr=["pwd", "mfa"])
    browser = requests.Session()
    second = sign_in_without_browser(browser, live_server.url, "nina")

    assert second.url == live_server.url + "/", alerts(second.text)
    assert "Signed in as nina</span>" in second.text  # no role after the name
    assert "Admin site" not in second.text
    assert roles_of("nina") == []
    nina = get_user_model().objects.get(username="nina")
    assert not nina.is_staff
    revoked = AuditEvent.objects.filter(action="role.revoke", target_id=str(nina.pk))
    assert sorted(event.detail["role"] for event in revoked) == ["Compliance", "superuser"]
    # The audit log, compliance's only, is now "not found" for her.
    assert browser.get(live_server.url + "/audit/", allow_redirects=False).status_code == 404


def test_a_privileged_person_without_the_providers_mfa_is_refused_with_the_reason(idp, live_server):
    idp.person("lars", groups=["portal-legal"], amr=["pwd"])

    answer = sign_in_without_browser(requests.Session(), live_server.url, "lars")

    assert answer.url == live_server.url + "/accounts/login/"
    assert alerts(answer.text) == [
        "Your role (Legal) needs multi-factor sign-in at Test IdP, and this sign-in used none "
        "(amr: pwd). Sign in again with your second factor (authenticator app or security key)."
    ]
    assert "Signed in as" not in answer.text
    refused = AuditEvent.objects.get(action="auth.sso_refused")
    assert refused.detail == {"username": "lars", "issuer": idp.issuer, "reason": "mfa_missing"}
    assert not AuditEvent.objects.filter(action="auth.sso_login").exists()


def test_an_employee_signs_in_without_mfa_and_logout_ends_the_portal_session(idp, live_server):
    idp.person("emil", groups=["all-staff"], amr=["pwd"])
    browser = requests.Session()

    dashboard = sign_in_without_browser(browser, live_server.url, "emil")
    assert dashboard.url == live_server.url + "/", alerts(dashboard.text)
    assert "Signed in as emil" in dashboard.text

    after = log_out(browser, live_server.url, dashboard.text)
    assert after.url == live_server.url + "/accounts/login/"
    assert browser.get(live_server.url + "/").url.startswith(live_server.url + "/accounts/login/")
    emil = get_user_model().objects.get(username="emil")
    assert AuditEvent.objects.filter(action="auth.logout", actor=emil).count() == 1


def test_an_existing_local_account_is_linked_not_duplicated(idp, live_server, settings):
    olga = get_user_model().objects.create_user("olga", password="local-password-123")
    olga.groups.add(Group.objects.get(name="Legal"))
    idp.person("olga", groups=["portal-compliance"], amr=["pwd", "otp"], name="Olga Berg")
    settings.OIDC_MFA_VALUES = ["mfa", "otp"]  # a one-time code counts as the second factor
    answer = sign_in_without_browser(requests.Session(), live_server.url, "olga")

    assert answer.url == live_server.url + "/", alerts(answer.text)
    assert get_user_model().objects.filter(username__iexact="olga").count() == 1
    assert roles_of("olga") == ["Compliance"]  # the directory's, Legal taken away
    assert actions_about(olga)[-3:] == ["account.sso_link", "role.grant", "role.revoke"]


def test_a_deactivated_account_is_refused_and_stays_deactivated(idp, live_server):
    gone = get_user_model().objects.create_user("gone", is_active=False)
    idp.person("gone", groups=["all-staff"])

    answer = sign_in_without_browser(requests.Session(), live_server.url, "gone")

    assert answer.url == live_server.url + "/accounts/login/"
    assert alerts(answer.text) == [
        "Your portal account is deactivated, so single sign-on cannot open it. Ask "
        "compliance or the service desk if you need access again."
    ]
    gone.refresh_from_db()
    assert not gone.is_active
    assert AuditEvent.objects.get(action="auth.sso_refused").detail["reason"] == "deactivated"


def test_a_replayed_provider_answer_is_refused(idp, live_server):
    idp.person("emil", groups=["all-staff"])
    browser = requests.Session()
    at_provider = browser.get(live_server.url + "/accounts/sso/start/")
    action = re.search(r'action="([^"]+)"', at_provider.text).group(1)
    hop = browser.post(
        idp.issuer + action,
        data={"username": "emil", "password": PASSWORD},
        allow_redirects=False,
    )
    while not hop.headers["Location"].startswith(live_server.url):
        hop = browser.get(
            requests.compat.urljoin(hop.url, hop.headers["Location"]), allow_redirects=False
        )
    callback = hop.headers["Location"]
    assert "code=" in callback and "state=" in callback
    assert browser.get(callback).url == live_server.url + "/"

    # The same answer in another browser (a stolen redirect): its session holds no state.
    stranger = requests.Session().get(callback)
    assert stranger.url == live_server.url + "/accounts/login/"
    assert alerts(stranger.text) == [
        "The sign-in could not be completed. Start again with the button below."
    ]
    assert AuditEvent.objects.filter(action="auth.sso_login").count() == 1


def test_dropped_from_the_access_group_the_person_is_a_leaver_at_the_next_sign_in(
    idp,
    live_server,
    settings,
    requester,
    confidential_asset,  # noqa: F811 - the imported fixture
    email_marketing,  # noqa: F811 - the imported fixture
    compliance_officer,
    second_compliance_officer,
):
    settings.OIDC_ACCESS_GROUP = "portal-users"
    idp.person("req", groups=["portal-users"])
    first = sign_in_without_browser(requests.Session(), live_server.url, "req")
    assert first.url == live_server.url + "/", alerts(first.text)
    approved_grant(requester, confidential_asset, email_marketing)
    assert active_grants().filter(user=requester).count() == 1

    idp.person("req", groups=["all-staff"])
    second = sign_in_without_browser(requests.Session(), live_server.url, "req")

    assert second.url == live_server.url + "/accounts/login/"
    assert alerts(second.text) == [
        "Your directory account is not in the group 'portal-users' that gives access to the "
        "portal, so you cannot sign in. Ask your manager or the service desk for access."
    ]
    requester.refresh_from_db()
    assert not requester.is_active
    assert active_grants().filter(user=requester).count() == 0
    ended = AuditEvent.objects.get(action="account.deactivate", target_id=str(requester.pk))
    assert ended.detail["via"] == "sign-in" and len(ended.detail["grants_revoked"]) == 1
    refused = AuditEvent.objects.filter(action="auth.sso_refused").latest("pk")
    assert refused.detail["reason"] == "not_in_access_group"


def test_an_administrators_account_is_never_opened_by_a_sign_in_of_the_same_name(idp, live_server):
    """A claimed user name is only as trustworthy as the provider's rules for it: the
    break-glass administrator's account is not handed to whoever the provider calls "root"."""
    root = get_user_model().objects.create_superuser("root", password="break-glass-123")
    idp.person("root", groups=["all-staff"], amr=["pwd", "mfa"])

    answer = sign_in_without_browser(requests.Session(), live_server.url, "root")

    assert answer.url == live_server.url + "/accounts/login/"
    assert "is an administrator's and is not opened by single sign-on" in alerts(answer.text)[0]
    assert not SingleSignOnIdentity.objects.filter(user=root).exists()
    root.refresh_from_db()
    assert root.is_superuser
