"""The SCIM client's bearer tokens: created by an administrator, shown once, stored as a hash.

Source: RFC 7644 §2 (SCIM authentication is the service provider's choice; OAuth bearer
tokens, RFC 6750, are the usual one) and OWASP's advice to store only a hash of a secret.
"""

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit import audit_record
from portal.audit_actions import AuditAction
from portal.errors import ApplicationError, NotAllowed
from portal.input_limits import one_line
from portal.models import ScimToken, User


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def scim_token_create(*, actor: User, name: str) -> tuple[ScimToken, str]:
    """An administrator (superuser) creates a token for the SCIM client ``name`` (1 to 100
    characters). Returns the row and the token itself, which is shown this once and never
    stored. Raises ``NotAllowed`` for anyone but an active superuser, ``ApplicationError``
    for a bad name. Audited ``scim_token.create`` (the prefix, never the token)."""
    if not (actor.is_active and actor.is_superuser):
        raise NotAllowed(_("Only an administrator can create a SCIM token."))
    name = one_line(name)
    if not 1 <= len(name) <= 100:
        raise ApplicationError(_("Name the SCIM client in 1 to 100 characters."), field="name")
    raw = secrets.token_urlsafe(32)
    token = ScimToken.objects.create(
        name=name, key_hash=_digest(raw), prefix=raw[:8], created_by=actor
    )
    audit_record(
        actor=actor,
        action=AuditAction.SCIM_TOKEN_CREATE,
        target=token,
        detail={"name": name, "prefix": token.prefix},
    )
    return token, raw


@transaction.atomic
def scim_token_revoke(*, actor: User, token: ScimToken) -> ScimToken:
    """An administrator revokes ``token`` at once (the row stays for the audit trail).
    Revoking a revoked token changes nothing. Raises ``NotAllowed`` for anyone but an
    active superuser. Audited ``scim_token.revoke``."""
    if not (actor.is_active and actor.is_superuser):
        raise NotAllowed(_("Only an administrator can revoke a SCIM token."))
    token = ScimToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor,
            action=AuditAction.SCIM_TOKEN_REVOKE,
            target=token,
            detail={"name": token.name, "prefix": token.prefix},
        )
    return token


def scim_token_authenticate(header: str) -> ScimToken | None:
    """The unrevoked token an ``Authorization`` header value (``Bearer <token>``) carries,
    or ``None``. Compares hashes (the lookup is by the SHA-256 of the presented token, so
    no timing reveals a stored one). Marks the token's last use, at most once a minute."""
    scheme, _space, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip() or len(raw) > 200:
        return None
    token = ScimToken.objects.filter(key_hash=_digest(raw.strip()), revoked_at=None).first()
    if token is not None:
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ScimToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
