"""Notifications: the one way any part of the portal tells people something.

What a notification says lives in templates, never in code: a service names the kind and
passes the objects (``notify(kind="grant_revoked", context={"grant": grant, ...})``), and
``notification_texts`` renders ``templates/notifications/<kind>-subject.txt`` and
``<kind>-body.txt`` as plain text (no HTML escaping). The link is the target's
``get_absolute_url()`` unless the caller names another page (a list).

How a notification travels (an outbox):

1. ``notify`` writes one ``Notification`` row per recipient in the caller's transaction and
   queues ``portal.tasks.deliver_notifications`` on commit, in batches of ``DELIVERY_BATCH``.
   A rollback leaves no row and sends nothing; a broker that is down leaves the rows pending
   (a warning, never a 500).
2. ``notification_deliver`` (``portal.notification_delivery``, run by the task) claims the
   rows with a conditional UPDATE, so only one worker sends each; sends each e-mail with a
   ``Message-ID`` derived from the row's id (a resent copy is recognisable as the same
   message); marks it sent. A failure releases the claim and records ``attempts``,
   ``last_error`` and ``next_attempt_at`` (exponential backoff); the task retries those
   rows then. A failure that cannot succeed
   on a retry (``delivery_error_is_permanent``: the mail server refused the recipient or
   the message with a 5xx, or the message cannot be built) sets ``failed_at`` instead: the
   row is never retried on its own, and compliance is told in the portal and by e-mail
   (``notification_retry`` sends it again once the cause is fixed).
3. ``notification_outbox_sweep`` (celery beat, every ``NOTIFICATION_SWEEP_INTERVAL``)
   re-queues every row still pending after ``NOTIFICATION_SWEEP_AGE`` whose backoff has
   passed, including rows whose claim is older than ``NOTIFICATION_CLAIM_TIMEOUT`` (the
   worker holding it died mid-send). Nothing stays pending while Redis, a worker and the
   SMTP server are up.

Delivery is at least once, and a second copy needs two failures at once. A row the SMTP
server accepted is marked sent at once; a database outage at that moment is waited out
(``_mark_sent`` retries for about 12 s, holding the fact in memory), then the fact travels
in the task's retry message. A database failure anywhere else mid-batch makes the task retry
at once, releasing its claim first. A copy goes out again only when (a) the worker process
dies (SIGKILL, OOM, power) between the server accepting a message and the row being marked,
or (b) the database stays down past the in-task retries AND the broker cannot take the retry
(or the retry never runs), so the claim goes stale after ``NOTIFICATION_CLAIM_TIMEOUT``.
That is at most one message per worker process in (a), at most one batch in (b), and the
copies share a Message-ID.
"""

import logging
import re
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from celery import current_app
from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.template import Context, TemplateDoesNotExist, engines
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from simple_history.utils import bulk_create_with_history

from portal import roles
from portal.audit import audit_record
from portal.audit_actions import AuditAction
from portal.display import zone_for
from portal.errors import ApplicationError
from portal.history import history_user_set
from portal.input_limits import one_line
from portal.languages import language_for
from portal.models import Notification, User

logger = logging.getLogger(__name__)

# Where the texts live: ``<TEXTS>/<kind>-subject.txt`` and ``<TEXTS>/<kind>-body.txt``, under
# the project's ``templates/`` directory.
TEXTS = "notifications"
_KIND = re.compile(r"[a-z0-9_]+")


class UnknownNotificationKind(LookupError):
    """A kind with no subject or body template: a programming error, caught by the tests."""


def notification_kinds() -> set[str]:
    """Every kind the project has texts for (a subject template in ``templates/``)."""
    directory = Path(settings.BASE_DIR) / "templates" / TEXTS
    return {path.name.removesuffix("-subject.txt") for path in directory.glob("*-subject.txt")}


