"""Sending the outbox: how a notification row becomes an e-mail (step 2 of the outbox that
``portal.notifications`` describes).

``notification_deliver`` (run by ``portal.tasks.deliver_notifications``) claims rows with a
conditional UPDATE, sends each over one SMTP connection with a Message-ID derived from the
row, and records the outcome: sent, to be retried with backoff, or failed for good (then
compliance is told). What a notification says is composed in ``portal.notifications``.
"""

import logging
import smtplib
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from portal import roles
from portal.languages import language_for
from portal.models import Notification
from portal.notifications import excerpt, header_text, link_mentions, notify, portal_address

# The logger of the whole outbox, as operators filter it.
logger = logging.getLogger("portal.notifications")


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


def notification_email(
    notification: Notification, connection: BaseEmailBackend | None = None
) -> EmailMessage:
    """The e-mail of ``notification``: its subject as one header line and its body as an
    excerpt (also for rows stored before both were bounded), with a link into the portal,
    and a Message-ID derived from the row (a resent copy is recognisable)."""
    language = language_for(notification.recipient)
    with translation.override(language):
        body = excerpt(notification.body)
    if notification.link:
        address = portal_address(notification.link)
        mentions = link_mentions(body, notification.link)
        # A body that quotes its own path ("Decide in the portal: /requests/4/") gets the
        # whole address there; every other body gets it on a line of its own.
        for start, end in reversed(mentions):
            body = body[:start] + address + body[end:]
        if not mentions:
            with translation.override(language):
                body = _("%(body)s\n\nOpen it in the portal: %(address)s") % {
                    "body": body,
                    "address": address,
                }
    return EmailMessage(
        subject=header_text(notification.subject),
        body=body.strip(),
        to=[notification.recipient.email],
        headers={"Message-ID": message_id(notification)},
        connection=connection,
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


def _text(reply: object) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


class DeliveryInterrupted(Exception):
    """The database failed in the middle of a batch; the task retries at once with what it
    knows, so no claim waits for its timeout and no accepted e-mail is sent again.

    ``claimed_at``: the claim this call held (``None`` if it claimed nothing), released by
    the retry before it claims again. ``sent_unrecorded``: rows the SMTP server accepted but
    that could not be marked sent; the retry marks them sent and never sends them again.
    ``pending``: every row of the batch not known to be finished (includes both).
    """

    def __init__(
        self,
        message: str,
        *,
        claimed_at: datetime | None,
        sent_unrecorded: list[int],
        pending: list[int],
    ) -> None:
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


def _send_claimed(
    claimed: list[int], claimed_at: datetime, report: DeliveryReport, unrecorded: list[int]
) -> None:
    """Send the claimed rows; a row the server accepted but whose marking failed is put on
    ``unrecorded`` before the database error propagates."""
    rows = Notification.objects.select_related("recipient").filter(pk__in=claimed).order_by("pk")
    smtp = get_connection()
    try:
        for notification in rows:
            if not notification.recipient.email:
                # Nowhere to send it: the inbox is the delivery. Not an error to retry forever.
                Notification.objects.filter(pk=notification.pk).update(
                    sent_at=timezone.now(),
                    last_error=gettext_noop("The recipient has no e-mail address."),
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


def _record_failure(
    notification: Notification, claimed_at: datetime, error: Exception
) -> DeliveryFailed:
    retry_at = timezone.now() + retry_delay(notification.attempts)
    reason = _describe(error)[:2000]
    Notification.objects.filter(
        pk=notification.pk, claimed_at=claimed_at, sent_at__isnull=True
    ).update(claimed_at=None, last_error=reason, next_attempt_at=retry_at)
    return DeliveryFailed(reason, notification_id=notification.pk, retry_at=retry_at)


def _record_permanent_failure(
    notification: Notification, claimed_at: datetime, error: Exception
) -> None:
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
    officers = [user for user in roles.role_members(roles.COMPLIANCE) if user.pk not in alerted]
    if not officers:
        return
    with transaction.atomic():
        notify(
            users=officers,
            kind=UNDELIVERED_KIND,
            context={"count": count, "listed": listed},
            link=reverse("notification_undelivered"),
        )
