"""Single sign-on's settings (OpenID Connect, ``portal/sso/``), read from the environment and
imported by name by ``portal/settings.py``. docs/single-sign-on.md gives the values per
provider (Entra ID, Okta, Keycloak).
"""

__all__ = [
    "OIDC_ISSUER",
    "OIDC_PROVIDER_NAME",
    "OIDC_RP_CLIENT_ID",
    "OIDC_RP_CLIENT_SECRET",
    "OIDC_RP_SCOPES",
    "OIDC_RP_SIGN_ALGO",
    "OIDC_USE_PKCE",
    "OIDC_USE_NONCE",
    "OIDC_TIMEOUT",
    "OIDC_VERIFY_SSL",
    "OIDC_DISCOVERY_CACHE_SECONDS",
    "OIDC_USERNAME_CLAIM",
    "OIDC_GROUPS_CLAIM",
    "OIDC_GROUP_ROLES",
    "OIDC_MFA_REQUIRED",
    "OIDC_MFA_CLAIM",
    "OIDC_MFA_VALUES",
    "OIDC_ACR_VALUES",
    "OIDC_AUTH_REQUEST_EXTRA_PARAMS",
    "OIDC_ACCESS_GROUP",
    "LOCAL_LOGIN",
    "LOGIN_REDIRECT_URL_FAILURE",
    "OIDC_AUTHENTICATION_CALLBACK_URL",
]

from portal.environment import env_bool, env_choice, env_int, env_list, env_mapping, env_str

# Single sign-on with OpenID Connect (portal/sso/, docs/single-sign-on.md). Off while
# OIDC_ISSUER is empty (the local demo). The endpoints and signing keys come from the
# issuer's discovery document; mozilla-django-oidc runs the authorization code flow with
# PKCE, state and nonce, and checks the id_token's signature.
OIDC_ISSUER = env_str("OIDC_ISSUER").rstrip("/")
OIDC_PROVIDER_NAME = env_str("OIDC_PROVIDER_NAME", "single sign-on")
OIDC_RP_CLIENT_ID = env_str("OIDC_CLIENT_ID")
OIDC_RP_CLIENT_SECRET = env_str("OIDC_CLIENT_SECRET")
OIDC_RP_SCOPES = " ".join(env_list("OIDC_SCOPES", "openid,email,profile"))
OIDC_RP_SIGN_ALGO = env_str("OIDC_SIGN_ALGO", "RS256")
OIDC_USE_PKCE = True
OIDC_USE_NONCE = True
OIDC_TIMEOUT = env_int("OIDC_TIMEOUT", 10)
OIDC_VERIFY_SSL = env_bool("OIDC_VERIFY_SSL", True)
# Seconds the discovery document (endpoints, JWKS address) is kept in the cache.
OIDC_DISCOVERY_CACHE_SECONDS = env_int("OIDC_DISCOVERY_CACHE_SECONDS", 3600)
# Claims: the portal user name (matched to an existing local account at the first
# sign-in), the directory groups.
OIDC_USERNAME_CLAIM = env_str("OIDC_USERNAME_CLAIM", "preferred_username")
OIDC_GROUPS_CLAIM = env_str("OIDC_GROUPS_CLAIM", "groups")
# Directory group -> role, applied at every sign-in: "portal-compliance=Compliance,...".
# A role named here is the directory's: granted and taken away by it alone.
OIDC_GROUP_ROLES = env_mapping("OIDC_GROUP_ROLES", ("Compliance", "Legal", "superuser"))
# Compliance, Legal and superusers need the provider's multi-factor sign-in: the claim
# (amr, RFC 8176, or acr) and the values that count as one.
OIDC_MFA_REQUIRED = env_bool("OIDC_MFA_REQUIRED", True)
OIDC_MFA_CLAIM = env_choice("OIDC_MFA_CLAIM", ("amr", "acr"), "amr")
OIDC_MFA_VALUES = env_list("OIDC_MFA_VALUES", "mfa")
# acr_values asked of the provider at every sign-in (a step-up to MFA: Okta, Keycloak).
OIDC_ACR_VALUES = env_str("OIDC_ACR_VALUES")
OIDC_AUTH_REQUEST_EXTRA_PARAMS = {"acr_values": OIDC_ACR_VALUES} if OIDC_ACR_VALUES else {}
# The directory group whose members may use the portal (the application's assignment
# group). Empty: anyone the provider signs in. Set: a person signed in without it is refused,
# and their linked account goes through the leaver process (portal/identity/leavers.py).
OIDC_ACCESS_GROUP = env_str("OIDC_ACCESS_GROUP")
# Local passwords: on (everyone, the demo), breakglass (superusers only, with TOTP), off.
LOCAL_LOGIN = env_choice(
    "LOCAL_LOGIN", ("on", "breakglass", "off"), "breakglass" if OIDC_ISSUER else "on"
)
LOGIN_REDIRECT_URL_FAILURE = "/accounts/login/"
OIDC_AUTHENTICATION_CALLBACK_URL = "sso_callback"
