"""The security settings as production gets them (a fresh process with a bare environment)."""

from tests.portal.test_settings import manage, production_env


def test_deploy_check_fails_when_two_factor_is_turned_off(tmp_path):
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", OTP_REQUIRED="0", **production_env(tmp_path)
    )

    assert result.returncode != 0
    assert "portal.W001" in result.stdout + result.stderr


def test_production_sessions_are_secure_http_only_and_end_when_idle(tmp_path):
    code = (
        "from django.conf import settings as s;"
        "print(s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.CSRF_COOKIE_SECURE,"
        " s.SECURE_HSTS_SECONDS, s.SESSION_IDLE_TIMEOUT, s.OTP_REQUIRED, s.AXES_FAILURE_LIMIT,"
        " s.AXES_COOLOFF_TIME, s.X_FRAME_OPTIONS)"
    )
    result = manage("shell", "--no-imports", "-c", code, **production_env(tmp_path))

    assert result.stdout.split() == [
        "True", "True", "True", "31536000", "1800", "True", "5", "0:15:00", "DENY",
    ]  # fmt: skip


def test_deploy_check_fails_without_an_audit_key(tmp_path):
    env = {**production_env(tmp_path), "AUDIT_KEYS": ""}

    result = manage("check", "--deploy", **env)

    assert result.returncode != 0
    assert "portal.E001" in result.stdout + result.stderr
