"""Logins and sessions: lockout, password rules, session rotation, idle timeout, logout
everywhere on a password change."""

import logging
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal.models import AuditEvent
from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"
WRONG = "not-the-password-4711"


@pytest.fixture
def member(db):
    user = UserFactory(username="mia")
    user.set_password(PASSWORD)
    user.save()
    return user


def log_in(client, username, password, ip="10.0.0.5"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def logged_in(client) -> bool:
    return SESSION_KEY in client.session


def test_five_wrong_passwords_lock_the_account_for_that_ip_until_the_cool_off_ends(member):
    client = Client()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(4):
            assert log_in(client, "mia", WRONG).status_code == 200  # the form, with its error
        assert log_in(client, "mia", WRONG).status_code == 429  # the fifth locks

        sixth = log_in(client, "mia", PASSWORD)
        assert sixth.status_code == 429
        assert "Login locked" in sixth.content.decode()
        assert not logged_in(client)

        # Another address is not locked: the lock is per user and IP.
        other = Client()
        assert log_in(other, "mia", PASSWORD, ip="10.0.0.6").status_code == 302
        assert logged_in(other)

        clock.shift(django_settings.AXES_COOLOFF_TIME - timedelta(seconds=5))
        assert log_in(client, "mia", PASSWORD).status_code == 429

        clock.shift(timedelta(seconds=10))
        assert log_in(client, "mia", PASSWORD).status_code == 302
        assert logged_in(client)


def test_a_lockout_is_in_the_audit_trail_with_the_name_and_address(member):
    client = Client()
    for _ in range(5):
        log_in(client, "mia", WRONG)

    lockout = AuditEvent.objects.get(action="auth.lockout")
    assert lockout.detail == {"username": "mia", "ip": "10.0.0.5"}
    assert AuditEvent.objects.filter(action="auth.login_failed").count() == 5


def test_a_successful_login_resets_the_failure_count(member):
    client = Client()
    for _ in range(4):
        log_in(client, "mia", WRONG)
    assert log_in(client, "mia", PASSWORD).status_code == 302
    client.post(reverse("logout"))

    for _ in range(4):
        log_in(client, "mia", WRONG)
    assert log_in(client, "mia", PASSWORD).status_code == 302


def test_the_session_key_changes_at_login(member):
    client = Client()
    session = client.session
    session["before_login"] = True
    session.save()
    anonymous_key = session.session_key

    assert log_in(client, "mia", PASSWORD).status_code == 302

    assert client.session.session_key != anonymous_key
    assert logged_in(client)


def test_changing_the_password_logs_out_every_other_session(member):
    here, elsewhere = Client(), Client()
    log_in(here, "mia", PASSWORD)
    log_in(elsewhere, "mia", PASSWORD, ip="10.0.0.9")
    assert elsewhere.get(reverse("customers:asset_list")).status_code == 200

    response = here.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a much longer new passphrase 2026",
            "new_password2": "a much longer new passphrase 2026",
        },
    )

    assert response.status_code == 302
    assert here.get(reverse("customers:asset_list")).status_code == 200  # this one stays
    stale = elsewhere.get(reverse("customers:asset_list"))
    assert stale.status_code == 302 and stale["Location"].startswith(reverse("login"))
    assert AuditEvent.objects.filter(action="auth.password_change", actor=member).count() == 1


@pytest.mark.parametrize(
    ("new_password", "message"),
    [
        ("Sh0rt-pass", "too short"),
        ("password1234", "too common"),
    ],
)
def test_a_short_or_common_password_is_refused(member, new_password, message):
    client = Client()
    log_in(client, "mia", PASSWORD)

    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": new_password, "new_password2": new_password},
    )

    assert response.status_code == 400
    assert message in response.content.decode()
    member.refresh_from_db()
    assert member.check_password(PASSWORD)


