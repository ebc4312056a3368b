"""Notifications: the one way any part of the portal tells people something.

How a notification travels (an outbox):

1. ``notify`` writes one ``Notification`` row per recipient in the caller's transaction and
   queues ``portal.tasks.deliver_notifications`` on commit, in batches of ``DELIVERY_BATCH``.
   A rollback leaves no row and sends nothing; a broker that is down leaves the rows pending
   (a warning, never a 500).
2. ``notification_deliver`` (run by the task) claims the rows with a conditional UPDATE, so
   only one worker sends each; sends each e-mail with a ``Message-ID`` derived from the
   row's id (a resent copy is recognisable as the same message); marks it sent. A failure
   releases the claim and records ``attempts``, ``last_error`` and ``next_attempt_at``
   (exponential backoff); the task retries those rows then. A failure that cannot succeed
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
import smtplib
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import DatabaseError, connection, models, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from portal import roles
from portal.audit import audit_record
from portal.errors import ApplicationError
from portal.models import Notification
from portal.selectors import role_members

logger = logging.getLogger(__name__)


def notify(
    *,
    users: Iterable,
    kind: str,
    subject: str,
    body: str = "",
    link: str = "",
    target: models.Model | None = None,
) -> list[Notification]:
    """Tell each of ``users`` (duplicates and inactive accounts dropped) about an event.

    Guarantees: the rows are written in the caller's transaction and delivery is queued only
    once it commits; if queuing fails the rows stay pending and the outbox sweep sends them.
    ``subject`` and ``body`` are what the recipient reads in the inbox and the e-mail; they
    must never contain what the recipient may not see (a confidential reporter, records).
    The subject becomes one line (``header_text``): it is an e-mail header, and titles,
    names and recipients typed by people may hold line breaks. The body is cut to
    ``NOTIFICATION_BODY_MAX_CHARS`` (``excerpt``): it quotes what people wrote (a
    description, a reason, a note), which can be megabytes, and is stored and mailed once
    per recipient; the whole text stays on the object the link leads to. Callers put such
    text last, after the lines that say what to do.
    """
    recipients = {user.pk: user for user in users if user is not None and user.is_active}
    target_type, target_id = "", ""
    if target is not None:
        target_type = f"{target._meta.app_label}.{target._meta.model_name}"
        target_id = str(target.pk)
    rows = [
        Notification(
            recipient=user,
            kind=kind,
            subject=header_text(subject)[:255],
            body=excerpt(body),
            link=link,
            target_type=target_type,
            target_id=target_id,
        )
        for user in recipients.values()
    ]
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


class DeliveryFailed(Exception):
    """The e-mail could not be sent; the row is pending again until ``retry_at``."""

    def __init__(self, message: str, *, notification_id: int, retry_at: datetime):
        super().__init__(message)
        self.notification_id = notification_id
        self.retry_at = retry_at


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after the ``attempts``-th failed send, capped."""
    seconds = settings.NOTIFICATION_RETRY_BACKOFF * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, settings.NOTIFICATION_RETRY_BACKOFF_MAX))


def message_id(notification: Notification) -> str:
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "compliance-portal"
    return f"<notification-{notification.pk}@{domain}>"


# C0 and C1 control characters (CR, LF, NUL, tab, NEL ...) and the Unicode line and
# paragraph separators: any of them in a header either splits it (header injection, which
# Django refuses with BadHeaderError) or is folded unpredictably by mail clients.
_NOT_IN_A_HEADER = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def header_text(text: str) -> str:
    """``text`` as one line fit for an e-mail header: every control character and line or
    paragraph separator becomes a space, runs of spaces one, no space at either end.

    The one gate for text from people (titles, asset names, sharing recipients) on its way
    into a header; RFC 5322 section 2.2 allows no bare CR or LF in a header field body.
    """
    return re.sub(r" {2,}", " ", _NOT_IN_A_HEADER.sub(" ", str(text))).strip()


