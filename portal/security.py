"""Who must use a second factor, and the request-level guards of sessions and tokens.

- ``IdleTimeoutMiddleware``: a session unused for ``SESSION_IDLE_TIMEOUT`` seconds is
  logged out, to the minute; and every session is logged out ``SESSION_ABSOLUTE_TIMEOUT``
  seconds after its login, however active it is (the clock starts at the login and no
  request moves it).
- ``OTPRequiredMiddleware``: members of Compliance and Legal and superusers reach nothing
  but enrolment, verification, logout and static files until they verify a TOTP device in
  this session (unless ``OTP_REQUIRED`` is off, for the local demo only). A session opened
  by single sign-on is exempt: there the identity provider's multi-factor sign-in is the
  second factor (``portal.sso.accounts.require_provider_mfa`` refused it otherwise).
- ``EnrolledTokenAuthentication``: the API token of such a user works only once they have
  a confirmed device; a token is a second way in and must not bypass the second factor.
- ``AddressLimitAxesHandler``: django-axes' lockout per name and address, plus a limit per
  address whatever the names tried (password spraying).

A session-authenticated API call of an unverified user is refused here too (403); a
token-authenticated one is judged by the token class, which DRF runs inside the view.
"""

import time
from datetime import UTC, datetime

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.db.models import Sum
from django.http import JsonResponse
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_otp import user_has_device
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from portal import roles
from portal.audit import security_event
from portal.sso import provider

LAST_SEEN_SESSION_KEY = "portal_last_seen"
LOGIN_AT_SESSION_KEY = "portal_login_at"
# Set on a session opened by single sign-on: the issuer and whether the provider used MFA.
SINGLE_SIGN_ON_SESSION_KEY = "portal_single_sign_on"
# The last-seen time is rewritten at most once a minute, so a session may end up to a minute
# before SESSION_IDLE_TIMEOUT of real inactivity, never after.
LAST_SEEN_RESOLUTION = 60


def otp_required_for(user) -> bool:
    """Must ``user`` verify a second factor? Compliance, legal and superusers, when
    ``OTP_REQUIRED`` is on, and always under ``LOCAL_LOGIN=breakglass`` (a break-glass
    password login needs its TOTP whatever the demo switch says)."""
    required = settings.OTP_REQUIRED or provider.local_login_mode() == provider.BREAKGLASS
    if not required or not getattr(user, "is_authenticated", False):
        return False
    return user.is_superuser or roles.is_compliance_or_legal(user)


def has_confirmed_device(user) -> bool:
    return user_has_device(user, confirmed=True)


def _hours(seconds: int) -> str:
    """``seconds`` as hours for people: "12 hours", "1 hour", "1.5 hours" ("1,5 timer")."""
    hours = seconds / 3600
    whole = int(hours) if hours == int(hours) else hours
    # Both languages have one form for exactly 1 and another for everything else (1.5 too).
    return ngettext("%(hours)s hour", "%(hours)s hours", 1 if hours == 1 else 2) % {
        "hours": formats.number_format(whole)
    }


class IdleTimeoutMiddleware:
    """Ends a session that was idle too long, or that began too long ago.

    - Idle: the time of each request is kept in the session; the first request more than
      ``SESSION_IDLE_TIMEOUT`` seconds after the previous one ends the session.
    - Absolute: the login time is kept in the session (``session_started``); the first
      request ``SESSION_ABSOLUTE_TIMEOUT`` seconds or more after it ends the session,
      however active it was. A session without a login time (one from before this rule)
      ends too: it fails closed. Session-authenticated API calls pass here as well; token
      authentication has no session and is not affected.

    Ending means ``logout`` (the session is flushed and the audit trail records the logout),
    a line in the security log, and a message on the login page; the request goes on as an
    anonymous one, so a page asks for a login and comes back afterwards.
    Source: OWASP Session Management Cheat Sheet, "Idle Timeout" and "Absolute Timeout".
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = int(time.time())
            last_seen = request.session.get(LAST_SEEN_SESSION_KEY)
            login_at = request.session.get(LOGIN_AT_SESSION_KEY)
            if login_at is None or now - login_at >= settings.SESSION_ABSOLUTE_TIMEOUT:
                security_event(
                    "session.absolute_timeout",
                    user=request.user,
                    age="unknown" if login_at is None else now - login_at,
                )
                logout(request)
                messages.info(
                    request,
                    _(
                        "You were logged out: a session lasts at most %(duration)s from "
                        "login. Log in again to go on."
                    )
                    % {"duration": _hours(settings.SESSION_ABSOLUTE_TIMEOUT)},
                )
            elif last_seen is not None and now - last_seen > settings.SESSION_IDLE_TIMEOUT:
                security_event("session.idle_timeout", user=request.user, idle=now - last_seen)
                logout(request)
                messages.info(request, _("You were logged out after a period of inactivity."))
            elif last_seen is None or now - last_seen >= LAST_SEEN_RESOLUTION:
                # Not on every request: a session write per page would cost a query each.
                request.session[LAST_SEEN_SESSION_KEY] = now
        return self.get_response(request)


def session_started(sender, request, user, **kwargs):
    """``user_logged_in``: the idle clock and the absolute clock of the new session start
    at the login.

    The session's own expiry (cookie and stored row) is a fixed moment too, so a later
    write of the session cannot push it further out, as a relative ``SESSION_COOKIE_AGE``
    does on every save. It lies one idle timeout beyond the absolute limit: until then
    the middleware still finds the session and ends it with a message and a security-log
    line; after it the session is simply gone.
    """
    if request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session[LAST_SEEN_SESSION_KEY] = now
        request.session[LOGIN_AT_SESSION_KEY] = now
        single_sign_on = getattr(request, "portal_single_sign_on", None)
        if single_sign_on:
            request.session[SINGLE_SIGN_ON_SESSION_KEY] = {
                "issuer": single_sign_on["issuer"],
                "mfa": single_sign_on["mfa"],
            }
        ends = now + settings.SESSION_ABSOLUTE_TIMEOUT + settings.SESSION_IDLE_TIMEOUT
        request.session.set_expiry(datetime.fromtimestamp(ends, tz=UTC))


def _otp_exempt_paths() -> tuple[str, ...]:
    return (
        reverse("two_factor_enrol"),
        reverse("two_factor_verify"),
        reverse("logout"),
        settings.STATIC_URL,
    )


class OTPRequiredMiddleware:
    """Sends an unverified user who needs a second factor to verification (or enrolment)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            otp_required_for(user)
            and not user.is_verified()
            and SINGLE_SIGN_ON_SESSION_KEY not in request.session
            and not request.path_info.startswith(_otp_exempt_paths())
        ):
            if request.path_info.startswith("/api/"):
                return JsonResponse(
                    {"detail": _("Two-factor verification is required: verify in the portal.")},
                    status=403,
                )
            return redirect_to_login(request.get_full_path(), reverse("two_factor_verify"))
        return self.get_response(request)