def test_an_idle_session_older_than_the_timeout_is_logged_out(member, settings):
    settings.SESSION_IDLE_TIMEOUT = 30 * 60
    client = Client()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        log_in(client, "mia", PASSWORD)

        clock.shift(timedelta(minutes=29))
        assert client.get(reverse("customers:asset_list")).status_code == 200
        clock.shift(timedelta(minutes=29))  # active 29 minutes ago: still in
        assert client.get(reverse("customers:asset_list")).status_code == 200

        clock.shift(timedelta(minutes=31))
        response = client.get(reverse("customers:asset_list"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not logged_in(client)
    assert AuditEvent.objects.filter(action="auth.logout", actor=member).exists()


def test_one_address_trying_one_password_against_many_usernames_is_blocked(member):
    """Password spraying: one wrong password per name never reaches the per-user limit, so
    the address as a whole has its own, higher limit (``AXES_IP_FAILURE_LIMIT``)."""
    limit = django_settings.AXES_IP_FAILURE_LIMIT
    assert django_settings.AXES_FAILURE_LIMIT < limit < 40
    sprayer = Client()
    answers = [log_in(sprayer, f"person{number}", WRONG).status_code for number in range(40)]

    assert answers[: limit - 1] == [200] * (limit - 1)  # each a form with its error
    assert set(answers[limit - 1 :]) == {429}  # the limit-th failure locks the address
    # Blocked for every name from that address, even with the right password.
    assert log_in(sprayer, "mia", PASSWORD).status_code == 429
    assert not logged_in(sprayer)
    lockouts = AuditEvent.objects.filter(action="auth.lockout")
    assert lockouts.exists()
    assert {(event.detail["ip"], event.detail.get("scope")) for event in lockouts} == {
        ("10.0.0.5", "address")
    }

    # Another address is not blocked, and the per-user count of mia is untouched.
    other = Client()
    assert log_in(other, "mia", PASSWORD, ip="10.0.0.6").status_code == 302
    assert logged_in(other)


def test_the_address_limit_ends_with_the_cool_off(member):
    sprayer = Client()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for number in range(django_settings.AXES_IP_FAILURE_LIMIT):
            log_in(sprayer, f"person{number}", WRONG)
        assert log_in(sprayer, "mia", PASSWORD).status_code == 429

        clock.shift(django_settings.AXES_COOLOFF_TIME + timedelta(seconds=5))
        assert log_in(sprayer, "mia", PASSWORD).status_code == 302


def test_a_successful_login_does_not_reset_the_address_count(member):
    """An attacker with an account of their own must not clear the address's count by
    logging in between sprays: a success resets only that name's failures."""
    sprayer = Client()
    limit = django_settings.AXES_IP_FAILURE_LIMIT
    for number in range(limit - 1):
        log_in(sprayer, f"person{number}", WRONG)
    assert log_in(sprayer, "mia", PASSWORD).status_code == 302
    sprayer.post(reverse("logout"))

    assert log_in(sprayer, "someone-else", WRONG).status_code == 429


def test_a_session_ends_eight_hours_after_login_however_active(member, caplog):
    """A request every 20 minutes never lets the idle timeout strike; the absolute limit
    counts from the login and ends the session at 8 hours all the same."""
    assert django_settings.SESSION_ABSOLUTE_TIMEOUT == 8 * 60 * 60
    caplog.set_level(logging.INFO, logger="portal.security")
    client = Client()
    ended_after = None
    with time_machine.travel(timezone.now(), tick=False) as clock:
        log_in(client, "mia", PASSWORD)
        for minutes in range(20, 9 * 60 + 1, 20):
            clock.shift(timedelta(minutes=20))
            response = client.get(reverse("customers:asset_list"))
            if response.status_code != 200:
                ended_after = minutes
                break

    assert ended_after == 8 * 60
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert not logged_in(client)
    assert "8 hours" in client.get(response["Location"]).content.decode()
    assert "session.absolute_timeout user='mia'" in caplog.text
    assert AuditEvent.objects.filter(action="auth.logout", actor=member).exists()


def test_api_calls_on_a_session_end_at_the_absolute_limit(member, settings):
    settings.SESSION_ABSOLUTE_TIMEOUT = 2 * 60 * 60
    client = Client()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        log_in(client, "mia", PASSWORD)
        for _ in range(5):  # active every 20 minutes: 1 h 40 min
            clock.shift(timedelta(minutes=20))
            assert client.get("/api/notifications/").status_code == 200
        clock.shift(timedelta(minutes=20))
        response = client.get("/api/notifications/")

    assert response.status_code in (401, 403)
    assert not logged_in(client)


def test_the_session_expiry_is_fixed_at_login_and_a_write_does_not_move_it(member, settings):
    settings.SESSION_IDLE_TIMEOUT = 60 * 60
    client = Client()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        login_at = timezone.now()
        log_in(client, "mia", PASSWORD)
        for _ in range(7 * 3):  # a request every 20 minutes for 7 hours: session writes
            clock.shift(timedelta(minutes=20))
            assert client.get(reverse("customers:asset_list")).status_code == 200

        expires = client.session.get_expiry_date()

    # The absolute limit, plus one idle timeout in which the logout can still say why.
    assert abs(expires - (login_at + timedelta(hours=9))) < timedelta(seconds=1)
