"""Settings for the test suite: the production settings with test-friendly overrides.

The database is whatever ``DATABASE_URL`` says (CI: PostgreSQL). Celery runs eagerly here;
tests/integration start a real worker against ``REDIS_URL`` themselves.
"""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-" + "x" * 40)

from portal.settings import *  # noqa: E402

ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"
LOGGING = {**LOGGING, "root": {"handlers": ["console"], "level": "WARNING"}}
# Two-factor: the suite logs people in with force_login / force_authenticate, the
# password step only. Tests of the second factor turn it on with the ``settings`` fixture
# (tests/portal/test_two_factor.py), as does the URL sweep.
OTP_REQUIRED = False
# Each test process keeps its own cache, emptied before every test (tests/conftest.py): a
# Redis shared with other runs would hand one test the figures another cached. The coverage
# cache's own Redis test sets CACHES itself.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# The suite's own notification kind, "test": its subject and body are the context's
# ``subject`` and ``body``, so tests of the outbox itself can send any text.
TEMPLATES = [{**TEMPLATES[0], "DIRS": [*TEMPLATES[0]["DIRS"], BASE_DIR / "tests" / "templates"]}]
# The audit log's HMAC key (the suite runs without DEBUG, which alone has a default).
AUDIT_KEYS = "test:tests-only-audit-key"
# Every compiled statement the suite runs is compared with the one Django builds for it.
COMPILED_QUERIES_CHECK = True
# Audit heads and anchors of the suite go to a directory of its own, never to the checkout's
# var/ where a developer's demo keeps its; each test then gets one of its own
# (tests/conftest.py), and this one serves what runs outside a test (module fixtures).
AUDIT_ANCHOR_DIR = Path(tempfile.mkdtemp(prefix="portal-test-audit-anchors-"))
