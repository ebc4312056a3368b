"""Production is the default: these run manage.py in a fresh process with a bare env."""

import os
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parents[2]
STRONG_KEY = "k3y-" + "Zq8#vL2@pX9!mR4$wT7%nB1^cF6&hJ0*dG5(sK3)yU8" + "a" * 10


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    if "PYTHONPATH" in os.environ:  # where extra packages are installed, if anywhere
        base["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def production_env(tmp_path) -> dict:
    signing_key = tmp_path / "audit-signing.pem"
    signing_key.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return {
        "SECRET_KEY": STRONG_KEY,
        "ALLOWED_HOSTS": "portal.example.com",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        "AUDIT_KEYS": "2026-11:" + STRONG_KEY,
        "AUDIT_SIGNING_KEY_FILE": str(signing_key),
    }


def test_deploy_check_passes_with_only_the_required_variables(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", **production_env(tmp_path))

    assert result.returncode == 0, result.stdout + result.stderr


def test_production_defaults_are_secure(tmp_path):
    code = (
        "from django.conf import settings as s;"
        "print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE,"
        " s.SECURE_HSTS_SECONDS > 0, s.CELERY_TASK_ALWAYS_EAGER)"
    )
    result = manage("shell", "--no-imports", "-c", code, **production_env(tmp_path))

    assert result.stdout.split() == ["False", "True", "True", "True", "True", "True"]


def test_ssl_redirect_can_be_turned_off_explicitly(tmp_path):
    code = "from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT)"
    result = manage(
        "shell", "--no-imports", "-c", code, SECURE_SSL_REDIRECT="0", **production_env(tmp_path)
    )

    assert result.stdout.strip() == "False"


def test_missing_secret_key_stops_the_process_outside_debug(tmp_path):
    env = production_env(tmp_path)
    del env["SECRET_KEY"]

    result = manage("check", **env)

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_unreadable_boolean_is_refused_rather_than_guessed(tmp_path):
    result = manage("check", DEBUG="perhaps", **production_env(tmp_path))

    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def test_celery_runs_on_redis_with_late_acks_and_json_only_when_redis_url_is_set(tmp_path):
    code = (
        "from portal.celery import app; c = app.conf;"
        "print(c.broker_url, c.task_always_eager, c.task_acks_late,"
        " c.task_reject_on_worker_lost, c.broker_transport_options['visibility_timeout'] > 0,"
        " c.task_time_limit > 0, c.accept_content, c.task_serializer,"
        " 'notification-outbox-sweep' in c.beat_schedule)"
    )
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        code,
        REDIS_URL="redis://127.0.0.1:6379/5",
        **production_env(tmp_path),
    )

    assert result.stdout.split() == [
        "redis://127.0.0.1:6379/5",
        "False",
        "True",
        "True",
        "True",
        "True",
        "['json']",
        "json",
        "True",
    ], result.stderr


def test_claim_timeout_shorter_than_the_task_time_limit_is_refused(tmp_path):
    result = manage(
        "check",
        NOTIFICATION_CLAIM_TIMEOUT="30",
        CELERY_TASK_TIME_LIMIT="60",
        **production_env(tmp_path),
    )

    assert result.returncode != 0
    assert "NOTIFICATION_CLAIM_TIMEOUT" in result.stderr


def test_procfile_starts_web_worker_and_beat():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "honcho"), "check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert "(web, worker, beat)" in result.stderr + result.stdout
