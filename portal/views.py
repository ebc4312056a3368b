import sys
from base64 import b32encode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.core.paginator import Paginator
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, get_language_from_request, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal import services
from portal.audit import security_event
from portal.dashboard.page import dashboard_for
from portal.display import datetime_text, number_text, zone_for
from portal.errors import ApplicationError, NotAllowed
from portal.forms import LanguageForm, OTPTokenForm, TimeZoneForm
from portal.input_limits import as_id
from portal.languages import language_codes
from portal.notifications import (
    notification_mark_all_read,
    notification_mark_read,
    notification_retry,
)
from portal.pagination import CappedPaginator
from portal.permissions import (
    check_compliance_page,
    get_notification_for_user,
    get_undelivered_notification_for_user,
)
from portal.refusals import show_refusal
from portal.security import local_url
from portal.selectors import (
    notification_list_for,
    notification_undelivered_list_for,
)


def home(request):
    """The dashboard: what needs this person, by role (``portal.dashboard``)."""
    if not request.user.is_authenticated:
        return redirect("login")
    dashboard = dashboard_for(request.user)
    # Times read in the viewer's zone, as on the incident pages; stored in UTC.
    with timezone.override(dashboard.zone):
        return render(request, "portal/dashboard.html", {"dashboard": dashboard})


def _wants_json(request) -> bool:
    return request.path.startswith("/api/")


def page_not_found(request, exception=None):
    if _wants_json(request):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return render(request, "404.html", status=404)


def permission_denied(request, exception=None):
    # Objects a user may not see are 404s: a 403 is a refusal about something that exists,
    # worth a line in the security log.
    security_event("permission_denied", user=request.user, path=request.path[:200])
    # A service's refusal (NotAllowed, turned into PermissionDenied by NotAllowedMiddleware)
    # says why; any other PermissionDenied gets the general sentence.
    cause = getattr(exception, "__cause__", None)
    reason = cause.message if isinstance(cause, NotAllowed) else ""
    if _wants_json(request):
        detail = reason or _("You do not have permission to do this.")
        return JsonResponse({"detail": detail}, status=403)
    return render(request, "403.html", {"reason": reason}, status=403)


def bad_request(request, exception=None):
    if _wants_json(request):
        return JsonResponse({"detail": _("Bad request.")}, status=400)
    return render(request, "400.html", status=400)


# Seconds a client is asked to wait while the database is unreachable (RFC 9110 section
# 10.2.3); a PostgreSQL restart or failover takes seconds.
DATABASE_RETRY_AFTER = 30

# The layout with nothing in it that needs a service: what is answered if even the static
# files' manifest cannot be read. Its texts are filled in the request's language.
_BARE_ERROR_PAGE = (
    "<!doctype html><html lang={language}><meta charset=utf-8><title>{title} · {portal}"
    "</title><h1>{title}</h1><p>{text}</p><p><a href=/>{back}</a></p></html>"
)


def _bare_error_page(*, unavailable: bool) -> str:
    """``_BARE_ERROR_PAGE`` in the active language (gettext reads a compiled catalogue
    already in memory: no database, no cache)."""
    return _BARE_ERROR_PAGE.format(
        language=get_language() or settings.LANGUAGE_CODE,
        title=_("Temporarily unavailable") if unavailable else _("Something went wrong"),
        portal=_("Compliance portal"),
        text=_(
            "What you just sent may or may not have been saved; check before sending it "
            "again. Please try again in a minute."
        ),
        back=_("Back to the portal"),
    )


