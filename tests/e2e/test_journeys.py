"""The four journeys of the demo, in a real browser, the way people use the portal.

Each page visited is checked with axe-core (no serious or critical violation); the request
form and the incident report form are completed with the keyboard only.
"""

import csv
import io
import re
import time
from pathlib import Path

import pytest

from consent.models import Purpose
from consent.selectors import eligible_customers
from customers.models.access import AccessGrant
from customers.models.catalogue import DataAsset
from incidents.models import Incident

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

EMAIL = "marketing.communications.email"
EMAIL_NAME = "Marketing Email Communications"
NORDIC = "Nordic retail customers"
LEGACY = "Legacy import 2019"
KEY_ACCOUNTS = "Key accounts"


def choose_with_the_keyboard(person, selector: str, label_start: str) -> None:
    """Tab to a <select> and move through its options with the arrow keys to the one whose
    label starts with ``label_start`` (typing ahead depends on the typing speed)."""
    page = person.page
    target = page.eval_on_selector(
        selector,
        "(s, start) => [...s.options].find(o => o.text.startsWith(start)).value",
        label_start,
    )
    person.tab_to(selector)
    page.keyboard.press("Home")
    for _ in range(300):
        if page.input_value(selector) == target:
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"{label_start!r} never chosen in {selector}")


def fill_request_form_with_the_keyboard(person, asset: str, purpose: str) -> None:
    """Tab to each field, choose or type, and send with Enter: no mouse."""
    page = person.page
    choose_with_the_keyboard(person, "#id_asset", asset)
    choose_with_the_keyboard(person, "#id_purpose", purpose)
    person.tab_to("#id_justification")
    page.keyboard.type("Spring newsletter to the customers who agreed to hear from us by e-mail.")
    person.tab_to("input[name=level]")
    page.keyboard.press("ArrowDown")  # radio group: View, then Export
    person.tab_to("#id_duration_days")
    page.keyboard.press("Control+A")
    page.keyboard.type("14")


def decide_from_the_dashboard(browser_visit, username: str, requester_name: str) -> None:
    person = browser_visit()
    person.login(username)
    page = person.page
    approvals = page.locator("#approvals")
    approvals.get_by_role("link", name=f"{requester_name} asks for {NORDIC}").click()
    page.wait_for_url(re.compile(r"/requests/\d+/$"))
    person.check_accessibility()
    assert "customers eligible" in page.content() or "eligible" in page.inner_text("main")
    page.get_by_label("Reason").fill("Consent is recorded and the purpose fits the campaign.")
    page.get_by_role("button", name="Approve").click()
    page.wait_for_load_state("load")
    assert page.get_by_role("status").filter(has_text="Approved.").is_visible()
    person.check_accessibility()
    person.logout()


def test_alice_requests_nordic_retail_for_email_sees_coverage_is_approved_and_exports(visit):
    alice = visit()
    alice.login("alice")
    page = alice.page

    page.get_by_role("link", name="Request access").first.click()
    page.wait_for_url("**/requests/new/")
    alice.check_accessibility()
    fill_request_form_with_the_keyboard(alice, NORDIC, f"{EMAIL_NAME} ({EMAIL})")
    coverage = page.locator("#coverage")
    coverage.get_by_text(f"customers are eligible for {EMAIL_NAME} ({EMAIL})").wait_for()
    assert re.match(r"[1-9][0-9,]* of 1,200 customers are eligible", coverage.inner_text())
    alice.check_accessibility()
    alice.tab_to("button:not([name=check])[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/requests/\d+/$"))
    assert "Request sent:" in page.get_by_role("status").first.inner_text()
    alice.check_accessibility()
    alice.logout()

    decide_from_the_dashboard(visit, "bob", "Alice Andersen")
    decide_from_the_dashboard(visit, "olivia", "Alice Andersen")

    alice.login("alice")
    grants = page.locator("#my-grants")
    assert NORDIC in grants.inner_text()
    assert "expires in 1\xa0week" in grants.inner_text()
    with page.expect_download() as download_info:
        grants.get_by_role("link", name=f"Export CSV of {NORDIC}").click()
    download = download_info.value
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))

    asset = DataAsset.objects.get(name=NORDIC)
    grant = AccessGrant.objects.get(user__username="alice", asset=asset)
    expected = set(
        eligible_customers(asset, Purpose.objects.get(key=EMAIL)).values_list("id", flat=True)
    )
    assert grant.level == "export"
    assert 0 < len(rows) < 1200
    assert {int(row["id"]) for row in rows} == expected
    assert download.suggested_filename.startswith("export-")