def _by_reader(users: Iterable[User]) -> dict[tuple[ZoneInfo, str], list[User]]:
    """``users`` grouped by how they read a text: the zone of its times
    (``portal.display.zone_for``) and its language (``portal.languages.language_for``)."""
    groups: dict[tuple[ZoneInfo, str], list[User]] = {}
    for user in users:
        groups.setdefault((zone_for(user), language_for(user)), []).append(user)
    return groups


def notification_texts(
    kind: str, context: dict, *, zone: ZoneInfo | None = None, language: str | None = None
) -> tuple[str, str]:
    """The subject and body of a notification of ``kind``, rendered from its templates with
    ``context``, as plain text: nothing is HTML-escaped (``<``, ``&`` and quotes in titles
    and reasons reach the reader as typed); each loses the one newline that ends its file.
    Raises ``UnknownNotificationKind`` when either template is missing.

    Times are rendered in ``zone`` (the recipients'; default the site's ``TIME_ZONE``) in
    the portal's one format (``{{ moment|date:"DATETIME_FORMAT" }}``, ``portal.display``),
    and the words in ``language`` (the recipients'; default ``settings.LANGUAGE_CODE``),
    whatever language the request that caused the notification was in.

    The context must hold only what every recipient may read: a template can print any
    attribute of the objects it is given.
    """
    if not _KIND.fullmatch(kind):
        # i18n: not shown (a bug in the caller, never a person's doing)
        raise UnknownNotificationKind(f"{kind!r} is not a notification kind.")
    # The Django engine itself (not the backend wrapper): its templates render a Context
    # with autoescape off, as plain-text e-mail must.
    engine = engines["django"].engine  # type: ignore[attr-defined]
    try:
        subject = engine.get_template(f"{TEXTS}/{kind}-subject.txt")
        body = engine.get_template(f"{TEXTS}/{kind}-body.txt")
    except TemplateDoesNotExist as error:
        raise UnknownNotificationKind(
            f"No texts for notifications of kind {kind!r}."  # i18n: not shown (programmers)
        ) from error
    with (
        timezone.override(zone or ZoneInfo(settings.TIME_ZONE)),
        translation.override(language or settings.LANGUAGE_CODE),
    ):
        subject_text, body_text = (
            template.render(Context(context, autoescape=False)).removesuffix("\n")
            for template in (subject, body)
        )
    return subject_text, body_text


def notify(
    *,
    users: Iterable,
    kind: str,
    context: dict | None = None,
    link: str | None = None,
    target: models.Model | None = None,
) -> list[Notification]:
    """Tell each of ``users`` (duplicates and inactive accounts dropped) about an event of
    ``kind``; returns the rows written.

    The subject and body are ``kind``'s templates rendered with ``context``
    (``notification_texts``; ``UnknownNotificationKind`` if it has none). ``link`` is the
    portal path the notification opens; by default ``target.get_absolute_url()`` (none
    without a target).

    Guarantees: the rows are written in the caller's transaction and delivery is queued only
    once it commits; if queuing fails the rows stay pending and the outbox sweep sends them.
    Subject and body are what the recipient reads in the inbox and the e-mail; they must
    never contain what the recipient may not see (a confidential reporter, records), so the
    context holds nothing of that kind.
    The subject becomes one line (``header_text``): it is an e-mail header, and titles,
    names and recipients typed by people may hold line breaks. The body is cut to
    ``NOTIFICATION_BODY_MAX_CHARS`` (``excerpt``): it quotes what people wrote (a
    description, a reason, a note), which can be megabytes, and is stored and mailed once
    per recipient; the whole text stays on the object the link leads to. Templates put such
    text last, after the lines that say what to do.
    """
    if link is None:
        absolute_url = getattr(target, "get_absolute_url", None)
        link = absolute_url() if absolute_url is not None else ""
    recipients = {user.pk: user for user in users if user is not None and user.is_active}
    target_type, target_id = "", ""
    if target is not None:
        target_type = f"{target._meta.app_label}.{target._meta.model_name}"
        target_id = str(target.pk)
    rows = []
    for (zone, language), members in _by_reader(recipients.values()).items():
        subject, body = notification_texts(kind, context or {}, zone=zone, language=language)
        with translation.override(language):
            body_excerpt = excerpt(body)  # its "continued" marker in the readers' language
        rows += [
            Notification(
                recipient=user,
                kind=kind,
                subject=header_text(subject)[:255],
                body=body_excerpt,
                link=link,
                target_type=target_type,
                target_id=target_id,
            )
            for user in members
        ]
    if not recipients:
        notification_texts(kind, context or {})  # an unknown kind is refused all the same
    rows = bulk_create_with_history(rows, Notification)
    ids = [row.pk for row in rows]
    if ids:
        transaction.on_commit(lambda: queue_delivery(ids))
    return rows