CONTINUED = "… (continued in the portal)"


def excerpt(text: str, limit: int | None = None) -> str:
    """``text`` if it has at most ``limit`` characters (default
    ``NOTIFICATION_BODY_MAX_CHARS``), else its start, cut at a word boundary near the
    limit, followed by ``CONTINUED``; never longer than ``limit`` plus that marker.

    The one bound on text from people in messages: a notification carries an excerpt, the
    portal the whole (the object's page is one link away).
    """
    limit = limit or settings.NOTIFICATION_BODY_MAX_CHARS
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ", limit - 100)
    return (cut[:space] if space > 0 else cut).rstrip() + " " + CONTINUED


def notification_email(notification: Notification, connection=None) -> EmailMessage:
    """The e-mail of ``notification``: its subject as one header line and its body as an
    excerpt (also for rows stored before both were bounded), with a link into the portal,
    and a Message-ID derived from the row (a resent copy is recognisable)."""
    body = excerpt(notification.body)
    if notification.link:
        body = f"{body}\n\nOpen it in the portal: {settings.PORTAL_URL}{notification.link}"
    return EmailMessage(
        subject=header_text(notification.subject),
        body=body.strip(),
        to=[notification.recipient.email],
        headers={"Message-ID": message_id(notification)},
        connection=connection,
    )


def _claimable() -> Q:
    """Pending and not held by a live worker (no claim, or one older than the timeout)."""
    stale = timezone.now() - timedelta(seconds=settings.NOTIFICATION_CLAIM_TIMEOUT)
    return Q(sent_at__isnull=True, failed_at__isnull=True) & (
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale)
    )


def _claim(ids: list[int], claimed_at: datetime) -> list[int]:
    """Claim the claimable rows among ``ids`` in one conditional UPDATE; returns their ids.

    Raw SQL because the ORM's ``update()`` cannot say which rows it changed (RETURNING), and
    re-reading by claim time could mistake another worker's simultaneous claim for ours.
    """
    if not ids:
        return []
    stale = claimed_at - timedelta(seconds=settings.NOTIFICATION_CLAIM_TIMEOUT)
    table = connection.ops.quote_name(Notification._meta.db_table)
    placeholders = ", ".join(["%s"] * len(ids))
    adapt = connection.ops.adapt_datetimefield_value  # as the ORM stores it (SQLite: text)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET claimed_at = %s, attempts = attempts + 1 "  # noqa: S608
            f"WHERE id IN ({placeholders}) AND sent_at IS NULL AND failed_at IS NULL "
            "AND (claimed_at IS NULL OR claimed_at < %s) RETURNING id",
            [adapt(claimed_at), *ids, adapt(stale)],
        )
        return sorted(row[0] for row in cursor.fetchall())


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    failed: list[DeliveryFailed] = field(default_factory=list)  # to be retried
    failed_permanently: list[int] = field(default_factory=list)  # not retried


def delivery_error_is_permanent(error: BaseException) -> bool:
    """Can sending this message again never succeed, whatever time passes?

    Permanent: the server refused every recipient, or the message after DATA, with a 5xx
    reply (RFC 5321 section 4.2.1: 5yz is a permanent negative completion; "No such user",
    "Message rejected"); a message that cannot be built (``BadHeaderError``, an invalid
    address: ``ValueError``, ``TypeError``, ``UnicodeError``). Transient: 4xx replies, a
    refused sender or failed login (the server's or our configuration, not this message:
    an operator fixes it and every waiting row goes out), a lost connection, a timeout, and
    anything unknown, so nothing is given up on by mistake.
    """
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    if isinstance(error, smtplib.SMTPDataError):
        return error.smtp_code >= 500
    if isinstance(error, smtplib.SMTPException):
        return False
    return isinstance(error, ValueError | TypeError)  # BadHeaderError, UnicodeError included


