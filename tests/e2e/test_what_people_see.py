"""What a newcomer notices on the demo, in a real browser: the portal's own error pages with
DEBUG on, the request form saying what each access level allows and checking coverage
without JavaScript, a navigation on one line at laptop widths, and the administrator's way
to the admin site. Every page visited is checked with axe (tests/e2e/conftest.py)."""

import re

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

NORDIC = "Nordic retail customers"
EMAIL = "marketing.communications.email"


def test_carl_sees_the_portals_not_found_page_not_djangos_debug_page(visit, settings):
    settings.DEBUG = True  # as in `make run`
    carl = visit()
    carl.login("carl")
    page = carl.page
    for path in ("/assets/3/", "/incidents/1/", "/customers/1/", "/no-such-page/"):
        answer = carl.goto(path)
        assert answer.status == 404, path
        assert page.get_by_role("heading", level=1).inner_text() == "Not found", path
        assert "URLconf" not in page.content(), path
        # In the portal's layout: the navigation is there to go on from.
        assert page.get_by_role("button", name="Log out").is_visible(), path
        carl.check_accessibility()


def test_the_request_form_says_what_each_level_allows(visit):
    alice = visit()
    alice.login("alice")
    alice.goto("/requests/new/")
    page = alice.page
    view = page.get_by_label("View records: see the eligible customers on screen")
    export = page.get_by_label("View and export records: also download them as a CSV file")
    assert view.is_checked() and not export.is_checked()
    assert "Choose Export if you will need the customers in a file" in page.inner_text("main")
    alice.check_accessibility()


def test_check_coverage_works_without_javascript_before_the_justification(visit):
    alice = visit(java_script_enabled=False)
    alice.login("alice")
    alice.goto("/requests/new/")
    page = alice.page
    page.get_by_label("Asset").select_option(label=NORDIC)
    page.get_by_label("Purpose").select_option(value=EMAIL)
    page.get_by_label("View and export records").check()
    page.get_by_role("button", name="Check coverage").click()
    page.wait_for_load_state("load")
    coverage = page.locator("#coverage")
    # The same number format as everywhere else: 1,200, not 1200.
    assert re.match(r"[1-9][0-9,]* of 1,200 customers are eligible", coverage.inner_text())
    # What was chosen stays chosen, and nothing is flagged yet.
    assert page.get_by_label("View and export records").is_checked()
    assert page.locator(".invalid-feedback").count() == 0


@pytest.mark.parametrize("width", [1280, 1024])
def test_olivias_navigation_stays_on_one_line(visit, width):
    olivia = visit(viewport={"width": width, "height": 800})
    olivia.login("olivia")
    page = olivia.page
    items = page.evaluate(
        """() => [...document.querySelectorAll(
            '.navbar-brand, .navbar .nav-link, .navbar button')]
            .filter(e => e.offsetParent !== null)
            .map(e => { const r = e.getBoundingClientRect(), s = getComputedStyle(e);
                        const box = ['paddingTop', 'paddingBottom', 'borderTopWidth',
                                     'borderBottomWidth'].map(p => parseFloat(s[p]));
                        return {text: e.innerText.trim(), top: r.top, bottom: r.bottom,
                                lines: (r.height - box.reduce((a, b) => a + b)) /
                                       parseFloat(s.lineHeight)}; })"""
    )
    wrapped = [item["text"] for item in items if item["lines"] > 1.5]
    assert wrapped == [], f"broken onto two lines at {width}px: {wrapped}"
    # One row: every item overlaps the brand's height.
    brand = items[0]
    below = [item["text"] for item in items if item["top"] >= brand["bottom"]]
    assert below == [], f"on a second row at {width}px: {below}"
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    last = page.get_by_role("button", name="Log out").bounding_box()
    assert last["x"] + last["width"] <= width
    page.locator("#nav-account > summary").click()
    page.get_by_role("link", name="Change password").click()
    page.wait_for_url("**/password/")
    olivia.screenshot(
        f"navigation-olivia-{width}", clip={"x": 0, "y": 0, "width": width, "height": 80}
    )


def test_the_administrator_finds_the_admin_site_in_the_navigation(visit):
    admin = visit()
    admin.login("admin")
    page = admin.page
    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="Admin site"
    ).click()
    page.wait_for_url("**/admin/")
    assert "Site administration" in page.inner_text("body")

    alice = visit()
    alice.login("alice")
    nav = alice.page.get_by_role("navigation", name="Main navigation")
    assert nav.get_by_role("link", name="Admin site").count() == 0


def test_opening_an_inbox_item_marks_it_read_and_kinds_read_as_words(visit):
    olivia = visit()
    olivia.login("olivia")
    page = olivia.page
    bell = page.locator("#notification-bell")
    unread = int(bell.locator(".badge").inner_text())
    olivia.goto("/notifications/")
    olivia.check_accessibility()
    main = page.locator("main")
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", main.locator(".text-muted").first.inner_text())
    item = main.locator("li.notification-unread").first
    item.get_by_role("button").first.click()  # its subject
    page.wait_for_load_state("load")
    assert "/notifications/" not in page.url  # on the page it is about
    assert int(page.locator("#notification-bell .badge").inner_text() or 0) == unread - 1


