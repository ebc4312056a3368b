"""Writes of the portal core: anchoring the audit trail and exporting the audit log."""

import json
import logging
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from celery import current_app
from celery.result import EagerResult
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django_otp.plugins.otp_totp.models import TOTPDevice
from kombu.exceptions import OperationalError as KombuOperationalError
from rest_framework.authtoken.models import Token

from portal import roles
from portal.audit import audit_record, security_event
from portal.audit_actions import AuditAction
from portal.audit_checkpoint import sign
from portal.audit_seal import seal_pending
from portal.audit_verify import AuditAnchor, AuditVerification, verify_audit
from portal.display import time_zone_names
from portal.errors import ApplicationError
from portal.history import save_with_history
from portal.languages import language_codes
from portal.models import AuditEvent, User
from portal.notifications import notify
from portal.selectors import audit_event_list_for

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuditAnchorResult:
    verification: AuditVerification
    anchor: AuditAnchor | None


def audit_anchor_write(*, actor: User | None, directory: Path | None = None) -> AuditAnchorResult:
    """Verify the chain, then write its head (id, hash, time) outside the database.

    The head goes to a new file under ``AUDIT_ANCHOR_DIR`` and, through ``notify``, to
    every compliance officer's inbox and e-mail: whoever later truncates the newest events,
    even with the head row rewritten, cannot make ``verify_audit`` pass. A broken chain is
    not anchored (an anchor would vouch for a rewritten head); compliance is told instead.
    An empty chain has nothing to anchor.

    ``actor``: ``None`` for the command and the beat job; a person (the dashboard's button)
    must be a compliance officer (``NotAllowed`` otherwise) and is recorded as the actor of
    the ``audit.anchor`` event.
    """
    if actor is not None:
        roles.require_compliance(actor, _("anchor the audit trail"))
    directory = Path(directory or settings.AUDIT_ANCHOR_DIR)
    # Everything committed so far is sealed first, so the anchor covers it.
    seal_pending(heads_dir=directory)
    # Outside the transaction below, so the walk runs in its own consistent snapshot.
    verification = verify_audit(anchor_dir=directory)
    with transaction.atomic():
        compliance = roles.role_members(roles.COMPLIANCE)
        if not verification.ok:
            notify(
                users=compliance,
                kind="audit_anchor",
                context={"verification": verification, "anchor": None},
            )
            audit_record(
                actor=actor,
                action=AuditAction.AUDIT_VERIFY_FAILED,
                detail={"first_bad": verification.first_bad, "reason": verification.reason},
            )
            return AuditAnchorResult(verification=verification, anchor=None)
        if not verification.last_id:
            return AuditAnchorResult(verification=verification, anchor=None)
        # The head the verification ended on, not whatever was appended since: an anchor
        # vouches only for what was checked.
        head = AuditEvent.objects.values("id", "hash", "position", "created_at").get(
            pk=verification.last_id
        )
        anchor = _write_anchor_file(directory, head)
        notify(
            users=compliance,
            kind="audit_anchor",
            context={"verification": verification, "anchor": anchor},
        )
        audit_record(
            actor=actor,
            action=AuditAction.AUDIT_ANCHOR,
            detail={"event_id": anchor.event_id, "hash": anchor.hash, "file": anchor.file},
        )
    return AuditAnchorResult(verification=verification, anchor=anchor)


# By name: portal.tasks imports this module, so importing the task here would close a cycle.
ANCHOR_TASK = "portal.tasks.audit_anchor_requested"