def server_error(request):
    """Django's ``handler500``: the answer to any uncaught exception, also one raised by a
    middleware. Needs no database and no cache, since the failure may be theirs.

    In: the request (only its path is read: ``request.user`` would query the database).
    Out: 503 with ``Retry-After`` when the exception is the database being unreachable
    (``OperationalError``, ``InterfaceError``: connection refused or dropped), else 500;
    JSON under ``/api/``, else the page rendered without the request, so no context
    processor (roles, unread count) runs; a template failure falls back to bare HTML.
    """
    error = sys.exc_info()[1]  # Django calls this inside its ``except`` block
    unavailable = isinstance(error, OperationalError | InterfaceError)
    status = 503 if unavailable else 500
    if _wants_json(request):
        detail = (
            _(
                "The database is unreachable; try again shortly. A create sent with an "
                "Idempotency-Key can be repeated safely."
            )
            if unavailable
            else _("Server error.")
        )
        response = JsonResponse({"detail": detail}, status=status)
    else:
        try:
            page = loader.render_to_string(f"{status}.html")
        except Exception:  # noqa: BLE001 - the error page itself must never fail
            page = _bare_error_page(unavailable=unavailable)
        response = HttpResponse(page, status=status)
    if unavailable:
        response["Retry-After"] = str(DATABASE_RETRY_AFTER)
    return response


# --- Notifications inbox ---------------------------------------------------------------

INBOX_PAGE_SIZE = 25


@login_required
def notification_list(request):
    """The inbox: the user's own notifications, newest first, paginated."""
    page = Paginator(notification_list_for(request.user), INBOX_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "portal/notification_list.html", {"page": page})