def test_dora_sees_her_pending_erasure_on_her_dashboard(visit):
    dora = visit()
    dora.login("dora")
    page = dora.page
    section = page.locator("#erasure-tasks")
    assert section.is_visible()
    assert "Erase " in section.inner_text()
    assert page.locator("#needs-you").get_by_role("link", name="Erasures to carry out").is_visible()
    section.get_by_role("link", name="All my erasure tasks").click()
    page.wait_for_url("**/erasure-tasks/")
    assert page.get_by_role("button", name="Confirm erased").first.is_visible()


def test_the_my_requests_badge_says_what_it_counts(visit):
    alice = visit()
    alice.login("alice")
    badge = alice.page.locator("#my-requests .badge").first
    pending = alice.page.locator("#my-requests").inner_text()
    assert badge.locator(".visually-hidden").inner_text().strip() == "pending"
    assert "in total" not in pending


def test_incident_pages_use_distinct_labels_and_tell_the_reporter_it_was_acknowledged(visit):
    from django.contrib.auth import get_user_model

    from incidents.models import Incident
    from incidents.services.reports import incident_acknowledge

    carl = visit()
    carl.login("carl")
    carl.goto("/incidents/report/")
    page = carl.page
    labels = [
        text.strip().rstrip("*").strip() for text in page.locator("main label").all_inner_texts()
    ]
    assert "Short title" in labels and "What happened" in labels
    assert not any(label.startswith("What happened,") for label in labels)
    page.get_by_label("Short title").fill("Printed customer list left in a meeting room")
    page.get_by_label("What happened").fill("Found on the table of room 4 after a workshop.")
    page.get_by_role("button", name="Send the report").click()
    page.wait_for_url(re.compile(r"/incidents/\d+/$"))
    assert "A member will acknowledge it" in page.locator("#next").locator("..").inner_text()

    incident = Incident.objects.get(title="Printed customer list left in a meeting room")
    olivia = get_user_model().objects.get(username="olivia")
    incident_acknowledge(actor=olivia, incident=incident)
    page.reload()
    news = page.locator("#next").locator("..").inner_text()
    assert "acknowledged your report" in news and "A member will acknowledge it" not in news
    carl.check_accessibility()

    officer = visit()
    officer.login("olivia")
    officer.goto(f"/incidents/{incident.pk}/")
    boxes = officer.page.locator("main textarea")
    names = [
        officer.page.locator(f"label[for='{box.get_attribute('id')}']").inner_text().strip()
        for box in boxes.all()
    ]
    assert "Note" not in [name.rstrip("*").strip() for name in names]
    assert len(set(names)) == len(names), f"two boxes with the same label: {names}"
    officer.check_accessibility()


def test_alice_reads_purposes_and_categories_by_name_the_assets_own_purposes_first(visit):
    alice = visit()
    alice.login("alice")
    page = alice.page
    alice.goto("/assets/")
    category = page.get_by_label("Data category")
    in_user_data = category.locator("optgroup[label='User Data'] [value='user.contact.email']")
    assert in_user_data.inner_text() == "User Contact Email (user.contact.email)"
    assert category.locator("optgroup").first.get_attribute("label") == "System Data"
    alice.check_accessibility()

    page.get_by_role("link", name=NORDIC).click()
    page.wait_for_load_state("load")
    categories = page.locator("dt:has-text('Data categories') + dd")
    assert categories.inner_text().startswith("User Contact Email user.contact.email")
    alice.check_accessibility()

    page.get_by_role("link", name="Request access").click()
    page.wait_for_load_state("load")
    suggested = page.locator("#id_purpose optgroup").first
    assert suggested.get_attribute("label") == "Suggested for this asset"
    assert suggested.locator("option").all_inner_texts() == [
        "Essential for Service (essential.service)",
        f"Marketing Email Communications ({EMAIL})",
        "Third Party Sharing (third_party_sharing)",
    ]
    alice.check_accessibility()


def test_olivia_reads_the_record_of_processing_by_activity_and_purpose_name(visit):
    """The Art. 30 record as the compliance officer reads it on the demo data: each demo
    activity with its purpose by name (the key small beside it). Its screenshot is the one
    in docs/records-of-processing.md."""
    olivia = visit()
    olivia.login("olivia")
    olivia.goto("/records-of-processing/")
    main = olivia.page.inner_text("main")
    assert "Record of processing activities" in main
    for activity in ("Customer service", "E-mail marketing"):
        assert activity in main
    assert "Marketing Email Communications" in main
    olivia.check_accessibility()
    olivia.screenshot("records-of-processing", full_page=True)