def _describe(error: BaseException) -> str:
    """The error as a person reads it: SMTP replies with their code and text."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"{address}: {code} {_text(reply)}"
            for address, (code, reply) in error.recipients.items()
        )
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    return f"{type(error).__name__}: {error}"


def _text(reply) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


class DeliveryInterrupted(Exception):
    """The database failed in the middle of a batch; the task retries at once with what it
    knows, so no claim waits for its timeout and no accepted e-mail is sent again.

    ``claimed_at``: the claim this call held (``None`` if it claimed nothing), released by
    the retry before it claims again. ``sent_unrecorded``: rows the SMTP server accepted but
    that could not be marked sent; the retry marks them sent and never sends them again.
    ``pending``: every row of the batch not known to be finished (includes both).
    """

    def __init__(self, message: str, *, claimed_at, sent_unrecorded: list[int], pending):
        super().__init__(message)
        self.claimed_at = claimed_at
        self.sent_unrecorded = sent_unrecorded
        self.pending = pending


def _mark_sent(ids: list[int]) -> None:
    """Record that the SMTP server accepted these rows, retrying a failed database write
    with backoff (``NOTIFICATION_MARK_SENT_RETRIES``) before giving up.

    The fact lives only in this process's memory until the UPDATE commits: losing it means
    sending the e-mail a second time, so a short database outage is waited out here. Raises
    the last ``DatabaseError`` when every attempt failed.
    """
    delay = 0.25
    for attempt in range(settings.NOTIFICATION_MARK_SENT_RETRIES + 1):
        try:
            Notification.objects.filter(pk__in=ids, sent_at__isnull=True).update(
                sent_at=timezone.now(), claimed_at=None, last_error="", next_attempt_at=None
            )
            return
        except DatabaseError:
            if attempt == settings.NOTIFICATION_MARK_SENT_RETRIES:
                raise
            _reconnect()
            time.sleep(delay)
            delay = min(delay * 2, 4.0)


def _reconnect() -> None:
    """Drop a connection the server closed, so the next query opens a new one (outside a
    transaction only: inside one, Django must see the error and roll back)."""
    if not connection.in_atomic_block:
        connection.close()


def notification_release(*, notification_ids: list[int], claimed_at: datetime) -> int:
    """Give up the claim ``claimed_at`` on those of ``notification_ids`` still pending;
    returns how many rows were released. Another worker's (later) claim is left alone."""
    return Notification.objects.filter(
        pk__in=notification_ids, claimed_at=claimed_at, sent_at__isnull=True
    ).update(claimed_at=None)


def notification_deliver_abandon(
    *, notification_ids: list[int], sent_unrecorded: list[int], claimed_at: datetime | None
) -> None:
    """Record what an interrupted delivery knows when no retry will follow: the rows the
    server accepted are marked sent, the rest of the claim is released for the sweep.
    Raises ``DatabaseError`` when the database is still down."""
    if sent_unrecorded:
        _mark_sent(sent_unrecorded)
    if claimed_at is not None:
        notification_release(notification_ids=notification_ids, claimed_at=claimed_at)