def audit_anchor_request(*, actor: User) -> dict | None:
    """A compliance officer's "Verify and anchor now": queue ``audit_anchor_write`` for a
    worker (the task ``audit_anchor_requested``), so that the request does not wait for a
    walk of the whole log (about 8 seconds per million events).

    Returns the outcome (the task's dict: ``ok``, ``checked``, ``first_bad``, ``reason``,
    ``anchored_event``, ``file``) when the job has already run, as it does without a
    worker (tasks run in-process when ``REDIS_URL`` is unset); ``None`` when a worker will
    run it and compliance learns the outcome in the inbox. Raises ``NotAllowed`` for anyone
    but a compliance officer, ``ApplicationError`` when the task queue cannot be reached
    (nothing is queued or anchored then)."""
    roles.require_compliance(actor, _("anchor the audit trail"))
    try:
        job = current_app.tasks[ANCHOR_TASK].delay(actor.pk)
    except KombuOperationalError as error:
        logger.warning("Could not queue the audit anchor: %s", error)
        raise ApplicationError(
            _(
                "The verification could not be queued (the task queue is down). Nothing was "
                "anchored; try again in a few minutes."
            )
        ) from error
    return (job.get() or None) if isinstance(job, EagerResult) else None


def _write_anchor_file(directory: Path, head: Mapping[str, Any]) -> AuditAnchor:
    # Written before the transaction commits: if it rolls back, the file still names an
    # event that was already committed, so it stays true; if the disk fails, nothing is
    # recorded as anchored.
    directory.mkdir(parents=True, exist_ok=True)
    now = timezone.now()
    name = f"anchor-{now:%Y%m%dT%H%M%S%fZ}-{head['id']}.json"
    content = {
        "event_id": head["id"],
        "position": head["position"],
        "hash": head["hash"],
        "event_created_at": head["created_at"].isoformat(),
        "anchored_at": now.isoformat(),
    }
    # Ed25519 over position, event, link and time: a checkpoint auditors can check with
    # the public key alone (portal.audit_checkpoint).
    signature = sign(content)
    if signature:
        content["signature"] = signature
    # Write then rename: a crash never leaves a half-written anchor that verify would reject.
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".anchor-")
    with os.fdopen(handle, "w") as file:
        json.dump(content, file, indent=2)
    os.replace(temporary, directory / name)
    return AuditAnchor(
        event_id=head["id"],
        hash=head["hash"],
        anchored_at=content["anchored_at"],
        file=name,
        position=head["position"],
    )


@transaction.atomic
def audit_log_export(*, actor: User, filters: dict) -> QuerySet[AuditEvent]:
    """The events a compliance officer downloads, recorded as ``audit.export`` first.

    Reading the audit log in bulk is itself a trace-worthy act: the filters used and the
    number of rows are in the event. Only compliance reads the audit log.
    """
    if not roles.is_compliance(actor):
        raise ApplicationError(_("Only a compliance officer can read the audit log."))
    events = audit_event_list_for(actor, **filters)
    audit_record(
        actor=actor,
        action=AuditAction.AUDIT_EXPORT,
        asset_id=filters.get("asset"),
        detail={
            "filters": {key: value for key, value in filters.items() if value},
            "rows": events.count(),
        },
    )
    return events


# --- Second factor, API tokens and passwords --------------------------------------------------


def otp_device_for_enrolment(*, actor: User) -> TOTPDevice:
    """The unconfirmed TOTP device ``actor`` is enrolling, created on first need.

    One per user: reloading the enrolment page shows the same secret, so the code the
    authenticator app shows keeps matching. Refused once a device is confirmed (a second
    device is added by an administrator, after the first one proved who is asking).
    """
    with transaction.atomic():
        if TOTPDevice.objects.filter(user=actor, confirmed=True).exists():
            raise ApplicationError(_("A two-factor device is already enrolled for you."))
        device = TOTPDevice.objects.filter(user=actor, confirmed=False).order_by("pk").first()
        if device is None:
            device = TOTPDevice.objects.create(user=actor, name="Authenticator", confirmed=False)
        return device


