"""Browser tests: Playwright's Python package driving Debian's Chromium against a live server
on PostgreSQL, with the demo data (``seed_demo``).

One browser for the whole session and pytest-django's one live server; each test gets a new
browser context (cookies, downloads) and a freshly seeded database (the live server's tests
are transactional: the database is flushed after each). Every page a journey visits is
checked with axe-core (``tests/e2e/vendor/axe-core/axe.min.js``, from the npm package pinned
in package.json), injected from the local file: no CDN.
"""

import os
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import translation

from tests.conftest import CHROMIUM, require_browser

# Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the
# test itself (seeding, checking the database) are still plain synchronous calls.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
BLOCKING_IMPACTS = {"serious", "critical"}
TIMEOUT_MS = 15_000


@pytest.fixture(scope="session")
def browser():
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def _e2e_settings(settings):
    # Security hardening adds a one-time password for Compliance and Legal behind this
    # switch; the journeys log in with the demo passwords only.
    settings.OTP_REQUIRED = False


@pytest.fixture
def demo(transactional_db):
    """The demo data of ``make run``: users alice, bob, carl, olivia, lena; four assets."""
    call_command("seed_demo", verbosity=0)


class Visit:
    """A person at the browser: a page in its own context, every page checked by axe."""

    def __init__(self, browser, base_url: str, **context_options):
        self.base_url = base_url
        # axe runs in the page: a visit with JavaScript off checks nothing (the same pages
        # are checked with it on by the journeys).
        self.scripts = context_options.get("java_script_enabled", True)
        # A browser that asks for Norwegian (locale="nb-NO") reads the portal in it: the
        # visit's own clicks use the catalogue's words for that language.
        self.language = "nb" if context_options.get("locale", "").startswith("nb") else "en-gb"
        self.context = browser.new_context(
            viewport=context_options.pop("viewport", VIEWPORT),
            accept_downloads=True,
            **context_options,
        )
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("console", self._console)
        self.page.on("response", self._response)
        self.checked: list[str] = []

    def _console(self, message) -> None:
        # A page answered 400 or 404 on purpose is logged as a failed load: the responses
        # of everything else a page loads are checked in _response instead.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)

    def _response(self, response) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            self.errors.append(f"{response.status} for {response.url}")

    def words(self, english: str) -> str:
        """``english`` (a text the portal marks) in the language this browser reads."""
        with translation.override(self.language):
            return translation.gettext(english)

    def url(self, path: str) -> str:
        return self.base_url + path

    def goto(self, path: str):
        return self.page.goto(self.url(path))

    def login(self, username: str, password: str = "demo") -> None:
        self.goto("/accounts/login/")
        self.check_accessibility()
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        self.page.get_by_role("button", name=self.words("Log in")).click()
        self.page.wait_for_url(self.url("/"))
        self.check_accessibility()

    def logout(self) -> None:
        self.page.get_by_role("button", name=self.words("Log out")).click()
        self.page.wait_for_url("**/accounts/login/")

    def check_accessibility(self) -> None:
        """axe-core on the page as it is now: no serious or critical violation."""
        page = self.page
        page.wait_for_load_state("load")
        if not self.scripts:
            return
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            # Evaluated, not a <script> tag: works under a strict Content-Security-Policy.
            page.evaluate(AXE.read_text())
        result = page.evaluate(
            "() => axe.run(document, {resultTypes: ['violations']})"
            ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
            " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})))"
        )
        blocking = [v for v in result if v["impact"] in BLOCKING_IMPACTS]
        assert blocking == [], f"axe on {page.url}: {blocking}"
        self.checked.append(page.url)

    def tab_to(self, selector: str, *, limit: int = 80, backwards: bool = False) -> None:
        """Press Tab until ``selector`` has the focus, as a keyboard user would."""
        key = "Shift+Tab" if backwards else "Tab"
        for _ in range(limit):
            if self.page.evaluate("s => document.activeElement.matches(s)", selector):
                return
            self.page.keyboard.press(key)
        raise AssertionError(f"{selector} never got the focus after {limit} presses of {key}")

    def screenshot(self, name: str, **options) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), **options)
        return path

    def close(self) -> None:
        self.context.close()
        assert self.errors == [], f"errors in the browser: {self.errors}"


@pytest.fixture
def visit(browser, live_server, demo):
    """``visit()`` opens a new browser context (a person); all are closed and checked for
    JavaScript errors at the end of the test."""
    opened = []

    def open_visit(**options) -> Visit:
        person = Visit(browser, live_server.url, **options)
        opened.append(person)
        return person

    yield open_visit
    for person in opened:
        person.close()