def test_alice_is_refused_legacy_import_with_the_alternatives_on_screen(visit):
    alice = visit()
    alice.login("alice")
    page = alice.page

    alice.goto("/requests/new/")
    page.get_by_label("Asset").select_option(label=LEGACY)
    page.get_by_label("Purpose").select_option(value=EMAIL)
    page.get_by_label("Justification").fill(
        "Spring newsletter to the customers who agreed to hear from us by e-mail."
    )
    page.get_by_role("button", name="Send request").click()

    refusal = page.locator("#refusal")
    refusal.wait_for()
    text = refusal.inner_text()
    assert "None of the 800 customers in Legacy import 2019" in text
    assert "What would work instead" in text
    assert "Newsletter subscribers" in text
    alice.check_accessibility()
    assert not AccessGrant.objects.filter(user__username="alice", asset__name=LEGACY).exists()


def test_carl_reports_an_incident_olivia_acknowledges_it_carl_sees_the_new_status(visit):
    carl = visit()
    carl.login("carl")
    page = carl.page

    started = time.monotonic()
    carl.tab_to("a.btn-outline-danger[href='/incidents/report/']")
    page.keyboard.press("Enter")
    page.wait_for_url("**/incidents/report/")
    carl.check_accessibility()
    carl.tab_to("#id_title")  # has the focus already (autofocus)
    page.keyboard.type("Customer list e-mailed to a private address")
    carl.tab_to("#id_description")
    page.keyboard.type("A colleague forwarded the Nordic list to his private mailbox.")
    carl.tab_to("button[type=submit].btn-danger")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/incidents/\d+/$"))
    elapsed = time.monotonic() - started
    assert "Thank you. Your report is INC-" in page.get_by_role("status").first.inner_text()
    carl.check_accessibility()
    incident = Incident.objects.get(title="Customer list e-mailed to a private address")
    assert incident.reporter.username == "carl" and incident.status == "reported"
    assert elapsed < 60, f"reporting took {elapsed:.0f} s"
    carl.logout()

    olivia = visit()
    olivia.login("olivia")
    row = (
        olivia.page.locator("#open-incidents")
        .get_by_role("row")
        .filter(has_text=incident.reference)
    )
    assert "Acknowledge within" in row.inner_text()
    row.get_by_role("link", name=incident.reference).click()
    olivia.page.wait_for_url(f"**/incidents/{incident.pk}/")
    olivia.check_accessibility()
    olivia.page.get_by_role("button", name="Acknowledge").click()
    olivia.page.wait_for_load_state("load")
    assert olivia.page.get_by_role("status").first.is_visible()
    olivia.check_accessibility()
    olivia.logout()

    carl.login("carl")
    reports = page.locator("#my-reports")
    assert incident.reference in reports.inner_text()
    assert "Acknowledged" in reports.get_by_text(incident.title).locator("..").inner_text()


def test_carl_typing_the_address_of_key_accounts_gets_the_not_found_page(visit):
    carl = visit()
    carl.login("carl")
    key_accounts = DataAsset.objects.get(name=KEY_ACCOUNTS)

    response = carl.goto(f"/assets/{key_accounts.pk}/")

    assert response.status == 404
    page = carl.page
    assert page.title() == "Not found · Compliance portal"
    assert page.get_by_role("heading", name="Not found").is_visible()
    assert KEY_ACCOUNTS not in page.content()
    assert page.get_by_role("navigation", name="Main navigation").is_visible()
    carl.check_accessibility()