class EnrolledTokenAuthentication(TokenAuthentication):
    """``Authorization: Token KEY``, refused for a user who must use a second factor and
    has not enrolled one (a token issued before the rule, or through the admin)."""

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if otp_required_for(user) and not has_confirmed_device(user):
            security_event("token.refused_without_two_factor", user=user)
            raise exceptions.AuthenticationFailed(
                _("Enrol a two-factor device in the portal before using an API token.")
            )
        return user, token


class AddressLimitAxesHandler(AxesDatabaseHandler):
    """django-axes' database handler with a second, per-address limit (``AXES_HANDLER``).

    axes counts failures per ``AXES_LOCKOUT_PARAMETERS`` alternative and compares the largest
    with one ``AXES_FAILURE_LIMIT``; it has no separate limit per alternative. The per-name
    lockout (``[["username", "ip_address"]]``, ``AXES_FAILURE_LIMIT``) stays as axes keeps it;
    this adds: once the failures from one IP address over every name, within
    ``AXES_COOLOFF_TIME`` of their last attempt, reach ``AXES_IP_FAILURE_LIMIT``, every login
    from that address counts as locked (for any name) until they age out. A successful login
    resets only its own name's failures (``AXES_RESET_ON_SUCCESS`` with the per-name
    parameters), so an attacker's own account cannot clear the address's count.

    Source: OWASP Authentication Cheat Sheet ("Account lockout" and "Login throttling"):
    limit by account and by source, since spraying one password across accounts never trips
    an account's lockout.
    """

    def get_failures(self, request, credentials: dict | None = None) -> int:
        """Failures of this name from this address, or the per-name limit when the address
        as a whole reached ``AXES_IP_FAILURE_LIMIT`` (axes then locks the request)."""
        failures = super().get_failures(request, credentials)
        ip_address = getattr(request, "axes_ip_address", None)
        if not ip_address:
            return failures
        from_address = AccessAttempt.objects.filter(ip_address=ip_address)
        if settings.AXES_COOLOFF_TIME is not None:
            from_address = from_address.filter(attempt_time__gte=get_cool_off_threshold(request))
        total = from_address.aggregate(total=Sum("failures_since_start"))["total"] or 0
        if total >= settings.AXES_IP_FAILURE_LIMIT:
            # Read by the lockout receiver, so the audit trail says the address was blocked.
            request.portal_address_locked = True
            return max(failures, get_failure_limit(request, credentials))
        return failures


def local_url(request, target: str | None, *, default: str) -> str:
    """``target`` if it is a path on this site, else ``reverse(default)``.

    For the ``next`` a form or a link carries: only a path (``/...``, not ``//host``) that
    Django's ``url_has_allowed_host_and_scheme`` accepts is followed, so neither another
    site (an open redirect) nor a bare word, which ``redirect()`` would try to reverse as a
    view name and fail on with a server error, gets through.
    """
    from django.urls import reverse
    from django.utils.http import url_has_allowed_host_and_scheme

    target = target or ""
    if (
        target.startswith("/")
        and not target.startswith("//")
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return target
    return reverse(default)
