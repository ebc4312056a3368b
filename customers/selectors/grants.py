"""Grants as their holders and deciders see them, who else holds access, and the records a
grant opens (only the customers eligible for its purpose, only its categories' columns)."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet, Value
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from consent.categories import record_columns
from consent.models import Purpose
from consent.selectors import eligible_customer_pages
from customers.models.access import AccessGrant, LevelRow, grant_status
from customers.models.catalogue import Customer, DataAsset
from customers.visibility import Scope, active_grants, catalogue_scope, visible_to
from portal import roles
from portal.approval_rows import PersonRow, person_fields, person_from, someone_from
from portal.compiled_queries import CompiledQuery
from portal.models import User
from portal.pagination import PagedRows, PagedValues, Ref


def grant_list_for(user: User) -> QuerySet[AccessGrant]:
    """Grants ``user`` may see: their own, those on assets they own, all for compliance."""
    grants = AccessGrant.objects.all()
    if not roles.is_compliance(user):
        grants = grants.filter(Q(user=user) | Q(asset__owner=user))
    return grants.select_related("asset", "purpose", "user", "revoked_by")


@dataclass(frozen=True)
class GrantRow(LevelRow):
    """A grant as the grant lists (pages and API) show it, read as plain values. People
    are named as every page names them (``portal.models.person_name``)."""

    pk: int
    user_id: int
    user: PersonRow
    asset_id: int
    asset: Ref
    purpose: Ref
    level: str
    request_id: int
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_by: PersonRow | None
    revoke_reason: str

    @property
    def status(self) -> str:
        return grant_status(self.revoked_at, self.expires_at)


GRANT_ROW_FIELDS = (
    "pk",
    "user_id",
    *person_fields("user"),
    "asset_id",
    "asset__name",
    "purpose_id",
    "purpose__key",
    "level",
    "request_id",
    "created_at",
    "expires_at",
    "revoked_at",
    *person_fields("revoked_by"),
    "revoke_reason",
)


def grant_rows(grants: QuerySet[AccessGrant]) -> list[GrantRow]:
    """The rows of ``grants`` (a page of a grant list, in its order): one query of plain
    values, whatever the number of rows."""
    rows = []
    for v in grants.values(*GRANT_ROW_FIELDS):
        rows.append(
            GrantRow(
                pk=v["pk"],
                user_id=v["user_id"],
                user=someone_from(v, "user"),
                asset_id=v["asset_id"],
                asset=Ref(v["asset_id"], v["asset__name"]),
                purpose=Ref(v["purpose_id"], v["purpose__key"]),
                level=v["level"],
                request_id=v["request_id"],
                created_at=v["created_at"],
                expires_at=v["expires_at"],
                revoked_at=v["revoked_at"],
                revoked_by=person_from(v, "revoked_by"),
                revoke_reason=v["revoke_reason"],
            )
        )
    return rows


def grant_pages(grants: QuerySet[AccessGrant]) -> PagedRows[GrantRow]:
    """``grants`` newest first, as a list a ``Paginator`` reads a page at a time
    (``grant_rows``)."""
    return PagedRows(grants.order_by("-created_at", "-id"), grant_rows)


@dataclass(frozen=True)
class OtherGrant:
    asset_name: str
    purpose: str
    expires_at: datetime


@dataclass(frozen=True)
class OtherGrants:
    """A requester's active grants as an approver sees them: the latest few, and how many
    there are in all."""

    shown: Sequence[OtherGrant]
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.shown)


def other_active_grants_by_user(
    user_ids: Iterable[int], *, viewer: User, limit: int | None = None
) -> dict[int, OtherGrants]:
    """Active grants of each requester, for ``viewer`` deciding a new request: the latest
    ``limit`` of each (newest first; all for ``None``) on assets the viewer may see, and how
    many there are in all. A grant on a restricted asset the viewer may not see is counted,
    never named. ``user_ids``: requesters' ids; answers ``{user id: OtherGrants}`` for those
    holding an active grant (expiry times aware, as stored); raises nothing of its own.

    One query, whatever the number of grants, bounded by ``limit`` per requester: the rules
    (``active_grants``, and ``asset_list_for``'s condition tested on each grant's asset,
    ``visible_to``) come from the ORM as a subquery, compiled once per viewer's scope and
    number of requesters (``CompiledQuery``); the ranking and counting around it are
    written out. Django's way (a count query, then a filter on a window, which it compiles
    as a query wrapped in another, over every visible asset) cost a compliance officer's
    approvals page 12 ms and an owner's 16; this costs 7 and 10 (on the scale data)."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return {}
    scope, now = catalogue_scope(viewer), timezone.now()
    values: tuple[Any, ...] = (now, *wanted)
    if scope == Scope.VISIBLE:
        values += (viewer.pk, now)
    grants_sql, params = _ACTIVE_GRANTS_SEEN.sql((scope, len(wanted)), values)
    shown: defaultdict[int, list[OtherGrant]] = defaultdict(list)
    totals: dict[int, int] = {}
    limited = [] if limit is None else [limit]
    with connection.cursor() as cursor:
        cursor.execute(_ranked(grants_sql, limited=bool(limited)), [*params, *limited])
        rows = cursor.fetchall()
    for user_id, total, is_visible, asset_name, purpose_key, expires_at in rows:
        totals[user_id] = total
        if is_visible and (limit is None or len(shown[user_id]) < limit):
            shown[user_id].append(OtherGrant(asset_name, purpose_key, _moment(expires_at)))
    return {user_id: OtherGrants(shown[user_id], total) for user_id, total in totals.items()}


