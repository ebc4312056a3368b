"""Each role's dashboard in a real browser: accessible, charts drawn with their tables kept
for screen readers, usable at phone width and without JavaScript. The screenshots in
docs/screenshots/ (embedded in docs/dashboards.md) are taken here."""

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DASHBOARDS = {
    # who: (a section they must see, a chart drawn on their page or None)
    "alice": ("#my-requests", None),
    "bob": ("#access-to-my-assets", "requests-per-week-data"),
    "olivia": ("#open-incidents", "incidents-by-status-data"),
    "lena": ("#breaches", "incidents-by-status-data"),
}


def test_each_role_sees_its_dashboard_accessible_with_charts_and_tables(visit):
    for username, (section, chart) in DASHBOARDS.items():
        person = visit()
        person.login(username)  # the dashboard is the page after login; axe checked there
        page = person.page

        assert page.title() == "Dashboard · Compliance portal"
        assert page.locator(section).is_visible()
        if chart:
            figure = page.locator(f'figure[data-chart="{chart}"]')
            assert figure.locator("canvas").is_visible()  # drawn by Chart.js
            table = figure.locator("table")
            assert table.count() == 1 and "visually-hidden" in figure.locator(
                ".chart-table"
            ).get_attribute("class")
        person.screenshot(f"dashboard-{username}")


def test_dashboard_fits_a_phone_and_the_navigation_works_without_javascript(visit):
    phone = visit(viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True)
    phone.login("olivia")
    page = phone.page
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    phone.screenshot("dashboard-olivia-phone")
    page.get_by_role("button", name="Toggle navigation").click()
    page.locator("#nav-compliance > summary").click()
    nav = page.get_by_role("navigation", name="Main navigation")
    nav.get_by_role("link", name="Audit log").click()
    page.wait_for_url("**/audit/")
    phone.check_accessibility()

    no_script = visit(java_script_enabled=False)
    no_script.login("olivia")
    page = no_script.page
    # Charts fall back to their tables; the menus are <details> and open without a script.
    coverage = page.locator("#coverage table")
    assert coverage.is_visible() and "Newsletter subscribers" in coverage.inner_text()
    assert page.locator("#incidents-chart table").is_visible()
    page.locator("#nav-incidents > summary").click()
    page.get_by_role("navigation").get_by_role("link", name="All incidents").click()
    page.wait_for_url("**/incidents/")
    assert page.get_by_role("heading", level=1).is_visible()
