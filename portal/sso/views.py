"""The login page, the start of a sign-in at the identity provider, and its return.

The start and the return are mozilla-django-oidc's views (state, nonce and PKCE verifier
kept in the session, checked on return, then the backend) with the portal's answers to what
can go wrong: every failure goes back to the login page with a message that says what
happened, never a server error, and leaves nobody signed in.
"""

import jwt
import requests
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import SuspiciousOperation
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.generic import View
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from portal.audit import security_event
from portal.input_limits import one_line
from portal.sso import accounts, provider
from portal.sso.forms import LocalLoginForm

# Errors of a sign-in the person can only retry: an expired or replayed state, a code the
# provider no longer honours, a token that fails its checks, a provider that stops answering.
RETRYABLE = (requests.RequestException, SuspiciousOperation, jwt.PyJWTError, ValueError, KeyError)


class LoginView(auth_views.LoginView):
    """The login page: "Sign in with <provider>" first when SSO is on; the password form
    only as ``LOCAL_LOGIN`` allows (for everyone, for break-glass administrators, or not)."""

    form_class = LocalLoginForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["sso_enabled"] = provider.sso_enabled()
        context["sso_provider_name"] = provider.provider_name()
        context["local_login"] = provider.local_login_mode()
        return context

    def post(self, request, *args, **kwargs):
        if provider.local_login_mode() == "off":
            messages.error(
                request,
                _("Passwords are switched off for this portal: sign in with %(provider)s.")
                % {"provider": provider.provider_name()},
            )
            return redirect("login")
        return super().post(request, *args, **kwargs)


class SignInStart(OIDCAuthenticationRequestView):
    """``GET /accounts/sso/start/``: off to the provider's authorization endpoint."""

    get_settings = staticmethod(provider.provider_setting)

    def __init__(self, **kwargs):
        # Not the library's __init__, which reads the endpoint before a refusal can be shown.
        View.__init__(self, **kwargs)
        self.OIDC_RP_CLIENT_ID = self.get_settings("OIDC_RP_CLIENT_ID")

    def get(self, request):
        if not provider.sso_enabled():
            raise Http404("Single sign-on is not configured.")  # i18n: not shown (the 404 page)
        try:
            self.OIDC_OP_AUTH_ENDPOINT = provider.endpoint("authorization_endpoint")
        except provider.ProviderUnavailable as error:
            messages.error(request, error.message)
            return redirect("login")
        return super().get(request)


class SignInReturn(OIDCAuthenticationCallbackView):
    """``GET /accounts/sso/callback/``: the provider sends the person back with a code (or
    an error); the library checks the state and the backend does the rest."""

    get_settings = staticmethod(provider.provider_setting)

    def get(self, request):
        if not provider.sso_enabled():
            raise Http404("Single sign-on is not configured.")  # i18n: not shown (the 404 page)
        if request.GET.get("error"):
            said = one_line(request.GET.get("error_description") or request.GET["error"])
            messages.error(
                request,
                _("%(provider)s did not sign you in (%(said)s).")
                % {"provider": provider.provider_name(), "said": said[:200]},
            )
            security_event("auth.sso_error", error=request.GET["error"][:100])
        try:
            return super().get(request)
        except (accounts.SignInRefused, provider.ProviderUnavailable) as error:
            messages.error(request, error.message)
        except RETRYABLE as error:
            security_event("auth.sso_failed", error=type(error).__name__)
            messages.error(
                request,
                _(
                    "The sign-in could not be completed (it may have expired or been used "
                    "already). Start again with the button below."
                ),
            )
        return redirect("login")

    def login_failure(self):
        if not self.request.GET.get("error"):
            messages.error(
                self.request,
                _("The sign-in could not be completed. Start again with the button below."),
            )
        return super().login_failure()
