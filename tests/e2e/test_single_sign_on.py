"""Single sign-on in the browser: Chromium goes from the portal's login page to the test
identity provider (tests/oidc_provider), signs in on the provider's page and comes back to
the dashboard; a directory change shows at the next sign-in; a privileged person without
the provider's second factor reads why they were refused. Every portal page is checked
with axe."""

import pytest

from tests.e2e.conftest import Visit
from tests.oidc_provider.harness import PASSWORD, started_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def idp(live_server, settings, tmp_path):
    provider = started_for(live_server, settings, tmp_path)
    yield provider
    provider.stop()


@pytest.fixture
def person(browser, live_server):
    visit = Visit(browser, live_server.url)
    yield visit
    visit.close()


def sign_in_at_provider(person: Visit, username: str) -> None:
    person.goto("/accounts/login/")
    person.check_accessibility()
    person.page.get_by_role("link", name="Sign in with Test IdP").click()
    person.page.wait_for_url("http://127.0.0.1:*/interaction/**")
    person.page.fill("#username", username)
    person.page.fill("#password", PASSWORD)
    person.page.get_by_role("button", name="Sign in at the provider").click()


def account_line(person: Visit) -> str:
    return person.page.locator("#nav-account .dropdown-item-text").text_content().strip()


def test_a_new_person_signs_in_through_the_provider_and_loses_a_role_the_directory_drops(
    idp, person, live_server
):
    idp.person("nina", groups=["portal-compliance"], amr=["pwd", "mfa"], name="Nina Nilsen")

    sign_in_at_provider(person, "nina")
    person.page.wait_for_url(live_server.url + "/")
    person.check_accessibility()
    assert account_line(person) == "Signed in as nina · Compliance"
    assert person.page.locator("summary", has_text="Compliance").count() == 1  # her menu

    idp.person("nina", groups=[], amr=["pwd", "mfa"], name="Nina Nilsen")
    person.logout()
    # The provider remembers her: the button brings her straight back, with today's groups.
    person.page.get_by_role("link", name="Sign in with Test IdP").click()
    person.page.wait_for_url(live_server.url + "/")
    person.check_accessibility()
    assert account_line(person) == "Signed in as nina"
    assert person.page.locator("summary", has_text="Compliance").count() == 0


def test_a_privileged_person_without_mfa_reads_why_they_were_refused(idp, person, live_server):
    idp.person("lars", groups=["portal-legal"], amr=["pwd"])

    sign_in_at_provider(person, "lars")
    person.page.wait_for_url(live_server.url + "/accounts/login/")
    person.check_accessibility()
    alert = person.page.get_by_role("status").first.text_content()
    assert "Your role (Legal) needs multi-factor sign-in at Test IdP" in alert
    assert "this sign-in used none (amr: pwd)" in alert