def notification_deliver(
    *,
    notification_ids: list[int],
    sent_unrecorded: Iterable[int] = (),
    earlier_claim: datetime | None = None,
) -> DeliveryReport:
    """Send the e-mails of those rows that are pending and not held by another worker.

    Guarantees: one conditional UPDATE claims the rows, so exactly one worker holds each; a
    row with ``sent_at`` is never sent again; each claimed row is attempted (over one SMTP
    connection) and marked sent right after the server accepts it (that write is retried
    through a short database outage, ``_mark_sent``), so a worker killed mid-batch has at
    most one row sent but not marked (sent again once its claim is stale). An SMTP failure
    releases that row's claim and records ``attempts``, ``last_error`` and
    ``next_attempt_at``; a permanent one (``delivery_error_is_permanent``) records
    ``failed_at`` instead, and compliance is told (``UNDELIVERED_KIND``, throttled). A
    database failure (or any other) anywhere raises ``DeliveryInterrupted``: the caller
    (the task) retries at once passing ``sent_unrecorded`` (marked sent first, never sent again) and
    ``earlier_claim`` (released, then claimed afresh). No transaction around the send:
    claims must be visible to other workers at once, and an SMTP conversation must not hold
    a transaction open.
    """
    report = DeliveryReport()
    ids = list(notification_ids)
    unrecorded = [pk for pk in sent_unrecorded if pk in ids]
    claimed_at = None
    try:
        if unrecorded:
            _mark_sent(unrecorded)
            report.sent += unrecorded
            unrecorded = []
        if earlier_claim is not None:
            notification_release(notification_ids=ids, claimed_at=earlier_claim)
        claimed_at = timezone.now()
        claimed = _claim([pk for pk in ids if pk not in report.sent], claimed_at)
        if claimed:
            _send_claimed(claimed, claimed_at, report, unrecorded)
        if report.failed_permanently:
            _alert_compliance(report.failed_permanently)
    except Exception as error:
        # The database (or the worker's time limit, or a bug) failed after we may have
        # claimed rows: hand the claim and the accepted-but-unrecorded rows to the caller.
        _reconnect()
        finished = set(report.sent) | set(report.failed_permanently)
        finished |= {failure.notification_id for failure in report.failed}  # backoff kept
        raise DeliveryInterrupted(
            f"{type(error).__name__}: {error}",
            claimed_at=claimed_at,
            sent_unrecorded=list(unrecorded),
            pending=[pk for pk in ids if pk not in finished or pk in unrecorded],
        ) from error
    return report


def _send_claimed(claimed: list[int], claimed_at, report: DeliveryReport, unrecorded: list):
    """Send the claimed rows; a row the server accepted but whose marking failed is put on
    ``unrecorded`` before the database error propagates."""
    rows = Notification.objects.select_related("recipient").filter(pk__in=claimed).order_by("pk")
    smtp = get_connection()
    try:
        for notification in rows:
            if not notification.recipient.email:
                # Nowhere to send it: the inbox is the delivery. Not an error to retry forever.
                Notification.objects.filter(pk=notification.pk).update(
                    sent_at=timezone.now(), last_error="The recipient has no e-mail address."
                )
                continue
            try:
                smtp.open()  # no-op while open; reconnects after a failure closed it
                notification_email(notification, smtp).send()
            except Exception as error:  # noqa: BLE001 - any failure: record, release, retry
                smtp.close()  # a broken session must not fail the next row too
                if delivery_error_is_permanent(error):
                    _record_permanent_failure(notification, claimed_at, error)
                    report.failed_permanently.append(notification.pk)
                else:
                    report.failed.append(_record_failure(notification, claimed_at, error))
                continue
            # Accepted by the server: from here on, the row must never be sent again.
            unrecorded.append(notification.pk)
            _mark_sent([notification.pk])
            unrecorded.remove(notification.pk)
            report.sent.append(notification.pk)
    finally:
        smtp.close()


def _record_failure(notification: Notification, claimed_at, error: Exception) -> DeliveryFailed:
    retry_at = timezone.now() + retry_delay(notification.attempts)
    reason = _describe(error)[:2000]
    Notification.objects.filter(
        pk=notification.pk, claimed_at=claimed_at, sent_at__isnull=True
    ).update(claimed_at=None, last_error=reason, next_attempt_at=retry_at)
    return DeliveryFailed(reason, notification_id=notification.pk, retry_at=retry_at)


def _record_permanent_failure(notification: Notification, claimed_at, error: Exception) -> None:
    Notification.objects.filter(
        pk=notification.pk, claimed_at=claimed_at, sent_at__isnull=True
    ).update(
        claimed_at=None,
        failed_at=timezone.now(),
        last_error=_describe(error)[:2000],
        next_attempt_at=None,
    )


UNDELIVERED_KIND = "notification_undelivered"


