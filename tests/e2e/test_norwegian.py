"""The seed's example in Norwegian, in a real browser (docs/languages.md).

alice chooses *Norsk bokmål* on the sign-in page and asks for the customers who agreed to
e-mail marketing; bob and olivia, whose browsers ask for Norwegian, approve; alice reads and
exports exactly the consenting customers; her request for the unconfirmed legacy list is
refused with what would work instead; she reports a concern. On every page: ``<html
lang="nb">``, no English sentence of the catalogue in what the page shows, and axe finds no
serious or critical violation (the English pages are checked by every other browser test).

The words the test clicks and reads are the catalogue's Norwegian for the English ones
(``nb()``), so the test follows the translation instead of repeating it.
"""

import csv
import io
import re
from pathlib import Path

import pytest
from django.utils import translation
from playwright.sync_api import expect

from consent.templatetags.taxonomy import purpose_name
from customers.models.access import AccessGrant, AccessRequest
from customers.models.catalogue import DataAsset
from incidents.models import Incident
from tests.e2e.test_readme_walk import consenting_customer_ids
from tests.languages import english_on, english_sentences

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ASSET = "Nordic retail customers"
LEGACY = "Legacy import 2019"
PURPOSE = "marketing.communications.email"
JUSTIFICATION = "Vårens nyhetsbrev til kundene som har samtykket til e-post fra oss."
REASON = "Samtykket er registrert, og formålet passer kampanjen."


def nb(english: str) -> str:
    """The catalogue's Norwegian for ``english`` (a text the portal marks)."""
    with translation.override("nb"):
        return translation.gettext(english)


class Norwegian:
    """Checks every page a visit shows is Norwegian: the lang attribute, no English
    sentence of the catalogue, axe."""

    def __init__(self, visit) -> None:
        self.visit = visit
        self.sentences = english_sentences("nb")

    def check(self) -> None:
        page = self.visit.page
        page.wait_for_load_state("load")
        assert page.get_attribute("html", "lang") == "nb", page.url
        leaks = english_on("", self.sentences, text=page.inner_text("body"))
        assert leaks == [], f"English on {page.url}: {leaks}"
        self.visit.check_accessibility()

    def click_link(self, name: str) -> None:
        self.visit.page.get_by_role("link", name=name, exact=True).first.click()
        self.check()

    def click_button(self, name: str) -> None:
        self.visit.page.get_by_role("button", name=name, exact=True).first.click()
        self.check()

    def open_menu(self, menu: str, item: str) -> None:
        page = self.visit.page
        navigation = page.get_by_role("navigation", name=nb("Main navigation"))
        navigation.get_by_text(menu, exact=True).click()
        self.click_link(item)

    def login(self, username: str) -> None:
        page = self.visit.page
        self.visit.goto("/accounts/login/")
        self.check()
        page.fill("#id_username", username)
        page.fill("#id_password", "demo")
        page.get_by_role("button", name=nb("Log in")).click()
        page.wait_for_url(self.visit.url("/"))
        self.check()

    def logout(self) -> None:
        self.visit.page.get_by_role("button", name=nb("Log out")).click()
        self.visit.page.wait_for_url("**/accounts/login/")


def approve(visit, username: str, requester: str) -> None:
    """``username``'s browser asks for Norwegian; they approve alice's request."""
    person = Norwegian(visit(locale="nb-NO"))
    person.login(username)
    person.open_menu(nb("Access"), nb("Approvals"))
    page = person.visit.page
    card = page.locator("article").filter(has_text=requester).filter(has_text=ASSET)
    card.get_by_role("link").first.click()
    person.check()
    page.get_by_label(nb("Reason")).fill(REASON)
    person.click_button(nb("Approve"))
    person.logout()


def test_the_seed_example_and_a_report_in_norwegian(visit):
    alice = Norwegian(visit())
    page = alice.visit.page

    # The chooser on the sign-in page: the page, and after signing in the portal, is Norwegian.
    alice.visit.goto("/accounts/login/")
    page.get_by_role("button", name="Norsk bokmål").click()
    alice.check()
    alice.login("alice")
    cookies = {cookie["name"]: cookie["value"] for cookie in alice.visit.context.cookies()}
    assert cookies["django_language"] == "nb"

    # The request: the purpose by its Norwegian name, export level, coverage in Norwegian.
    alice.click_link(nb("Catalogue"))
    alice.click_link(ASSET)
    alice.click_link(nb("Request access"))
    with translation.override("nb"):
        name = purpose_name(PURPOSE)
    assert name != purpose_name(PURPOSE)  # translated, not the English name
    page.get_by_label(nb("Purpose")).select_option(value=PURPOSE)
    page.get_by_role("group", name=nb("Access level")).get_by_label(
        nb("View and export records")
    ).check()
    page.get_by_label(nb("Justification")).fill(JUSTIFICATION)
    alice.click_button(nb("Check coverage"))
    expect(page.locator("#coverage")).to_contain_text(name)
    total = DataAsset.objects.get(name=ASSET).customer_count
    assert f"{total:,}".replace(",", "\xa0") in page.locator("#coverage").inner_text()
    alice.click_button(nb("Send request"))
    request = AccessRequest.objects.get(requester__username="alice", asset__name=ASSET)
    alice.logout()

    # Approval by the data owner, then compliance, in browsers that ask for Norwegian.
    approve(visit, "bob", "Alice")
    approve(visit, "olivia", "Alice")
    request.refresh_from_db()
    assert request.status == "approved"

    # The records and the export: exactly the consenting customers; the file's header row
    # stays the contract's English.
    alice.login("alice")
    alice.open_menu(nb("Access"), nb("My grants"))
    alice.click_link(nb("Records"))
    asset = DataAsset.objects.get(name=ASSET)
    expected = consenting_customer_ids(asset, PURPOSE)
    with page.expect_download() as download_info:
        page.get_by_role("link", name=nb("Export CSV"), exact=True).click()
    content = Path(download_info.value.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(content)))
    assert sorted(int(row["id"]) for row in rows) == sorted(expected)
    assert AccessGrant.objects.get(user__username="alice", asset=asset).level == "export"

    # The legacy list for the same purpose: refused at once, in Norwegian, with alternatives.
    alice.click_link(nb("Catalogue"))
    alice.click_link(LEGACY)
    alice.click_link(nb("Request access"))
    page.get_by_label(nb("Purpose")).select_option(value=PURPOSE)
    page.get_by_label(nb("Justification")).fill(JUSTIFICATION)
    alice.click_button(nb("Send request"))
    expect(page.locator("#refusal")).to_contain_text(nb("What would work instead:"))
    assert not AccessRequest.objects.filter(asset__name=LEGACY).exists()

    # A concern, reported in Norwegian.
    alice.open_menu(nb("Incidents"), nb("Report a concern"))
    page.get_by_label(nb("Short title")).fill("Kundeliste sendt til privat e-post")
    page.get_by_label(nb("What happened")).fill(
        "En kollega videresendte kundelisten til sin private e-postadresse."
    )
    alice.click_button(nb("Send the report"))
    page.wait_for_url(re.compile(r"/incidents/\d+/$"))
    incident = Incident.objects.get(title="Kundeliste sendt til privat e-post")
    assert incident.reference in page.get_by_role("status").first.inner_text()
    alice.check()
