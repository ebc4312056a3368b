"""What people see, second pass, in a real browser on the demo data: one date-time format in
the person's own zone (inbox and pages alike) with the inbox's path a real link, one number
format (1,200 wherever the Nordic list's size appears), an asset history whose every row
names its change and reason, and compliance's "Verify and anchor now". Every page visited is
checked with axe (tests/e2e/conftest.py)."""

import re

import pytest

from portal.models import AuditEvent, User

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

NORDIC = "Nordic retail customers"
# 30 Nov 2026 04:12 EST: the portal's one date-time format (portal/formats/en/formats.py).
NEW_YORK_TIME = re.compile(r"^\d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2} E[SD]T$")


def test_alice_reads_every_time_in_her_own_zone_and_format(visit):
    alice = visit()
    alice.login("alice")
    page = alice.page
    page.locator("#nav-account > summary").click()
    page.get_by_role("link", name="Your account, language and time zone").click()
    page.wait_for_url("**/accounts/")
    alice.check_accessibility()
    page.get_by_role("combobox", name="Time zone").select_option("America/New_York")
    page.get_by_role("button", name="Save time zone").click()
    assert "Times are now shown in America/New_York" in page.locator("main").inner_text()
    alice.check_accessibility()

    alice.goto("/notifications/")
    alice.check_accessibility()
    inbox_times = page.locator("main time").all_inner_texts()
    assert inbox_times and all(NEW_YORK_TIME.match(text) for text in inbox_times), inbox_times

    alice.goto("/incidents/mine/")
    alice.check_accessibility()
    reported = page.locator("main table tbody tr").first.locator("td").nth(2).inner_text()
    assert NEW_YORK_TIME.match(reported.strip()), reported


def test_bob_follows_the_link_in_the_inbox_to_the_request_waiting_for_him(
    visit, live_server, settings
):
    settings.PORTAL_URL = live_server.url  # the site's base URL, as production sets it
    bob = visit()
    bob.login("bob")
    bob.goto("/notifications/")
    page = bob.page
    bob.check_accessibility()
    link = page.locator("main .list-group-item .small a").first
    path = link.get_attribute("href")
    assert re.fullmatch(r"/requests/\d+/", path), path
    assert link.inner_text() == live_server.url + path  # the address the e-mail gives
    assert "Decide in the portal: " + link.inner_text() in page.locator("main").inner_text()

    link.click()
    page.wait_for_url("**/requests/*/")
    assert page.get_by_role("heading", level=1).is_visible()
    bob.check_accessibility()


def test_the_nordic_lists_size_reads_1_200_on_every_page(visit):
    olivia = visit()
    olivia.login("olivia")
    page = olivia.page
    # carl's request for the Nordic list waits for her: every customer is eligible for its
    # purpose (essential.service, the list's own).
    waiting = page.locator("#approvals li", has_text=NORDIC).first
    assert "1,200 of 1,200 customers eligible" in waiting.inner_text()

    olivia.goto("/assets/")
    olivia.check_accessibility()
    row = page.locator("main tbody tr", has_text=NORDIC)
    assert row.locator("td").last.inner_text() == "1,200"

    row.get_by_role("link", name=NORDIC).click()
    page.wait_for_url("**/assets/*/")
    olivia.check_accessibility()
    customers = page.locator("dt", has_text="Customers").locator("xpath=following-sibling::dd[1]")
    assert customers.inner_text() == "1,200"

    alice = visit(java_script_enabled=False)
    alice.login("alice")
    alice.goto("/requests/new/")
    form = alice.page
    form.get_by_label("Asset").select_option(label=NORDIC)
    form.get_by_label("Purpose").select_option(value="marketing.communications.email")
    form.get_by_role("button", name="Check coverage").click()
    form.wait_for_load_state("load")
    assert " of 1,200 customers are eligible" in form.locator("#coverage").inner_text()


def test_every_row_of_an_assets_history_names_its_change_and_its_reason(visit):
    olivia = visit()
    olivia.login("olivia")
    page = olivia.page
    for name in (NORDIC, "Newsletter subscribers", "Legacy import 2019"):
        olivia.goto("/assets/")
        page.get_by_role("link", name=name).click()
        page.wait_for_url("**/assets/*/")
        olivia.check_accessibility()
        rows = page.locator("table.history-table tbody tr")
        cells = [rows.nth(i).locator("td").all_inner_texts() for i in range(rows.count())]
        assert cells, name
        # When, who, change, owner, classification, reason.
        assert [cells[-1][2], cells[-1][5]] == ["Created", "Demo data loaded"], cells
        for when, _, change, _, _, reason in cells:
            assert change and change != "Changed", (name, cells)
            assert reason.strip(), (name, cells)
            assert re.match(r"^\d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2} CES?T$", when), when


def test_olivia_verifies_and_anchors_the_audit_trail_from_her_dashboard(visit):
    olivia = visit()
    olivia.login("olivia")
    page = olivia.page
    card = page.locator("#audit-chain")
    assert "manage.py audit_anchor" not in card.inner_text()

    card.get_by_role("button", name="Verify and anchor now").click()
    page.wait_for_url("**/#audit-chain")

    assert "The audit trail is intact" in page.locator("main .alert").first.inner_text()
    assert "Intact" in page.locator("#audit-chain").inner_text()
    olivia.check_accessibility()
    anchor = AuditEvent.objects.get(action="audit.anchor")
    assert anchor.actor == User.objects.get(username="olivia")
