"""Reads of the portal core that involve a rule: notifications, the audit log and its
verification, people found by name."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext

from portal import roles
from portal.models import AuditChannel, AuditEvent, Notification, User
from portal.site_calendar import start_of_day
from portal.text_search import contains_text


def people_named(text: str) -> QuerySet[User]:
    """The accounts whose username, first name or last name contains ``text`` (a non-empty
    ``str``), ignoring case, as a lazy queryset: what a search box matches "a person" on.

    Lists that match their people this way (the catalogue's owners, a grant's holder) test
    ``<person>_id IN`` this queryset rather than each name through a join: the database
    matches the thousand accounts once, not the names again on every row of the list (on
    the 20,000 grants of the scale data, a search took 100 ms of SQL; see
    docs/performance.md), and in the capitals the database keeps of them
    (``portal.text_search``). Raises nothing; an empty ``text`` matches everyone."""
    return User.objects.filter(contains_text("search_text", User.SEARCHED_FIELDS, text))


def notification_list_for(user: User | AnonymousUser | None) -> QuerySet[Notification]:
    """The notifications ``user`` may see: their own, newest first. Nobody reads another's."""
    if user is None or not user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-id")


def notification_undelivered_list_for(user: User) -> QuerySet[Notification]:
    """Notifications whose e-mail has not gone out after at least one attempt: failed for
    good (``failed_at``) or still being retried. Compliance only (everyone else: none),
    failed first, then newest first; recipients joined for the page.

    A row never attempted yet is not undelivered, only queued (at most a sweep age old).
    """
    if not roles.is_compliance(user):
        return Notification.objects.none()
    return (
        Notification.objects.filter(sent_at__isnull=True, attempts__gte=1)
        .select_related("recipient")
        .order_by(F("failed_at").desc(nulls_last=True), "-created_at", "-id")
    )


def unread_notification_count(user: User) -> int:
    """One COUNT query on the (recipient, read_at) index; shown in every page's navigation."""
    return notification_list_for(user).filter(read_at__isnull=True).count()


# --- The audit log as compliance reads it ------------------------------------------------


def audit_event_list_for(
    user: User,
    *,
    actor: str = "",
    action: str = "",
    asset: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[AuditEvent]:
    """The audit events ``user`` may read, filtered, newest first. Only compliance reads
    the audit log; everyone else gets nothing.

    ``actor`` is a username (or ``system``/``anonymous``), ignoring case: the events
    written under that name, and every event of the account that bears it now (read when
    this is called, one query); ``action`` matches the action and its sub-actions (``grant`` finds
    ``grant.create``); ``asset`` is a data asset's id; the dates are whole days in the
    site's time zone, both included.
    """
    if not roles.is_compliance(user):
        return AuditEvent.objects.none()
    events = AuditEvent.objects.all()
    if actor:
        # The accounts of that username first, then the events by label or account: two
        # index reads (the label's ``auditevent_actor_label``, the actor's key), where the
        # account's name joined to every event read the whole log (200,000 events: 100 ms).
        accounts = User.objects.filter(username__iexact=actor).values_list("pk", flat=True)
        events = events.filter(Q(actor_label__iexact=actor) | Q(actor_id__in=list(accounts)))
    if action:
        # The action's name bounds a range of the index on action (its pattern index),
        # then the name itself or a sub-action is tested within it: the two alternatives
        # alone give PostgreSQL no range, and a count read the whole index for them.
        events = events.filter(
            Q(action__startswith=action), Q(action=action) | Q(action__startswith=action + ".")
        )
    if asset is not None:
        events = events.filter(asset_id=asset)
    if date_from:
        events = events.filter(created_at__gte=start_of_day(date_from))
    # The last day has no "day after" to count to (9999-12-31 + 1 day overflows); the form
    # keeps people within FILTER_DATE, this keeps any other caller from a server error.
    if date_to and date_to < date.max:
        events = events.filter(created_at__lt=start_of_day(date_to + timedelta(days=1)))
    return events.order_by("-id")


@dataclass(frozen=True)
class AuditEventRow:
    """An audit event as the log's page shows it, from plain values: the names the
    template reads from the model (``pk``, ``action_label``, ``get_channel_display``...),
    labels already in the reader's language (``asset_label``: "asset 12", empty without an
    asset). ``details`` is the page's to fill in (the detail as it prints it); empty as
    read."""

    pk: int
    created_at: datetime
    actor_label: str
    action: str
    action_label: str
    target_type: str
    target_label: str
    asset_id: int | None
    asset_label: str
    detail: Any
    channel: str
    channel_label: str
    ip: str | None
    details: tuple[tuple[str, str], ...] = ()

    def get_channel_display(self) -> str:
        return self.channel_label


AUDIT_ROW_FIELDS = (
    "pk",
    "created_at",
    "actor_label",
    "action",
    "target_type",
    "target_label",
    "asset_id",
    "detail",
    "channel",
    "ip",
)


def audit_event_rows(events: QuerySet[AuditEvent]) -> list[AuditEventRow]:
    """The rows of ``events`` (a page of ``audit_event_list_for``, in its order), read as
    plain values in one query; each action's and channel's label is translated once per
    page, not once per row."""
    channels = {value: str(label) for value, label in AuditChannel.choices}
    asset_label = gettext("asset %(asset)s")
    actions: dict[str, str] = {}
    rows = []
    for v in events.values(*AUDIT_ROW_FIELDS):
        action = v["action"]
        if action not in actions:
            # The model's own rule (an action no longer listed reads as its key).
            actions[action] = AuditEvent(action=action).action_label
        rows.append(
            AuditEventRow(
                pk=v["pk"],
                created_at=v["created_at"],
                actor_label=v["actor_label"],
                action=action,
                action_label=actions[action],
                target_type=v["target_type"],
                target_label=v["target_label"],
                asset_id=v["asset_id"],
                asset_label="" if v["asset_id"] is None else asset_label % {"asset": v["asset_id"]},
                detail=v["detail"],
                channel=v["channel"],
                # An unlisted value shows as stored, as the model's get_FOO_display does.
                channel_label=channels.get(v["channel"], v["channel"]),
                ip=v["ip"],
            )
        )
    return rows