def _active_grants_seen(shape: Any, values: tuple[Any, ...]) -> QuerySet[AccessGrant, Any]:
    """The grants of ``other_active_grants_by_user``: active at ``values[0]``, held by the
    next ``count`` ids, each with ``visible``: whether the viewer sees its asset (their
    ``catalogue_scope``; for ``Scope.VISIBLE`` the last two values are the viewer's id and
    the clock of ``visible_to``)."""
    scope, count = shape
    now, holders = values[0], values[1 : count + 1]
    # Compliance and legal see every asset: no condition to test for them.
    visible: Any = Value(scope == Scope.EVERY)
    if scope == Scope.VISIBLE:
        viewer_id, seen_at = values[count + 1 :]
        visible = ExpressionWrapper(
            visible_to(viewer_id, through="asset__", now=seen_at), BooleanField()
        )
    return (
        active_grants(now)
        .filter(user_id__in=holders)
        .annotate(visible=visible)
        .order_by()
        .values_list(
            "id", "user_id", "asset_id", "purpose_id", "expires_at", "created_at", "visible"
        )
    )


_ACTIVE_GRANTS_SEEN = CompiledQuery(_active_grants_seen)


def _ranked(grants_sql: str, *, limited: bool) -> str:
    """The statement around ``grants_sql`` (the active grants with their ``visible`` flag)
    that ``other_active_grants_by_user`` runs: each grant's place among the user's visible
    (or hidden) grants, newest first, and the user's count of all; kept: the visible ones
    (with ``limited``, the first N, N the one parameter after the subquery's), and the
    first row of each user's grants for the count when none is visible."""
    quote = connection.ops.quote_name
    column = {
        name: quote(str(getattr(AccessGrant._meta.get_field(name), "column", name)))
        for name in ("id", "user", "asset", "purpose", "expires_at", "created_at")
    }
    user, place = f"g.{column['user']}", f"g.{column['created_at']} DESC, g.{column['id']} DESC"
    asset, purpose = DataAsset._meta, Purpose._meta
    kept = "ranked.visible AND ranked.place <= %s" if limited else "ranked.visible"
    return (
        f"SELECT ranked.{column['user']}, ranked.total, ranked.visible, "  # noqa: S608
        f"a.{quote('name')}, p.{quote('key')}, ranked.{column['expires_at']} FROM ("
        f"SELECT g.*, ROW_NUMBER() OVER (PARTITION BY {user}, g.visible ORDER BY {place}) "
        f"AS place, ROW_NUMBER() OVER (PARTITION BY {user} ORDER BY g.visible DESC) "
        f"AS user_row, COUNT(*) OVER (PARTITION BY {user}) AS total "
        f"FROM ({grants_sql}) g) ranked "
        f"JOIN {quote(asset.db_table)} a "
        f"ON a.{quote(str(asset.pk.column))} = ranked.{column['asset']} "
        f"JOIN {quote(purpose.db_table)} p "
        f"ON p.{quote(str(purpose.pk.column))} = ranked.{column['purpose']} "
        f"WHERE ({kept}) OR ranked.user_row = 1 "
        f"ORDER BY ranked.{column['user']}, ranked.visible DESC, ranked.place"
    )


def _moment(value: datetime | str) -> datetime:
    """A ``DateTimeField`` value read by a raw cursor as the ORM would give it: aware.
    PostgreSQL's driver gives an aware datetime already; SQLite (the demo) gives text in
    the connection's zone. Raises ``ValueError`` for text that is no moment (a column
    that is never empty holds none)."""
    moment = parse_datetime(value) if isinstance(value, str) else value
    if moment is None:
        raise ValueError(f"not a moment: {value!r}")
    if timezone.is_aware(moment):
        return moment
    return timezone.make_aware(moment, connection.timezone)


NO_OTHER_GRANTS = OtherGrants((), 0)


def grant_records(grant: AccessGrant) -> tuple[list[str], PagedValues[dict[str, Any]]]:
    """The customers readable through ``grant`` right now, in id order: eligible for its
    purpose at this moment (the consent selectors' ``eligible_customer_ids``, never a
    copy), each as a dict of the allowed columns. Hand the list to ``OneReadPaginator``
    (or the API's pagination): the page's ids and the number eligible are one statement
    that does not read the customer table (over the consent states for a purpose on
    consent, over the asset's memberships otherwise), then the page's customers are read
    by id (``PagedValues``)."""
    columns = record_columns(grant.asset)

    def read(ids: list[tuple]) -> list[dict[str, Any]]:
        wanted = [customer_id for (customer_id,) in ids]
        return list(Customer.objects.filter(pk__in=wanted).order_by("id").values(*columns))

    return columns, eligible_customer_pages(grant.asset, grant.purpose, read)
