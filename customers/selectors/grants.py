"""Grants as their holders and deciders see them, who else holds access, and the records a
grant opens (only the customers eligible for its purpose, only its categories' columns)."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber

from consent.categories import record_columns
from consent.selectors import eligible_customers
from customers.models.access import AccessGrant, LevelRow, grant_status
from customers.models.catalogue import Customer
from customers.visibility import active_grants, asset_list_for, sees_every_asset
from portal import roles
from portal.approval_rows import PersonRow, person_fields, person_from, someone_from
from portal.models import User
from portal.pagination import PagedRows, Ref


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
    ``limit`` of each (newest first) on assets the viewer may see, and how many there are
    in all. A grant on a restricted asset the viewer may not see is counted, never named.
    Two queries, whatever the number of grants."""
    active = active_grants().filter(user_id__in=set(user_ids))
    totals = active.order_by().values("user_id").annotate(n=Count("pk")).values_list("user_id", "n")
    # Compliance and legal see every asset: no subquery to plan for them.
    if viewer.is_active and sees_every_asset(viewer):
        on_visible = active
    else:
        on_visible = active.filter(asset__in=asset_list_for(viewer))
    named = (
        on_visible.annotate(
            rank=Window(
                RowNumber(),
                partition_by=F("user_id"),
                order_by=[F("created_at").desc(), F("id").desc()],
            )
        )
        .order_by("user_id", "rank")
        .values_list("user_id", "asset__name", "purpose__key", "expires_at")
    )
    if limit is not None:
        named = named.filter(rank__lte=limit)
    shown: defaultdict[int, list[OtherGrant]] = defaultdict(list)
    for user_id, asset_name, purpose_key, expires_at in named:
        shown[user_id].append(OtherGrant(asset_name, purpose_key, expires_at))
    return {user_id: OtherGrants(shown[user_id], total) for user_id, total in totals}


NO_OTHER_GRANTS = OtherGrants((), 0)


def grant_records(grant: AccessGrant) -> tuple[list[str], QuerySet[Customer, dict[str, Any]]]:
    """The customers readable through ``grant`` right now: eligible for its purpose at
    this moment (the consent selectors, never a copy), only the allowed columns."""
    columns = record_columns(grant.asset)
    return columns, eligible_customers(grant.asset, grant.purpose).order_by("id").values(*columns)
