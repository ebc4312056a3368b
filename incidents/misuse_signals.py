"""Misuse signals: patterns in the audit trail that one request at a time cannot show.

Every signal is a rule here: a name, the period within which a new occurrence about the
same people is the same pattern continuing (``quiet``), and ``detect``, which reads the
sealed audit events with positions in ``(after_position, upto_position]`` (and whatever
history it needs before them, never past ``upto_position``) and returns the occurrences
those events complete. Thresholds come from settings (``MISUSE_*``, read at call time so
tests can change them). Detecting writes nothing:
``incidents.services.alerts`` turns occurrences into alerts, one per occurrence key.

The rules (docs/misuse-signals.md):

- ``repeated_refusals``: ``MISUSE_REFUSALS_COUNT`` (3) or more requests by one person
  refused for lack of coverage, or denied by an approver, within ``MISUSE_REFUSALS_DAYS``
  (30) days;
- ``proxy_request``: within ``MISUSE_PROXY_DAYS`` (7) days of a refused request, a second
  person asks for the same asset and purpose (both named);
- ``export_volume``: a person's exported rows in one day (the site's zone) above
  ``MISUSE_EXPORT_FACTOR`` (5) times the median of their exporting days in the
  ``MISUSE_EXPORT_BASELINE_DAYS`` (90) days before, and above ``MISUSE_EXPORT_MIN_ROWS``
  (1,000);
- ``purpose_breadth``: a new grant leaves a person holding grants on more than
  ``MISUSE_BREADTH_ASSETS`` (10) assets for the same purpose;
- ``read_after_notice``: a record view or export by a person after their grant was revoked
  or their account deactivated; the portal refuses both, so an alert means a fault.
"""

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import IntegerField, Q, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, TruncDate
from django.utils.translation import gettext, gettext_lazy, ngettext
from django_stubs_ext import StrOrPromise

from customers.models.access import AccessGrant
from portal.audit_actions import AuditAction
from portal.display import date_text, number_text
from portal.input_limits import as_id
from portal.models import ApprovalChain, AuditEvent, User

REFUSALS = (AuditAction.ACCESS_REQUEST_REFUSED, AuditAction.SHARING_REQUEST_REFUSED)
REQUESTS = (AuditAction.ACCESS_REQUEST_CREATE, AuditAction.ACCESS_REQUEST_REFUSED)
READS = (AuditAction.RECORDS_VIEW, AuditAction.EXPORT_DOWNLOAD)
GRANT_TARGET = "customers.accessgrant"


