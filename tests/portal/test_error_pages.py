"""Error pages need nothing: the 500 and the 503 (database unreachable) pages are rendered
without a database or cache query, in the portal's layout, and say truthfully that what was
sent may have been saved."""

import pytest
from django.test import Client

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.portal.error_urls")]


def client() -> Client:
    return Client(raise_request_exception=False)


def test_the_500_page_is_in_the_portal_layout_and_queries_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        page = client().get("/test-fails/")
    html = page.content.decode()
    assert page.status_code == 500
    assert "portal.css" in html and "Compliance portal" in html
    assert "Nothing was changed" not in html
    assert "may or may not have been saved" in html
    assert "Retry-After" not in page


def test_the_500_page_of_a_signed_in_officer_looks_up_no_roles(compliance_officer):
    browser = client()
    browser.force_login(compliance_officer)
    html = browser.get("/test-fails/").content.decode()
    assert "may or may not have been saved" in html
    # The menus come from the roles context processor, which would query the database.
    assert 'id="nav-compliance"' not in html and "· Compliance<" not in html


def test_an_unreachable_database_is_a_503_page_with_retry_after(django_assert_num_queries):
    with django_assert_num_queries(0):
        page = client().get("/test-database-gone/")
    assert page.status_code == 503
    assert page["Retry-After"] == "30"
    html = page.content.decode()
    assert "temporarily unavailable" in html and "may or may not have been saved" in html
    assert "portal.css" in html


def test_the_api_answers_json_503_when_the_database_is_unreachable():
    answer = client().get("/api/test-database-gone/")
    assert answer.status_code == 503
    assert answer["Retry-After"] == "30"
    assert "unreachable" in answer.json()["detail"]


# --- The local demo runs with DEBUG on: the same pages, never Django's technical ones -----


def test_with_debug_on_a_missing_page_is_the_portals_404_not_the_url_list(settings, outsider):
    settings.DEBUG = True
    browser = client()
    browser.force_login(outsider)
    for path in ("/no-such-page/", "/assets/999999/", "/incidents/999999/"):
        page = browser.get(path)
        html = page.content.decode()
        assert page.status_code == 404, path
        assert "There is nothing here, or nothing you may see." in html, path
        assert "URLconf" not in html and "Using the URLconf" not in html, path
        assert "Log out" in html, path  # the portal's layout, with its navigation


def test_with_debug_on_a_crash_is_the_portals_500_and_the_traceback_goes_to_the_log(
    settings, caplog
):
    settings.DEBUG = True
    page = client().get("/test-fails/")
    html = page.content.decode()
    assert page.status_code == 500
    assert "may or may not have been saved" in html
    assert "Traceback" not in html and "a bug after the incident was saved" not in html
    assert "a bug after the incident was saved" in caplog.text


def test_with_debug_on_the_api_still_answers_json(settings):
    settings.DEBUG = True
    assert client().get("/api/no-such-endpoint/").json() == {"detail": "Not found."}
    answer = client().get("/api/test-database-gone/")
    assert answer.status_code == 503 and "unreachable" in answer.json()["detail"]
