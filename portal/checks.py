"""Deployment checks of the portal's own security settings (``manage.py check --deploy``)."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security, deploy=True)
def two_factor_required(app_configs, **kwargs):
    if settings.OTP_REQUIRED:
        return []
    return [
        Warning(
            "Two-factor authentication is off (OTP_REQUIRED=0): compliance, legal and "
            "administrators log in with a password alone.",
            hint="Unset OTP_REQUIRED (it is on by default); only the local demo turns it off.",
            id="portal.W001",
        )
    ]


@register(Tags.security, deploy=True)
def idle_timeout_set(app_configs, **kwargs):
    if 0 < settings.SESSION_IDLE_TIMEOUT <= 60 * 60:
        return []
    return [
        Warning(
            f"SESSION_IDLE_TIMEOUT is {settings.SESSION_IDLE_TIMEOUT} seconds: an unattended "
            "session stays usable for more than an hour.",
            hint="Use at most 3600 seconds (the default is 1800, 30 minutes).",
            id="portal.W002",
        )
    ]


@register(Tags.security, deploy=True)
def audit_key_set(app_configs, **kwargs):
    """The audit log's HMAC key must be a real one: without it nothing can be sealed, and
    with the development key anyone can forge a link."""
    from portal.audit_seal import DEVELOPMENT_KEY_ID, AuditKeyError, audit_keys

    try:
        current, _ = audit_keys()
    except AuditKeyError as error:
        problem = str(error)
    else:
        if current != DEVELOPMENT_KEY_ID:
            return []
        problem = "AUDIT_KEYS holds only the development key, which is public."
    return [
        Error(
            problem,
            hint='Set AUDIT_KEYS="<id>:<secret>" (a random secret of at least 32 characters, '
            "kept outside the database); see docs/audit-trail.md.",
            id="portal.E001",
        )
    ]


@register(Tags.security, deploy=True)
def audit_signing_key_set(app_configs, **kwargs):
    """Without a signing key the daily checkpoints are unsigned: whoever can write the
    anchor directory can rewrite them unnoticed."""
    if settings.AUDIT_SIGNING_KEY_FILE:
        return []
    return [
        Warning(
            "AUDIT_SIGNING_KEY_FILE is not set: the audit log's checkpoints are not signed.",
            hint="openssl genpkey -algorithm ed25519 -out audit-signing.pem; give auditors "
            "the public key (openssl pkey -in audit-signing.pem -pubout).",
            id="portal.W003",
        )
    ]


@register(Tags.security, deploy=True)
def single_sign_on_configured(app_configs, **kwargs):
    """A half-configured single sign-on: the button would lead to a provider that refuses
    the portal, or privileged roles would sign in without a second factor."""
    issuer, client_id = settings.OIDC_ISSUER, settings.OIDC_RP_CLIENT_ID
    if not (issuer or client_id or settings.OIDC_RP_CLIENT_SECRET):
        return []
    problems = []
    if not (issuer and client_id and settings.OIDC_RP_CLIENT_SECRET):
        problems.append("single sign-on needs OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET")
    if issuer and not issuer.startswith("https://"):
        problems.append(f"OIDC_ISSUER {issuer!r} is not an https:// address")
    if issuer and not settings.OIDC_MFA_REQUIRED:
        problems.append("OIDC_MFA_REQUIRED is off: privileged roles sign in with one factor")
    if issuer and settings.LOCAL_LOGIN == "on":
        problems.append("LOCAL_LOGIN=on: every account can still log in with a password")
    return [
        Warning(
            f"Single sign-on: {problem}.",
            hint="See docs/single-sign-on.md for the settings per identity provider.",
            id="portal.W004",
        )
        for problem in problems
    ]