# Rows per delivery task: one message and one SMTP connection serve a whole batch, while
# enough tasks remain for every worker process to take a share of a large event.
DELIVERY_BATCH = 25
DELIVER_TASK = "portal.tasks.deliver_notifications"


def queue_delivery(ids: list[int]) -> int:
    """Hand the rows to Celery in batches; returns how many rows were queued.

    A broker that is down must not break the caller: the rows stay pending and the outbox
    sweep delivers them later. The first failure stops the loop, so a dead broker costs one
    bounded publish attempt (``CELERY_TASK_PUBLISH_RETRY_POLICY``), not one per batch.
    """
    # By name: portal.tasks calls this module back, so importing it here would close a
    # cycle; PortalConfig.ready registers the task in every process.
    deliver_notifications = current_app.tasks[DELIVER_TASK]
    for start in range(0, len(ids), DELIVERY_BATCH):
        try:
            deliver_notifications.delay(ids[start : start + DELIVERY_BATCH])
        except Exception as error:  # noqa: BLE001 - any broker failure leaves the row pending
            logger.warning(
                "Could not queue %d notification(s) (%s); the outbox sweep will deliver them.",
                len(ids) - start,
                error,
            )
            return start
    return len(ids)


# C0 and C1 control characters (CR, LF, NUL, tab, NEL ...) and the Unicode line and
# paragraph separators: any of them in a header either splits it (header injection, which
# Django refuses with BadHeaderError) or is folded unpredictably by mail clients.
_NOT_IN_A_HEADER = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def header_text(text: str) -> str:
    """``text`` as one line fit for an e-mail header: every control character and line or
    paragraph separator becomes a space, then every run of white space one space, none at
    either end (``input_limits.one_line``).

    The one gate for text from people (titles, asset names, sharing recipients) on its way
    into a header; RFC 5322 section 2.2 allows no bare CR or LF in a header field body.
    """
    return one_line(_NOT_IN_A_HEADER.sub(" ", str(text)))


def portal_address(path: str) -> str:
    """The address people follow to a portal ``path``: ``PORTAL_URL`` in front of it when
    the site's base URL is set (always in e-mail, and in the inbox for the same text), else
    the path itself."""
    return f"{settings.PORTAL_URL}{path}"


def link_mentions(text: str, path: str) -> list[tuple[int, int]]:
    """Where ``text`` quotes the portal ``path`` as a word of its own ("Decide in the
    portal: /requests/4/"), as (start, end) character spans; none for an empty path. A
    longer path that only starts with it (``/requests/41/``) is not a mention."""
    if not path.startswith("/"):
        return []
    pattern = re.compile(rf"(?<![\w/.:]){re.escape(path)}(?![\w/-])")
    return [match.span() for match in pattern.finditer(text)]


CONTINUED = gettext_noop("… (continued in the portal)")


