"""The error pages with the database stopped: gunicorn, as in production, pointed at a
PostgreSQL port where nothing listens (never the shared server), answers every page with the
portal's 503 page and the API with JSON, not gunicorn's bare "Internal Server Error"."""

import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.integration.services import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.redis  # run with the integration tests; needs no database at all


@pytest.fixture
def gunicorn_without_database(tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "SECRET_KEY": "integration-tests-only-" + "s" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/portal",  # stopped
        "CACHE_URL": f"redis://127.0.0.1:{free_port()}/0",  # the cache is down too
        "STATIC_ROOT": str(tmp_path / "static"),
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SECURE_HSTS_SECONDS": "0",
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    port = free_port()
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "portal.wsgi", "--workers", "1"]
        + ["--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"

    def answers():
        try:
            urllib.request.urlopen(base + "/static/portal/portal.css", timeout=2)
            return True
        except OSError:
            return False

    try:
        wait_for(answers, timeout=30, what="gunicorn to answer")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def fetch(url: str, **headers) -> tuple[int, dict, str]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


@pytest.mark.parametrize("path", ["/", "/incidents/report/", "/incidents/mine/", "/requests/"])
def test_pages_answer_the_portal_503_page_while_the_database_is_stopped(
    gunicorn_without_database, path
):
    # A signed-in user's browser: the session and the user are read from the database.
    status, headers, html = fetch(gunicorn_without_database + path, Cookie="sessionid=" + "a" * 32)
    assert status == 503
    assert headers["Retry-After"] == "30"
    assert "The portal is temporarily unavailable" in html
    # The portal's layout, with its stylesheet.
    assert "/static/portal/portal." in html and 'class="navbar-brand"' in html
    assert "may or may not have been saved" in html
    assert "Nothing was changed" not in html


def test_the_api_answers_json_503_while_the_database_is_stopped(gunicorn_without_database):
    status, headers, body = fetch(
        gunicorn_without_database + "/api/incidents/", Authorization="Token abc"
    )
    assert status == 503
    assert headers["Retry-After"] == "30"
    assert "unreachable" in body