@dataclass(frozen=True)
class EventRange:
    """The audit events a run reads: sealed positions in ``(after_position, upto_position]``
    (``portal.audit_seal``: a position is given in commit order, with no gap, so a run that
    reads up to the sealed head misses no event however late its transaction committed)."""

    after_position: int
    upto_position: int

    def new(self) -> Q:
        return Q(position__gt=self.after_position, position__lte=self.upto_position)


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of a signal. ``key`` is unique per occurrence (it is the alert's
    key); ``group`` names who it is about, for the quiet period; ``subjects`` are user ids;
    ``evidence`` holds the audit event ids (``events``) and the figures behind it."""

    signal: str
    key: str
    group: str
    subjects: tuple[int, ...]
    occurred_at: datetime
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Signal:
    name: str
    label: StrOrPromise
    quiet: Callable[[], timedelta]
    detect: Callable[[EventRange], list[Occurrence]]


# --- repeated refusals -----------------------------------------------------------------


def _denials(q: Q) -> list[tuple[int, int, datetime]]:
    """(requester id, event id, time) of the approval denials matching ``q``."""
    rows = list(
        AuditEvent.objects.filter(q, action=AuditAction.APPROVAL_DENY)
        .filter(target_type="portal.approvalchain")
        .values_list("pk", "target_id", "created_at")
    )
    chain_ids = {pk for _, target, _ in rows if (pk := as_id(target)) is not None}
    requester = dict(
        ApprovalChain.objects.filter(pk__in=chain_ids).values_list("pk", "requester_id")
    )
    return [
        (requester[int(target)], pk, at) for pk, target, at in rows if as_id(target) in requester
    ]


def _refusals(q: Q) -> list[tuple[int, int, datetime]]:
    """(person id, event id, time) of the refusals and denials matching ``q``."""
    refused = AuditEvent.objects.filter(q, action__in=REFUSALS, actor__isnull=False)
    return [
        *((actor, pk, at) for actor, pk, at in refused.values_list("actor_id", "pk", "created_at")),
        *_denials(q),
    ]


def repeated_refusals(events: EventRange) -> list[Occurrence]:
    """Each new refusal or denial that makes the person's count within the window reach
    the threshold."""
    count, window = settings.MISUSE_REFUSALS_COUNT, timedelta(days=settings.MISUSE_REFUSALS_DAYS)
    new = _refusals(events.new())
    if not new:
        return []
    people = {person for person, _, _ in new}
    new_ids = {pk for _, pk, _ in new}
    since = min(at for _, _, at in new) - window
    chains = ApprovalChain.objects.filter(requester__in=people).values_list("pk", flat=True)
    history = [
        row
        for row in _refusals(
            Q(created_at__gte=since, position__lte=events.upto_position)
            & (Q(actor__in=people) | Q(target_id__in=[str(pk) for pk in chains]))
        )
        if row[0] in people
    ]
    by_person: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for person, pk, at in set(history):
        by_person[person].append((at, pk))
    found = []
    for person, rows in by_person.items():
        rows.sort()
        for at, pk in rows:
            inside = [event for when, event in rows if at - window < when <= at]
            if pk in new_ids and len(inside) >= count:
                found.append(
                    Occurrence(
                        signal="repeated_refusals",
                        key=f"repeated_refusals:{pk}",
                        group=f"user:{person}",
                        subjects=(person,),
                        occurred_at=at,
                        summary=ngettext(
                            "%(count)s requests refused or denied within %(days)s day",
                            "%(count)s requests refused or denied within %(days)s days",
                            window.days,
                        )
                        % {"count": number_text(len(inside)), "days": number_text(window.days)},
                        evidence={"events": inside},
                    )
                )
    return found


# --- proxy requests --------------------------------------------------------------------


def proxy_requests(events: EventRange) -> list[Occurrence]:
    """Each new access request (made or refused) for an asset and purpose another person
    was refused within the window before it."""
    window = timedelta(days=settings.MISUSE_PROXY_DAYS)
    columns = ("pk", "actor_id", "created_at", "asset_id", "purpose")
    new = list(
        AuditEvent.objects.filter(events.new(), action__in=REQUESTS, actor__isnull=False)
        .annotate(purpose=KeyTextTransform("purpose", "detail"))
        .values_list(*columns)
    )
    if not new:
        return []
    refused = (
        AuditEvent.objects.filter(
            action=AuditAction.ACCESS_REQUEST_REFUSED,
            actor__isnull=False,
            asset_id__in={row[3] for row in new},
            created_at__gte=min(row[2] for row in new) - window,
            position__lte=events.upto_position,
        )
        .annotate(purpose=KeyTextTransform("purpose", "detail"))
        .values_list(*columns)
    )
    earlier: dict[tuple[int, str], list[tuple]] = defaultdict(list)
    for row in refused:
        earlier[(row[3], row[4])].append(row)
    found: dict[str, Occurrence] = {}
    for pk, second, at, asset, purpose in new:
        for first_pk, first, first_at, _, _ in earlier[(asset, purpose)]:
            if first != second and at - window <= first_at < at:
                key = f"proxy_request:{first_pk}:{second}"
                found[key] = Occurrence(
                    signal="proxy_request",
                    key=key,
                    group=f"pair:{first}:{second}:{asset}:{purpose}",
                    subjects=(first, second),
                    occurred_at=at,
                    summary=gettext(
                        "Asked for asset %(asset)s and %(purpose)s after another person was refused"
                    )
                    % {"asset": asset, "purpose": purpose},
                    evidence={"events": [first_pk, pk], "asset": asset, "purpose": purpose},
                )
    return list(found.values())


# --- unusual export volume --------------------------------------------------------------


def _daily_rows(people: Iterable[int], start: datetime, upto_position: int) -> dict[tuple, int]:
    """Rows exported per (person, day in the site's zone) since ``start``."""
    zone = ZoneInfo(settings.TIME_ZONE)
    rows = (
        AuditEvent.objects.filter(
            action=AuditAction.EXPORT_DOWNLOAD,
            actor__in=people,
            created_at__gte=start,
            position__lte=upto_position,
        )
        .annotate(
            day=TruncDate("created_at", tzinfo=zone),
            rows=Cast(KeyTextTransform("rows", "detail"), IntegerField()),
        )
        .values_list("actor_id", "day")
        .annotate(total=Sum("rows"))
    )
    return {(person, day): total or 0 for person, day, total in rows}


def export_volume(events: EventRange) -> list[Occurrence]:
    """Each (person, day) with a new export whose day total is unusual: above the floor and
    above the factor times the median of the person's exporting days before it."""
    zone = ZoneInfo(settings.TIME_ZONE)
    baseline = timedelta(days=settings.MISUSE_EXPORT_BASELINE_DAYS)
    new = AuditEvent.objects.filter(
        events.new(), action=AuditAction.EXPORT_DOWNLOAD, actor__isnull=False
    ).values_list("pk", "actor_id", "created_at")
    touched: dict[tuple[int, date], list[tuple[int, datetime]]] = defaultdict(list)
    for pk, person, at in new:
        touched[(person, at.astimezone(zone).date())].append((pk, at))
    if not touched:
        return []
    start = datetime.combine(min(day for _, day in touched), datetime.min.time(), zone) - baseline
    totals = _daily_rows({person for person, _ in touched}, start, events.upto_position)
    days_of: dict[int, list[tuple[date, int]]] = defaultdict(list)
    for (person, day), rows in totals.items():
        days_of[person].append((day, rows))
    found = []
    for (person, day), new_events in touched.items():
        total = totals.get((person, day), 0)
        first = day - timedelta(days=baseline.days)
        before = [rows for when, rows in days_of[person] if first <= when < day]
        median = statistics.median(before) if before else 0
        if (
            total > settings.MISUSE_EXPORT_MIN_ROWS
            and total > settings.MISUSE_EXPORT_FACTOR * median
        ):
            found.append(
                Occurrence(
                    signal="export_volume",
                    key=f"export_volume:{person}:{day.isoformat()}",
                    group=f"user:{person}:{day.isoformat()}",
                    subjects=(person,),
                    occurred_at=max(at for _, at in new_events),
                    summary=gettext("%(rows)s rows exported on %(day)s (usual day: %(usual)s)")
                    % {
                        "rows": number_text(total),
                        "day": date_text(day),
                        "usual": number_text(round(median)),
                    },
                    evidence={
                        "events": sorted(pk for pk, _ in new_events),
                        "day": day.isoformat(),
                        "rows": total,
                        "median": median,
                    },
                )
            )
    return found


# --- breadth of grants for one purpose ---------------------------------------------------


def purpose_breadth(events: EventRange) -> list[Occurrence]:
    """Each new grant after which its holder holds live grants on more assets for its
    purpose than the threshold allows."""
    new = AuditEvent.objects.filter(
        events.new(), action=AuditAction.GRANT_CREATE, target_type=GRANT_TARGET
    ).values_list("pk", "target_id", "created_at")
    created = {grant: (pk, at) for pk, target, at in new if (grant := as_id(target)) is not None}
    if not created:
        return []
    granted = AccessGrant.objects.filter(pk__in=created).values_list("pk", "user_id", "purpose_id")
    pairs = {(user, purpose) for _, user, purpose in granted}
    held = AccessGrant.objects.filter(
        user__in={user for user, _ in pairs}, purpose__in={purpose for _, purpose in pairs}
    ).values_list("user_id", "purpose_id", "asset_id", "created_at", "revoked_at", "expires_at")
    found = []
    for grant, user, purpose in granted:
        pk, at = created[grant]
        assets = {
            asset
            for who, what, asset, start, revoked, expires in held
            if (who, what) == (user, purpose)
            and start <= at
            and (revoked is None or revoked > at)
            and expires > at
        }
        if len(assets) > settings.MISUSE_BREADTH_ASSETS:
            found.append(
                Occurrence(
                    signal="purpose_breadth",
                    key=f"purpose_breadth:{pk}",
                    group=f"user:{user}:purpose:{purpose}",
                    subjects=(user,),
                    occurred_at=at,
                    summary=gettext("Holds grants on %(count)s assets for %(purpose)s")
                    % {"count": number_text(len(assets)), "purpose": purpose},
                    evidence={"events": [pk], "purpose": purpose, "assets": sorted(assets)},
                )
            )
    return found


# --- reading after notice --------------------------------------------------------------


def _inactive_at(people: set[int]) -> Callable[[int, datetime], bool]:
    """Whether a person's account was deactivated at a time, from the accounts' history."""
    ever = set(User.history.filter(id__in=people, is_active=False).values_list("id", flat=True))
    states: dict[int, list[tuple[datetime, bool]]] = defaultdict(list)
    for person, at, active in (
        User.history.filter(id__in=ever)
        .order_by("history_date")
        .values_list("id", "history_date", "is_active")
    ):
        states[person].append((at, active))

    def inactive(person: int, at: datetime) -> bool:
        before = [active for when, active in states.get(person, []) if when <= at]
        return bool(before) and not before[-1]

    return inactive


def read_after_notice(events: EventRange) -> list[Occurrence]:
    """Each new record view or export through a grant revoked before it, or by a person
    whose account was deactivated before it."""
    reads = list(
        AuditEvent.objects.filter(events.new(), action__in=READS, actor__isnull=False).values_list(
            "pk", "actor_id", "created_at", "target_type", "target_id"
        )
    )
    grant_ids = {
        grant
        for _, _, _, kind, t in reads
        if kind == GRANT_TARGET and (grant := as_id(t)) is not None
    }
    revoked: dict[int, datetime] = {
        pk: at
        for pk, at in AccessGrant.objects.filter(
            pk__in=grant_ids, revoked_at__isnull=False
        ).values_list("pk", "revoked_at")
        if at is not None
    }
    inactive = _inactive_at({person for _, person, _, _, _ in reads})
    found = []
    for pk, person, at, kind, target in reads:
        grant = as_id(target) if kind == GRANT_TARGET else None
        if grant in revoked and revoked[grant] < at:
            summary = gettext("Records read through grant %(grant)s, revoked before") % {
                "grant": grant
            }
            group = f"user:{person}:grant:{grant}"
        elif inactive(person, at):
            summary = gettext("Records read after the account was deactivated")
            group = f"user:{person}:inactive"
        else:
            continue
        found.append(
            Occurrence(
                signal="read_after_notice",
                key=f"read_after_notice:{pk}",
                group=group,
                subjects=(person,),
                occurred_at=at,
                summary=summary,
                evidence={"events": [pk], "grant": grant},
            )
        )
    return found


def _days(setting: str) -> Callable[[], timedelta]:
    return lambda: timedelta(days=getattr(settings, setting))


SIGNALS: tuple[Signal, ...] = (
    Signal(
        "repeated_refusals",
        gettext_lazy("Repeated refusals"),
        _days("MISUSE_REFUSALS_DAYS"),
        repeated_refusals,
    ),
    Signal(
        "proxy_request",
        gettext_lazy("Request by proxy"),
        _days("MISUSE_PROXY_DAYS"),
        proxy_requests,
    ),
    Signal(
        "export_volume",
        gettext_lazy("Unusual export volume"),
        lambda: timedelta(0),
        export_volume,
    ),
    Signal(
        "purpose_breadth",
        gettext_lazy("Grants on many assets for one purpose"),
        _days("MISUSE_REFUSALS_DAYS"),
        purpose_breadth,
    ),
    Signal(
        "read_after_notice",
        gettext_lazy("Records read after notice"),
        lambda: timedelta(days=1),
        read_after_notice,
    ),
)

SIGNAL_LABELS = {signal.name: signal.label for signal in SIGNALS}
