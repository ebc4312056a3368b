"""axe on every page each demo role can reach, in English and in Norwegian, not only the
journeys' pages: the pages linked from the navigation and the dashboard, and one of each kind
of page linked from those (an asset, a request, an incident...), the inbox included. 0 serious
or critical violations."""

import re
from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROLES = ["alice", "bob", "carl", "dora", "olivia", "lena"]
# Links that answer a file (CSV, export) or leave the portal's pages.
NOT_A_PAGE = re.compile(r"csv|export|download|/admin/|/api/|logout|\.(png|svg|json)$")
# Every page of the portal is in <main>, the navigation is in <nav>.
LINKS = """() => [...document.querySelectorAll('nav a[href], main a[href]')]
    .map(a => a.href).filter(h => h.startsWith(location.origin))"""


def kind_of(path: str) -> str:
    """``/assets/3/`` and ``/assets/4/`` are the same kind of page: check one of them."""
    return re.sub(r"\d+", "N", path)


def reachable_pages(person, limit: int = 60) -> list[str]:
    """Paths linked from the dashboard, and from those pages, one per kind of page."""
    seen: dict[str, str] = {}
    frontier = ["/"]
    for _depth in range(2):
        found = []
        for path in frontier:
            person.goto(path)
            for href in person.page.evaluate(LINKS):
                parts = urlsplit(href)
                target = parts.path + (f"?{parts.query}" if parts.query else "")
                if NOT_A_PAGE.search(target) or kind_of(parts.path) in seen:
                    continue
                seen[kind_of(parts.path)] = target
                found.append(target)
                if len(seen) >= limit:
                    return list(seen.values())
        frontier = found
    return list(seen.values())


@pytest.mark.parametrize("locale", ["en-GB", "nb-NO"])
@pytest.mark.parametrize("username", ROLES)
def test_every_page_a_role_can_reach_passes_axe(visit, username, locale):
    """In both languages: a translation changes lengths, contrast of wrapped labels and the
    ``lang`` attribute axe checks (``html-has-lang``, ``html-lang-valid``)."""
    person = visit(locale=locale)
    person.login(username)
    pages = reachable_pages(person)
    assert "/notifications/" in pages  # the inbox, with its unread items
    for path in pages:
        answer = person.goto(path)
        assert answer.status < 400, f"{username} at {path}: {answer.status}"
        assert person.page.get_attribute("html", "lang") == person.language
        person.check_accessibility()
    # Open menus and the account menu are part of the page too.
    person.goto("/notifications/")
    for summary in person.page.locator("details.nav-menu > summary").all():
        summary.click()
        person.check_accessibility()
