"""Fixtures every test knows: a small cast of users, and the services a test needs.

Tests marked ``postgres`` or ``redis`` need the real service. Locally they skip with a
message saying what is missing; under ``CI=true`` they fail instead, so a CI run can never
pass by skipping them.
"""

import os

import pytest
from django.contrib.auth.models import Group

from portal import roles
from tests.factories import DataAssetFactory, UserFactory

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def missing_service(message: str) -> None:
    if IN_CI:
        pytest.fail(f"{message} (CI=true: a missing service is a failure, not a skip)")
    pytest.skip(message)


def redis_url() -> str:
    return os.environ.get("REDIS_URL", "")


def redis_is_up() -> bool:
    url = redis_url()
    if not url:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture(autouse=True)
def _required_services(request):
    if request.node.get_closest_marker("postgres"):
        from django.db import connection

        if connection.vendor != "postgresql":
            missing_service(
                "needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal"
            )
    if request.node.get_closest_marker("redis") and not redis_is_up():
        missing_service("needs Redis: set REDIS_URL=redis://127.0.0.1:6379/0 to a running Redis")
    if request.node.get_closest_marker("e2e"):
        require_browser()


# --- Browser tests (tests/e2e): Playwright driving Debian's Chromium ---------------------
CHROMIUM = "/usr/bin/chromium"  # Debian's package: apt-get install -y chromium


def require_browser() -> None:
    """Skip (locally) or fail (CI=true) when Chromium or Playwright's package is missing.
    Playwright's own browser downloads are never used: they cannot be fetched here."""
    if not os.path.exists(CHROMIUM):
        missing_service(f"needs Chromium at {CHROMIUM}: apt-get install -y chromium")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing_service("needs Playwright's Python package: pip install -r requirements-dev.txt")


@pytest.fixture(autouse=True)
def _empty_cache():
    """Cached figures (the coverage of large assets) never outlive a test: ids are reused
    after a rollback on SQLite."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: a request in Norwegian leaves it active in
    the thread (LocaleMiddleware does not reset it), and a later test calling a service
    directly would otherwise write Norwegian."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _taxonomy_names_forgotten():
    """The names of taxonomy keys are kept per process (consent/taxonomy_names.py): each
    test reads the names of its own database, never those a test before it loaded."""
    from consent import taxonomy_names

    taxonomy_names.forget()


@pytest.fixture(autouse=True)
def _audit_anchor_dir(settings, tmp_path):
    """Each test anchors the audit chain in its own directory: anchors outlive the database
    rows a test rolls back, and would fail the next test's verification."""
    settings.AUDIT_ANCHOR_DIR = tmp_path / "audit-anchors"


def add_to_group(user, name: str):
    user.groups.add(Group.objects.get(name=name))
    roles.forget_groups(user)
    return user


def approval_needed_recipients(request, position: int) -> set[str]:
    """Usernames told that step ``position`` of ``request`` (an access or sharing request)
    waits for their decision."""
    from portal.models import Notification

    told = Notification.objects.filter(
        kind="approval_needed",
        target_id=str(request.chain_id),
        body__contains=f"Step {position}:",
    )
    return set(told.values_list("recipient__username", flat=True))


@pytest.fixture
def requester(db):
    """An employee who needs customer data for their work."""
    return UserFactory(username="req", first_name="Rita", last_name="Requester")


@pytest.fixture
def owner(db):
    """The data owner of the test assets."""
    return UserFactory(username="own", first_name="Otto", last_name="Owner")


@pytest.fixture
def compliance_officer(db):
    return add_to_group(UserFactory(username="comp", first_name="Cora"), roles.COMPLIANCE)


@pytest.fixture
def second_compliance_officer(db):
    return add_to_group(UserFactory(username="comp2", first_name="Conrad"), roles.COMPLIANCE)


@pytest.fixture
def legal_counsel(db):
    return add_to_group(UserFactory(username="legal", first_name="Lars"), roles.LEGAL)


@pytest.fixture
def outsider(db):
    """An employee with no business with the test objects."""
    return UserFactory(username="out", first_name="Oscar", last_name="Outsider")


@pytest.fixture
def asset(owner):
    return DataAssetFactory(owner=owner, name="Test customers", customers=5)


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture(autouse=True)
def _reference_data_after_flush(request):
    """Transactional tests start from a flushed database, which also empties what the data
    migrations loaded (the role groups, the taxonomy): put it back, as a deployment has it."""
    marker = request.node.get_closest_marker("django_db")
    if not (marker and marker.kwargs.get("transaction")):
        return
    request.getfixturevalue("transactional_db")
    from consent.taxonomy import load_default_taxonomy

    for name in roles.ROLE_GROUPS:
        Group.objects.get_or_create(name=name)
    load_default_taxonomy()
