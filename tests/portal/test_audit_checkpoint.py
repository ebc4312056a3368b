"""Checkpoints signed with Ed25519: auditors check them with the public key alone."""

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.core.management.base import CommandError

from portal.audit_checkpoint import sign
from portal.audit_heads import heads_files
from portal.audit_verify import verify_audit
from portal.services import audit_anchor_write
from tests.portal.audit_tampering import truncate_after, write_events

pytestmark = pytest.mark.django_db


def pem_files(directory: Path, name: str) -> tuple[Path, Path]:
    key = Ed25519PrivateKey.generate()
    private, public = directory / f"{name}.pem", directory / f"{name}.pub"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


@pytest.fixture
def signing(settings, tmp_path):
    private, public = pem_files(tmp_path, "audit-signing")
    settings.AUDIT_SIGNING_KEY_FILE = str(private)
    return public


def test_a_checkpoint_is_signed_and_verifies_with_the_public_key_alone(settings, signing):
    write_events(5)
    anchor = audit_anchor_write(actor=None).anchor
    settings.AUDIT_SIGNING_KEY_FILE = ""  # the auditor has only the public key

    data = json.loads((Path(settings.AUDIT_ANCHOR_DIR) / anchor.file).read_text())
    result = verify_audit(public_key_file=signing)

    assert len(data["signature"]) == 128
    assert (result.ok, result.anchors) == (True, 1)
    call_command("verify_audit", "--public-key", str(signing))


def test_a_checkpoint_rewritten_and_re_signed_with_another_key_is_named(
    settings, signing, tmp_path
):
    events = write_events(10)
    anchor = audit_anchor_write(actor=None).anchor
    # The forger cuts the tail, then rewrites the checkpoint onto the survivor, signing it
    # with a key of their own (they do not hold the portal's).
    truncate_after(events[6])
    for heads in heads_files(settings.AUDIT_ANCHOR_DIR):
        heads.write_text("")
    forger_key, _ = pem_files(tmp_path, "forger")
    settings.AUDIT_SIGNING_KEY_FILE = str(forger_key)
    path = Path(settings.AUDIT_ANCHOR_DIR) / anchor.file
    path.unlink()
    forged = {
        "event_id": events[6].pk,
        "position": events[6].position,
        "hash": events[6].hash,
        "anchored_at": anchor.anchored_at,
    }
    path.write_text(json.dumps({**forged, "signature": sign(forged)}))

    result = verify_audit(public_key_file=signing)

    assert not result.ok
    assert f"Checkpoint {anchor.file} is not signed by the audit signing key" in result.reason
    with pytest.raises(CommandError, match="not signed by the audit signing key"):
        call_command("verify_audit", "--public-key", str(signing))


def test_an_unsigned_checkpoint_fails_when_auditors_hold_a_public_key(settings, signing):
    write_events(3)
    settings.AUDIT_SIGNING_KEY_FILE = ""
    anchor = audit_anchor_write(actor=None).anchor

    result = verify_audit(public_key_file=signing)

    assert not result.ok and anchor.file in result.reason


def test_from_the_newest_checkpoint_only_the_events_after_it_are_walked(settings, signing):
    write_events(6)
    audit_anchor_write(actor=None)  # writes audit.anchor, then more events follow
    assert verify_audit(from_checkpoint=True).ok  # nothing sealed after it yet
    events = write_events(4)

    result = verify_audit(from_checkpoint=True)

    assert (result.ok, result.checked) == (True, 5)  # audit.anchor and the four
    truncate_after(events[1])
    assert not verify_audit(from_checkpoint=True).ok
