"""The identity provider as configured: whether SSO is on, which local logins remain, and
the endpoints read from the issuer's discovery document.

mozilla-django-oidc wants each endpoint as a setting (``OIDC_OP_TOKEN_ENDPOINT``, ...);
the portal is configured by the issuer alone, as Entra ID, Okta and Keycloak publish theirs
at ``<issuer>/.well-known/openid-configuration`` (OpenID Connect Discovery 1.0, section 4),
so ``provider_setting`` answers those names from the document, read once and cached.
"""

from typing import Any

import requests
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _
from mozilla_django_oidc.utils import import_from_settings

from portal.errors import ApplicationError

# mozilla-django-oidc's setting -> the discovery document's field.
DISCOVERED_SETTINGS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}
BREAKGLASS = "breakglass"


class ProviderUnavailable(ApplicationError):
    """The identity provider could not be asked (down, misconfigured, wrong answer)."""


def sso_enabled() -> bool:
    """Is OpenID Connect sign-in configured (``OIDC_ISSUER`` and ``OIDC_CLIENT_ID`` set)?"""
    return bool(settings.OIDC_ISSUER and settings.OIDC_RP_CLIENT_ID)


def provider_name() -> str:
    """The name on the sign-in button: ``OIDC_PROVIDER_NAME`` (e.g. ``Microsoft Entra ID``)."""
    return str(settings.OIDC_PROVIDER_NAME)


def local_login_mode() -> str:
    """``on`` (anyone with a password), ``breakglass`` (superusers only) or ``off``.

    ``LOCAL_LOGIN``; without SSO the mode is always ``on``, since there would be no other
    way in at all (the local demo)."""
    if not sso_enabled():
        return "on"
    return str(settings.LOCAL_LOGIN)


def discovery_document() -> dict[str, Any]:
    """The issuer's discovery document (a dict), from the cache or fetched.

    Raises ``ProviderUnavailable`` when the provider does not answer within
    ``OIDC_TIMEOUT`` seconds, answers an error or something that is not a document of this
    issuer (its ``issuer`` must equal ``OIDC_ISSUER``: Discovery 1.0, section 4.3).
    """
    issuer = str(settings.OIDC_ISSUER)
    key = f"oidc-discovery:{issuer}"
    document = cache.get(key)
    if document is not None:
        return dict(document)
    url = f"{issuer}/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT, verify=settings.OIDC_VERIFY_SSL)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as error:
        raise ProviderUnavailable(
            _(
                "The identity provider (%(provider)s) could not be reached. Try again in a "
                "minute; if it goes on, tell the service desk."
            )
            % {"provider": provider_name()}
        ) from error
    if not isinstance(document, dict) or str(document.get("issuer", "")).rstrip("/") != issuer:
        raise ProviderUnavailable(
            _("The identity provider's configuration at %(url)s is not that of %(issuer)s.")
            % {"url": url, "issuer": issuer}
        )
    cache.set(key, document, settings.OIDC_DISCOVERY_CACHE_SECONDS)
    return document


def endpoint(field: str) -> str:
    """One address of the discovery document (``token_endpoint``, ``jwks_uri``, ...);
    ``ProviderUnavailable`` when the document lacks it."""
    value = discovery_document().get(field)
    if not value:
        raise ProviderUnavailable(
            _("The identity provider publishes no %(field)s.") % {"field": field}
        )
    return str(value)


def provider_setting(attr: str, *default: Any) -> Any:
    """mozilla-django-oidc's ``get_settings``: endpoints from discovery, the rest from
    Django's settings (``ImproperlyConfigured`` for a missing one without a default)."""
    if attr in DISCOVERED_SETTINGS:
        return endpoint(DISCOVERED_SETTINGS[attr])
    return import_from_settings(attr, *default)