@login_required
@require_POST
def notification_read(request, pk):
    """Mark one read; with ``open`` in the form, go on to the object it is about."""
    notification = get_notification_for_user(request.user, pk)
    notification_mark_read(actor=request.user, notification=notification)
    if "open" in request.POST and url_has_allowed_host_and_scheme(
        notification.link, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(notification.link)
    messages.success(request, _("Marked read: %(subject)s") % {"subject": notification.subject})
    return redirect(_inbox_return(request))


@login_required
@require_POST
def notification_read_all(request):
    changed = notification_mark_all_read(actor=request.user)
    messages.success(
        request,
        ngettext(
            "%(count)s notification marked read.", "%(count)s notifications marked read.", changed
        )
        % {"count": number_text(changed)},
    )
    return redirect(_inbox_return(request))


UNDELIVERED_PAGE_SIZE = 50


@login_required
def notification_undelivered(request):
    """Compliance: notifications whose e-mail failed for good or is still being retried,
    with the last error; 404 for everyone else."""
    check_compliance_page(request.user)
    page = CappedPaginator(notification_undelivered_list_for(request.user), UNDELIVERED_PAGE_SIZE)
    return render(
        request,
        "portal/notification_undelivered.html",
        {"page": page.get_page(request.GET.get("page"))},
    )


@login_required
@require_POST
def notification_retry_view(request, pk):
    """Compliance: send a failed notification again (``notification_retry``)."""
    notification = get_undelivered_notification_for_user(request.user, pk)
    try:
        notification_retry(actor=request.user, notification=notification)
    except ApplicationError as error:
        show_refusal(error, request=request)
    else:
        messages.success(request, _("Sent again: notification #%(id)s.") % {"id": notification.pk})
    return redirect("notification_undelivered")


def _inbox_return(request) -> str:
    """Back to the inbox page the form was on (only a page number is taken from the form)."""
    page = request.POST.get("page", "")
    return reverse("notification_list") + (f"?page={page}" if as_id(page) is not None else "")


# --- Two-factor sign-in, password and account -------------------------------------------


def _next_url(request) -> str:
    """Where to go after verification: ``next`` if it is on this site, else the home page."""
    return local_url(request, request.POST.get("next") or request.GET.get("next"), default="home")


def _confirmed_device(user):
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def _code_accepted(request, form, device) -> bool:
    """A posted code checked against ``device``; when right, this session is verified."""
    if request.method != "POST" or not form.is_valid():
        return False
    try:
        device = services.otp_verify(
            actor=request.user, device=device, token=form.cleaned_data["otp_token"]
        )
    except ApplicationError as error:
        show_refusal(error, form=form)
        return False
    otp_login(request, device)
    return True


@login_required
def two_factor_enrol(request):
    """Add an authenticator app: scan the QR code (or type the secret), confirm a code."""
    if _confirmed_device(request.user) is not None:
        return redirect(f"{reverse('two_factor_verify')}?{request.GET.urlencode()}")
    device = services.otp_device_for_enrolment(actor=request.user)
    form = OTPTokenForm(request.POST or None)
    if _code_accepted(request, form, device):
        messages.success(request, _("Two-factor authentication is set up."))
        return redirect(_next_url(request))
    context = {
        "form": form,
        # segno's own SVG markup: path data only, the secret is encoded in it, no text.
        "qr_svg": mark_safe(segno.make(device.config_url).svg_inline(scale=4)),  # nosec B308 B703
        "secret": b32encode(device.bin_key).decode(),
        "next": _next_url(request),
    }
    status = 400 if form.errors else 200
    return render(request, "registration/two_factor_enrol.html", context, status=status)


@login_required
def two_factor_verify(request):
    """The second step of a login for those who need it: the code of their device."""
    device = _confirmed_device(request.user)
    if device is None:
        return redirect(f"{reverse('two_factor_enrol')}?{request.GET.urlencode()}")
    if request.user.is_verified():
        return redirect(_next_url(request))
    form = OTPTokenForm(request.POST or None)
    if _code_accepted(request, form, device):
        return redirect(_next_url(request))
    status = 400 if form.errors else 200
    return render(
        request,
        "registration/two_factor_verify.html",
        {"form": form, "next": _next_url(request)},
        status=status,
    )


@login_required
def password_change(request):
    """Change one's password; every other session of the account ends (see the service)."""
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.password_change(
            actor=request.user, new_password=form.cleaned_data["new_password1"]
        )
        update_session_auth_hash(request, request.user)
        messages.success(
            request, _("Your password is changed; your other sessions are logged out.")
        )
        return redirect("home")
    status = 400 if form.errors else 200
    return render(request, "registration/password_change.html", {"form": form}, status=status)


@login_required
def account(request):
    """The person's own settings: the language pages and e-mails are written in
    (``portal.languages``), the time zone every time is shown in (``portal.display``) and the
    way to change the password."""
    current = zone_for(request.user).key
    form = TimeZoneForm(request.POST or None, initial={"time_zone": current})
    if request.method == "POST" and form.is_valid():
        try:
            services.user_time_zone_set(
                actor=request.user, time_zone=form.cleaned_data["time_zone"]
            )
        except ApplicationError as error:
            show_refusal(error, request=request, form=form)
        else:
            zone = zone_for(request.user)
            messages.success(
                request,
                _("Times are now shown in %(zone)s: it is %(now)s.")
                % {"zone": zone.key, "now": datetime_text(timezone.now(), zone)},
            )
            return redirect("account")
    status = 400 if form.errors else 200
    language_form = LanguageForm(
        initial={"language": request.user.language, "next": reverse("account")}
    )
    context = {
        "form": form,
        "zone": current,
        "language_form": language_form,
        "language_name": dict(language_form.fields["language"].choices)[
            request.user.language if request.user.language in language_codes() else ""
        ],
    }
    return render(request, "portal/account.html", context, status=status)


@require_POST
def language_choose(request):
    """The chooser in the menu and on the account page: read the portal in the posted
    language from now on. Signed in, the choice is saved on the account (pages on every
    device, and e-mails, follow it: ``services.user_language_set``); for everyone it is also
    the language cookie, so the sign-in page follows it. An unknown language changes nothing
    and says so. Returns to ``next`` when it is a page of this site, else the dashboard."""
    form = LanguageForm(request.POST)
    back = local_url(request, request.POST.get("next"), default="home")
    if not form.is_valid():
        messages.error(request, _("That is not a language of the portal; nothing changed."))
        return redirect(back)
    language = form.cleaned_data["language"]
    if request.user.is_authenticated:
        services.user_language_set(actor=request.user, language=language)
    response = redirect(back)
    if language:
        translation.activate(language)
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )
    else:
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME, path=settings.LANGUAGE_COOKIE_PATH)
        translation.activate(get_language_from_request(request))
    messages.success(request, _("The portal now speaks your chosen language."))
    return response