def otp_verify(*, actor: User, device: TOTPDevice, token: str) -> TOTPDevice:
    """Check a code from ``actor``'s device; on its first success, confirm the device.

    A wrong code is recorded (``auth.otp_failed`` in the audit trail and the security log,
    never the code) and counted by the device's throttle, which then refuses codes for a
    growing delay. Both are committed before the refusal is raised, so a rejected code
    always leaves its trace.
    """
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=actor)
        allowed, _reason = device.verify_is_allowed()
        verified = allowed and device.verify_token(token)
        enrolling = not device.confirmed
        if verified:
            if enrolling:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
            audit_record(
                actor=actor,
                action=AuditAction.AUTH_OTP_ENROL if enrolling else AuditAction.AUTH_OTP_VERIFY,
                target=actor,
                detail={"device": device.name},
            )
        else:
            audit_record(
                actor=actor,
                action=AuditAction.AUTH_OTP_FAILED,
                target=actor,
                detail={"stage": "enrolment" if enrolling else "login", "throttled": not allowed},
            )
    if not verified:
        security_event("auth.otp_failed", user=actor, throttled=not allowed)
        if not allowed:
            raise ApplicationError(
                _("Too many wrong codes: wait a little and try again."), field="otp_token"
            )
        raise ApplicationError(
            _("That code is not right. Use the current code of your authenticator app."),
            field="otp_token",
        )
    return device


@transaction.atomic
def api_token_issue(*, actor: User | None, user: User, reset: bool = False) -> Token:
    """The API token of ``user`` (a new one with ``reset``).

    Someone who must use a second factor gets a token only once a device is confirmed:
    otherwise the token would be a way in with the password alone. The key is never in the
    audit trail, only that a token was issued.
    """
    from portal.security import has_confirmed_device, otp_required_for

    if otp_required_for(user) and not has_confirmed_device(user):
        raise ApplicationError(
            _(
                "%(username)s must enrol a two-factor device in the portal before an API "
                "token can be issued."
            )
            % {"username": user.get_username()}
        )
    if reset:
        Token.objects.filter(user=user).delete()
    token, created = Token.objects.get_or_create(user=user)
    if created:
        audit_record(actor=actor, action=AuditAction.AUTH_TOKEN_ISSUE, target=user)
    return token


@transaction.atomic
def password_change(*, actor: User, new_password: str) -> None:
    """Set ``actor``'s new password (validated by the form against the validators).

    Django keys every session to a hash of the password, so every other session of the
    user ends with this change: a stolen session does not survive a password change. The
    view keeps the current one (``update_session_auth_hash``).
    """
    actor.set_password(new_password)
    actor.save(update_fields=["password"])
    audit_record(actor=actor, action=AuditAction.AUTH_PASSWORD_CHANGE, target=actor)


def user_time_zone_set(*, actor: User, time_zone: str) -> User:
    """Show ``actor`` every time in ``time_zone`` from now on (pages and e-mails): an IANA
    zone name the tz database knows (``portal.display.time_zone_names``), else
    ``ApplicationError`` on ``time_zone`` and nothing changes. Recorded in the account's
    row history, with the person as its user."""
    if time_zone not in time_zone_names():
        raise ApplicationError(
            _("%(name)s is not a time zone.") % {"name": repr(time_zone)}, field="time_zone"
        )
    with transaction.atomic():
        # The row as stored now (a directory update may have changed it meanwhile): the
        # history row is a snapshot of what is saved.
        user = User.objects.select_for_update().get(pk=actor.pk)
        user.time_zone = time_zone
        save_with_history(
            user, actor=user, reason=gettext_noop("Time zone chosen"), update_fields=["time_zone"]
        )
    actor.time_zone = time_zone
    return user


def user_language_set(*, actor: User, language: str) -> User:
    """Show ``actor`` the portal and their e-mails in ``language`` from now on: a code of
    ``settings.LANGUAGES`` (``"nb"``), or ``""`` to follow the browser again; anything else
    is ``ApplicationError`` on ``language`` and nothing changes. Recorded in the account's
    row history, with the person as its user (``portal.languages``)."""
    if language and language not in language_codes():
        raise ApplicationError(
            _("%(language)s is not a language of the portal.") % {"language": repr(language)},
            field="language",
        )
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=actor.pk)
        user.language = language
        save_with_history(
            user, actor=user, reason=gettext_noop("Language chosen"), update_fields=["language"]
        )
    actor.language = language
    return user
