"""Authentication backends: OpenID Connect sign-in, and the gate on local passwords.

``SingleSignOnBackend`` is mozilla-django-oidc's backend (the token request with the PKCE
verifier, the id_token's RS256 signature against the provider's JWKS, the nonce) with what
the library leaves to its user: the id_token's issuer and audience (OIDC Core 1.0, section
3.1.3.7, items 2 and 3), the userinfo's ``sub`` (section 5.3.2), and the portal's account,
role and second-factor rules (``portal.sso.accounts``).

``LocalLoginGate`` sits before Django's ``ModelBackend``: under ``LOCAL_LOGIN=breakglass``
only superusers (the break-glass administrators) may use a password, under ``off`` nobody.
It stops every door that authenticates by password (the login page, the admin's login).
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from portal.sso import accounts, provider


class LocalLoginGate:
    """Refuses a password login that ``LOCAL_LOGIN`` does not allow (``PermissionDenied``
    stops the backends; Django records a failed login, axes counts it)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None  # not a password login
        mode = provider.local_login_mode()
        if mode == "on":
            return None
        if mode == provider.BREAKGLASS:
            user_model = get_user_model()
            if user_model.objects.filter(
                **{user_model.USERNAME_FIELD: username}, is_superuser=True
            ).exists():
                return None
        raise PermissionDenied("local login not allowed")

    # No get_user on purpose: it never signs anyone in, so no session names it, and the
    # test client's force_login takes the first backend that has one.


class SingleSignOnBackend(OIDCAuthenticationBackend):
    """OpenID Connect authorization code flow (mozilla-django-oidc), configured by the
    issuer alone; answers only the provider's return to the callback view."""

    get_settings = staticmethod(provider.provider_setting)

    def __init__(self, *args, **kwargs):
        # Not the library's __init__: it reads the endpoints, which would ask the provider
        # at every password login. They are read when a sign-in needs them.
        self.UserModel = get_user_model()
        self.OIDC_RP_CLIENT_ID = self.get_settings("OIDC_RP_CLIENT_ID")
        self.OIDC_RP_CLIENT_SECRET = self.get_settings("OIDC_RP_CLIENT_SECRET")
        self.OIDC_RP_SIGN_ALGO = self.get_settings("OIDC_RP_SIGN_ALGO", "RS256")
        self.OIDC_RP_IDP_SIGN_KEY = None

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self):  # noqa: N802 (the library's attribute name)
        return provider.endpoint("token_endpoint")

    @property
    def OIDC_OP_USER_ENDPOINT(self):  # noqa: N802
        return provider.endpoint("userinfo_endpoint")

    @property
    def OIDC_OP_JWKS_ENDPOINT(self):  # noqa: N802
        return provider.endpoint("jwks_uri")

    def authenticate(self, request, **kwargs):
        # The callback view passes the nonce; a password login never does.
        if request is None or "nonce" not in kwargs or not provider.sso_enabled():
            return None
        return super().authenticate(request, **kwargs)

    def verify_token(self, token, **kwargs):
        payload = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if str(payload.get("iss", "")).rstrip("/") != self.get_settings("OIDC_ISSUER"):
            raise SuspiciousOperation("id_token from another issuer")
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("id_token for another client")
        return payload

    def get_userinfo(self, access_token, id_token, payload):
        """The userinfo claims, with the id_token's own claims where userinfo has none;
        the sign-in method (``amr``, ``acr``) only ever from the id_token."""
        userinfo = super().get_userinfo(access_token, id_token, payload)
        if userinfo.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("userinfo is about another subject")
        claims = {**payload, **userinfo}
        for claim in ("amr", "acr", "auth_time"):
            claims.pop(claim, None)
            if claim in payload:
                claims[claim] = payload[claim]
        return claims

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        issuer = self.get_settings("OIDC_ISSUER")
        try:
            accounts.require_access_group(issuer=issuer, claims=claims)
            user = accounts.account_for_sign_in(issuer=issuer, claims=claims)
            changes = accounts.directory_roles_apply(user=user, issuer=issuer, claims=claims)
            user.refresh_from_db()
            accounts.require_provider_mfa(user=user, claims=claims)
        except accounts.SignInRefused as error:
            accounts.sign_in_refused_record(claims=claims, issuer=issuer, error=error)
            raise
        # Read by the login receiver (portal.signals) and the callback view.
        self.request.portal_single_sign_on = {
            "issuer": issuer,
            "amr": claims.get("amr"),
            "acr": claims.get("acr"),
            "mfa": accounts.has_provider_mfa(claims),
            "roles": changes,
        }
        return user

    def get_user(self, user_id):
        # Django's rule, not the library's: a deactivated account's session ends at once.
        return ModelBackend.get_user(self, user_id)