def _alert_compliance(failed_ids: list[int]) -> None:
    """Tell every compliance officer, in the inbox and by e-mail, that notifications failed.

    Only counts per kind and a link to the page of undelivered notifications: no recipient,
    subject or body, since a failed notification may concern a confidential report (its
    reporter is told of its progress) and an e-mail is less protected than the portal.
    An alert about a failed alert is never raised: when compliance's own address is
    refused, that would go on for ever; the failed alert still waits in their inbox. An
    officer with an unread alert younger than ``NOTIFICATION_UNDELIVERED_ALERT_INTERVAL``
    gets no new one (the page it links to lists every failure); the log line is always
    written.
    """
    kinds = Counter(
        Notification.objects.filter(pk__in=failed_ids)
        .exclude(kind=UNDELIVERED_KIND)
        .values_list("kind", flat=True)
    )
    if not kinds:
        return
    count = sum(kinds.values())
    listed = ", ".join(f"{kind} ({number})" for kind, number in sorted(kinds.items()))
    # Also in the log, for an operator, and in case nobody holds the Compliance role.
    logger.error("%d notification(s) failed for good and will not be retried: %s", count, listed)
    # One alert stands for every failure until it is read: a thousand refused addresses
    # fail in forty batches, and forty identical alerts would bury the one that matters.
    recent = timezone.now() - timedelta(seconds=settings.NOTIFICATION_UNDELIVERED_ALERT_INTERVAL)
    alerted = set(
        Notification.objects.filter(
            kind=UNDELIVERED_KIND, read_at__isnull=True, created_at__gte=recent
        ).values_list("recipient_id", flat=True)
    )
    officers = [user for user in role_members(roles.COMPLIANCE) if user.pk not in alerted]
    if not officers:
        return
    with transaction.atomic():
        notify(
            users=officers,
            kind=UNDELIVERED_KIND,
            subject=f"{count} notification e-mail(s) could not be delivered",
            body=(
                "The mail server refused them for good, or they could not be built; they "
                f"will not be retried on their own. Kinds: {listed}.\n"
                "See each one's error in the portal, fix the cause (an address, a mailbox) and "
                "retry it there."
            ),
            link=reverse("notification_undelivered"),
        )


@transaction.atomic
def notification_retry(*, actor, notification: Notification) -> Notification:
    """Send a notification that failed for good once more (compliance only).

    Guarantees: only a row with ``failed_at`` and no ``sent_at`` is retried (another retry
    or a delivery in between makes this an ``ApplicationError``); ``failed_at`` is cleared
    and the row delivered on commit like a new one (same claim, same Message-ID); the
    retry is an audit event. A new permanent failure marks it failed again and tells
    compliance again. Raises ``ApplicationError`` for anyone but compliance.
    """
    if not roles.is_compliance(actor):
        raise ApplicationError("Only compliance can retry notifications.")
    row = Notification.objects.select_for_update().get(pk=notification.pk)
    if not row.can_retry:
        raise ApplicationError(
            "This notification has not failed: it was delivered or is still being retried."
        )
    row.failed_at, row.next_attempt_at, row.claimed_at = None, None, None
    row._history_user = actor
    row.save(update_fields=["failed_at", "next_attempt_at", "claimed_at"])
    audit_record(
        actor=actor,
        action="notification.retry",
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


def notification_mark_read(*, actor, notification: Notification) -> Notification:
    """Mark ``actor``'s own notification read; reading it again keeps the first time.

    The caller loads the row with ``get_notification_for_user`` (404 for anyone else's); the
    recipient filter here is the second lock on that door.
    """
    Notification.objects.filter(pk=notification.pk, recipient=actor, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    notification.refresh_from_db(fields=["read_at"])
    return notification


def notification_mark_all_read(*, actor) -> int:
    """Mark every unread notification of ``actor`` read; returns how many changed."""
    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(
        read_at=timezone.now()
    )