def excerpt(text: str, limit: int | None = None) -> str:
    """``text`` if it has at most ``limit`` characters (default
    ``NOTIFICATION_BODY_MAX_CHARS``), else its start, cut at a word boundary near the
    limit, followed by ``CONTINUED`` (in the active language); never longer than ``limit``
    plus that marker.

    The one bound on text from people in messages: a notification carries an excerpt, the
    portal the whole (the object's page is one link away).
    """
    limit = limit or settings.NOTIFICATION_BODY_MAX_CHARS
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ", limit - 100)
    return (cut[:space] if space > 0 else cut).rstrip() + " " + _(CONTINUED)


def _claimable() -> Q:
    """Pending and not held by a live worker (no claim, or one older than the timeout)."""
    stale = timezone.now() - timedelta(seconds=settings.NOTIFICATION_CLAIM_TIMEOUT)
    return Q(sent_at__isnull=True, failed_at__isnull=True) & (
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale)
    )


@transaction.atomic
def notification_retry(*, actor: User, notification: Notification) -> Notification:
    """Send a notification that failed for good once more (compliance only).

    Guarantees: only a row with ``failed_at`` and no ``sent_at`` is retried (another retry
    or a delivery in between makes this an ``ApplicationError``); ``failed_at`` is cleared
    and the row delivered on commit like a new one (same claim, same Message-ID); the
    retry is an audit event. A new permanent failure marks it failed again and tells
    compliance again. Raises ``ApplicationError`` for anyone but compliance.
    """
    if not roles.is_compliance(actor):
        raise ApplicationError(_("Only compliance can retry notifications."))
    row = Notification.objects.select_for_update().get(pk=notification.pk)
    if not row.can_retry:
        raise ApplicationError(
            _("This notification has not failed: it was delivered or is still being retried.")
        )
    row.failed_at, row.next_attempt_at, row.claimed_at = None, None, None
    history_user_set(row, actor)
    row.save(update_fields=["failed_at", "next_attempt_at", "claimed_at"])
    audit_record(
        actor=actor,
        action=AuditAction.NOTIFICATION_RETRY,
        target=row,
        detail={"kind": row.kind, "attempts": row.attempts, "last_error": row.last_error[:200]},
    )
    transaction.on_commit(lambda: queue_delivery([row.pk]))
    return row


def notification_outbox_sweep(*, limit: int | None = None) -> int:
    """Re-queue pending notifications older than ``NOTIFICATION_SWEEP_AGE``; returns how many.

    Guarantees: a row whose task was never queued (broker down), was lost, or whose worker
    died mid-send is queued again once its backoff has passed. Each queued row is given a
    new ``next_attempt_at`` one sweep age ahead, so a row still waiting in a long queue is not
    queued again every sweep; the claim makes any duplicate task harmless anyway.
    """
    now = timezone.now()
    due = (
        Notification.objects.filter(
            _claimable(), created_at__lte=now - timedelta(seconds=settings.NOTIFICATION_SWEEP_AGE)
        )
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("created_at", "pk")
    )
    ids = list(due.values_list("pk", flat=True)[: limit or settings.NOTIFICATION_SWEEP_BATCH])
    if not ids:
        return 0
    Notification.objects.filter(pk__in=ids).update(
        next_attempt_at=now + timedelta(seconds=settings.NOTIFICATION_SWEEP_AGE)
    )
    queued = queue_delivery(ids)
    logger.info("Outbox sweep re-queued %d of %d pending notification(s).", queued, len(ids))
    return queued


def notification_mark_read(*, actor: User, notification: Notification) -> Notification:
    """Mark ``actor``'s own notification read; reading it again keeps the first time.

    The caller loads the row with ``get_notification_for_user`` (404 for anyone else's); the
    recipient filter here is the second lock on that door.
    """
    Notification.objects.filter(pk=notification.pk, recipient=actor, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    notification.refresh_from_db(fields=["read_at"])
    return notification


def notification_mark_all_read(*, actor: User) -> int:
    """Mark every unread notification of ``actor`` read; returns how many changed."""
    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(
        read_at=timezone.now()
    )
