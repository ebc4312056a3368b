"""Signed checkpoints of the audit log: Ed25519 signatures over an anchored head.

The daily anchor (``audit_anchor_write``) signs the head it writes with the private key in
``AUDIT_SIGNING_KEY_FILE`` (PEM, PKCS#8, e.g. ``openssl genpkey -algorithm ed25519``).
Auditors keep the public key: ``manage.py verify_audit --public-key FILE`` checks every
checkpoint with it, so a checkpoint rewritten by whoever holds the database, the HMAC key
or the anchor directory, but not the signing key, is named.
"""

from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings


def checkpoint_content(anchor: Mapping) -> bytes:
    """The exact bytes signed for an anchor holding ``position``, ``event_id``, ``hash``
    and ``anchored_at``: one field a line, after a fixed title."""
    lines = ["portal audit checkpoint v1"]
    lines += [str(anchor[name]) for name in ("position", "event_id", "hash", "anchored_at")]
    return ("\n".join(lines) + "\n").encode()


def signing_key() -> Ed25519PrivateKey | None:
    """The private key of ``AUDIT_SIGNING_KEY_FILE``, or ``None`` when unset (checkpoints
    are then written unsigned; ``check --deploy`` says so). Raises ``ValueError`` when the
    file is not an unencrypted Ed25519 PEM key."""
    path = settings.AUDIT_SIGNING_KEY_FILE
    if not path:
        return None
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key.")
    return key


def public_key(path: Path | str | None = None) -> Ed25519PublicKey | None:
    """The public key to check checkpoints with: the PEM file ``path`` an auditor keeps,
    else the one of the portal's own signing key, else ``None``. Raises ``ValueError`` on
    a file that is not an Ed25519 public key."""
    if path:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError(f"{path} is not an Ed25519 public key.")
        return key
    private = signing_key()
    return private.public_key() if private else None


def sign(anchor: Mapping) -> str | None:
    """Hex signature of ``anchor`` with the signing key, or ``None`` without one."""
    key = signing_key()
    return key.sign(checkpoint_content(anchor)).hex() if key else None


def signature_valid(key: Ed25519PublicKey, anchor: Mapping, signature: str) -> bool:
    """Does ``signature`` (hex) sign ``anchor`` under ``key``?"""
    try:
        key.verify(bytes.fromhex(signature), checkpoint_content(anchor))
    except (InvalidSignature, ValueError):
        return False
    return True
