"""Reads of consent: the single definition of "eligible".

Access grants, exports, external sharing and dashboards all read through
``eligible_customers`` and ``coverage_for``; nothing else decides who may be used for a
purpose.

The rules (design.md):

* Keys are hierarchical. For a customer and purpose P, the records for P and for every
  ancestor of P (``key_and_ancestors``) are compared and the latest by ``effective_at``
  decides. A later withdrawal of P or of a parent wins over an earlier grant of either, a
  later grant wins over an earlier withdrawal, and on a tie the withdrawal wins (fail
  closed). So consent to ``marketing`` covers ``marketing.communications.email``, consent to
  the child never covers the parent, and a parent granted then the child withdrawn leaves
  the child withdrawn.
* A purpose whose lawful basis is not ``consent`` is covered for every customer of an asset
  collected for it or for an ancestor of it (``DataAsset.collected_for``), and otherwise
  for the customers whose current consent covers it. For ``legitimate_interest`` only, a
  customer whose current state for it is a withdrawal (an objection, GDPR Art. 21) is
  excluded even when the asset was collected for it; for ``contract`` and
  ``legal_obligation`` a withdrawal does not remove them.
* Effective dates are never in the future (the services refuse them), so the latest record
  is the one in force now.

Everything is computed in the database from ``ConsentState`` (one row per customer and
exact purpose key, kept in the transaction of each record): at most a few rows per
customer, whatever the length of the history.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.db.models import Count, Exists, F, Max, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from consent.models import (
    ConsentImportJob,
    ConsentRecord,
    ConsentState,
    ConsentStatus,
    LawfulBasis,
    Purpose,
    key_and_ancestors,
)
from customers.models.catalogue import AssetCustomer, Customer, DataAsset
from portal import roles
from portal.compiled_queries import CompiledList, CompiledQuery
from portal.display import number_text
from portal.errors import ApplicationError
from portal.models import User
from portal.pagination import PagedValues, Row


@dataclass(frozen=True)
class Coverage:
    """How many customers of an asset may be used for a purpose."""

    purpose: str
    eligible: int
    total: int
    lawful_basis: str = LawfulBasis.CONSENT

    @property
    def sentence(self) -> str:
        """ "312 of 1,204 customers agreed to marketing.communications.email"."""
        values = {
            "eligible": number_text(self.eligible),
            "total": number_text(self.total),
            "purpose": self.purpose,
        }
        if self.lawful_basis == LawfulBasis.CONSENT:
            return (
                ngettext(
                    "%(eligible)s of %(total)s customer agreed to %(purpose)s",
                    "%(eligible)s of %(total)s customers agreed to %(purpose)s",
                    self.total,
                )
                % values
            )
        values["basis"] = LawfulBasis(self.lawful_basis).label.lower()
        return (
            ngettext(
                "%(eligible)s of %(total)s customer may be used for %(purpose)s "
                "(lawful basis: %(basis)s)",
                "%(eligible)s of %(total)s customers may be used for %(purpose)s "
                "(lawful basis: %(basis)s)",
                self.total,
            )
            % values
        )

    @property
    def none_eligible(self) -> bool:
        return self.eligible == 0


def active_purpose_for_key(key: str | None) -> Purpose | None:
    """The active purpose with exactly this key, or ``None`` (also for "" and ``None``).

    No trimming or prefix matching: ``marketing.communications.email;x`` or a trailing
    space is an unknown key, not ``marketing.communications.email``.
    """
    # A NUL character cannot reach PostgreSQL (a server error): it is simply no key.
    if not key or "\x00" in key:
        return None
    return Purpose.objects.filter(key=key, active=True).first()


def purpose_by_key(key: str, *, field: str = "purpose") -> Purpose:
    """``active_purpose_for_key(key)``, or an ``ApplicationError`` naming ``field``."""
    purpose = active_purpose_for_key(key)
    if purpose is None:
        raise ApplicationError(_("Unknown purpose %(value)s.") % {"value": repr(key)}, field=field)
    return purpose


def _covering_purpose_ids(purpose: Purpose) -> list[int]:
    """The ids of ``purpose`` and its ancestors. Read once, so the coverage query carries
    them as constants and the database can estimate and hash it well (a join to the
    purpose table there made PostgreSQL sort on disk: twice as slow on 100,000 customers).
    """
    return list(
        Purpose.objects.filter(key__in=key_and_ancestors(purpose.key)).values_list("pk", flat=True)
    )


def _latest_states(purpose: Purpose, asset: DataAsset | None = None) -> QuerySet:
    """Per customer with a state for ``purpose`` or an ancestor: the date of their latest
    grant (``granted_at``) and of their latest withdrawal (``withdrawn_at``) among those
    keys. One grouped pass over the state table, which the database hashes once.

    With ``asset``, only its customers' states are grouped: without it the database
    grouped the states of every customer of the company, 0.2 s at 100,000 customers even
    for an asset of ten."""
    return _latest_states_of(_covering_purpose_ids(purpose), None if asset is None else asset.pk)


def _latest_states_of(purpose_ids: Sequence[int], asset_id: int | None) -> QuerySet:
    """``_latest_states`` from the ids of the purpose and its ancestors and the asset's id:
    built from ids alone, so a statement compiled once takes them as values."""
    states = ConsentState.objects.filter(purpose_id__in=purpose_ids)
    if asset_id is not None:
        states = states.filter(
            customer_id__in=AssetCustomer.objects.filter(asset_id=asset_id).values("customer_id")
        )
    return (
        states.order_by()
        .values("customer_id")
        .annotate(
            granted_at=Max("effective_at", filter=Q(status=ConsentStatus.GRANTED)),
            withdrawn_at=Max("effective_at", filter=Q(status=ConsentStatus.WITHDRAWN)),
        )
    )


def consent_granted(
    purpose: Purpose, customer_ref: str = "pk", asset: DataAsset | None = None
) -> Q:
    """The customer's current consent covers ``purpose``: their latest grant for it or an
    ancestor is later than their latest withdrawal for any of those (a tie: withdrawn).
    ``asset``: the customers are the asset's (the database then reads only theirs)."""
    return Q(**{f"{customer_ref}__in": _granted_states(purpose, asset).values("customer_id")})


def consent_withdrawn(
    purpose: Purpose, customer_ref: str = "pk", asset: DataAsset | None = None
) -> Q:
    """The customer's current state for ``purpose`` is a withdrawal: their latest withdrawal
    for it or an ancestor is as late as, or later than, their latest grant."""
    return Q(**{f"{customer_ref}__in": _withdrawn_states(purpose, asset).values("customer_id")})


def _granted_states(purpose: Purpose, asset: DataAsset | None) -> QuerySet:
    """One row per customer whose current consent covers ``purpose`` (see
    ``consent_granted``)."""
    return _granted_among(_latest_states(purpose, asset))


def _granted_among(latest: QuerySet) -> QuerySet:
    """The rows of ``latest`` (``_latest_states``) whose grant is the current state."""
    return latest.filter(
        Q(granted_at__isnull=False)
        & (Q(withdrawn_at__isnull=True) | Q(granted_at__gt=F("withdrawn_at")))
    )


def _withdrawn_states(purpose: Purpose, asset: DataAsset | None) -> QuerySet:
    """One row per customer whose current state for ``purpose`` is a withdrawal (see
    ``consent_withdrawn``); never a customer of ``_granted_states`` too."""
    return _latest_states(purpose, asset).filter(
        Q(withdrawn_at__isnull=False)
        & (Q(granted_at__isnull=True) | Q(withdrawn_at__gte=F("granted_at")))
    )


def _collection_purposes(asset: DataAsset, purpose: Purpose) -> QuerySet:
    """The asset's collection purposes that are ``purpose`` or an ancestor of it: any one
    of them makes a non-consent lawful basis apply."""
    return DataAsset.collected_for.through.objects.filter(
        dataasset_id=asset.pk, purpose__key__in=key_and_ancestors(purpose.key)
    )


def _collected_for(asset: DataAsset, purpose: Purpose) -> Exists:
    return Exists(_collection_purposes(asset, purpose))


def eligibility(
    asset: DataAsset,
    purpose: Purpose,
    *,
    also_requires: Iterable[Purpose] = (),
    customer_ref: str = "pk",
) -> Q:
    """The condition "this customer of ``asset`` may be used for ``purpose``", as an
    expression on the customer id found at ``customer_ref``."""
    if purpose.lawful_basis == LawfulBasis.CONSENT:
        condition = consent_granted(purpose, customer_ref, asset)
    else:
        collected = _collected_for(asset, purpose)
        if purpose.lawful_basis == LawfulBasis.LEGITIMATE_INTEREST:
            # GDPR Art. 21: an objection ends processing on legitimate interest.
            by_collection = Q(collected) & ~consent_withdrawn(purpose, customer_ref, asset)
        else:
            # Contract, legal obligation: a withdrawal of consent does not end them.
            by_collection = Q(collected)
        condition = by_collection | consent_granted(purpose, customer_ref, asset)
    for required in also_requires:
        condition &= consent_granted(required, customer_ref, asset)
    return condition


def eligible_customers(
    asset: DataAsset, purpose: Purpose, *, also_requires: Iterable[Purpose] = ()
) -> QuerySet[Customer]:
    """The customers of ``asset`` eligible for ``purpose`` now, as a lazy queryset.

    ``also_requires``: purposes whose current consent each customer must also hold
    (external sharing passes ``third_party_sharing``), whatever their lawful basis.
    See the module docstring for the rules. Building it reads the purpose ids (one small
    query per purpose); the customers are selected in one query when it is evaluated.
    """
    return Customer.objects.filter(
        Q(pk__in=AssetCustomer.objects.filter(asset_id=asset.pk).values("customer_id")),
        eligibility(asset, purpose, also_requires=tuple(also_requires)),
    )


def eligible_customer_ids(
    asset: DataAsset, purpose: Purpose, *, also_requires: Iterable[Purpose] = ()
) -> QuerySet[Any, Any]:
    """The ids of the same customers as ``eligible_customers``, as a lazy queryset of
    ``{"customer_id": id}``, one row per customer, unordered. For a statement that needs
    only the ids (the export ledger's INSERT ... SELECT): it does not read the customer
    table.

    For a purpose on consent alone they are the asset's customers' granted states
    themselves (grouped per customer, as ``coverage_for`` counts them): testing every
    membership against those states again cost an export of 100,000 customers a second
    pass over the memberships (about 30 ms of 160). Otherwise the asset's memberships
    tested against ``eligibility`` (a membership is unique per asset and customer)."""
    also_requires = tuple(also_requires)
    if _on_consent_alone(purpose, also_requires):
        return _granted_states(purpose, asset).values("customer_id")
    return (
        AssetCustomer.objects.filter(asset_id=asset.pk)
        .filter(
            eligibility(asset, purpose, also_requires=also_requires, customer_ref="customer_id")
        )
        .order_by()
        .values("customer_id")
    )


def _on_consent_alone(purpose: Purpose, also_requires: tuple[Purpose, ...] = ()) -> bool:
    """Whether eligibility for ``purpose`` is the customer's current consent alone: its
    lawful basis is consent and nothing else is required."""
    return purpose.lawful_basis == LawfulBasis.CONSENT and not also_requires


def _granted_ids(shape: object, values: tuple[Any, ...]) -> QuerySet:
    # ``eligible_customer_ids`` on consent alone, from the asset's id and the covering ids.
    return _granted_among(_latest_states_of(values[1:], values[0])).values("customer_id")


_GRANTED_IDS = CompiledQuery(_granted_ids)
_GRANTED_IDS_IN_ORDER = CompiledList(
    lambda shape, values: _granted_ids(shape, values).order_by("customer_id")
)


def eligible_customer_ids_sql(asset: DataAsset, purpose: Purpose) -> tuple[str, tuple[Any, ...]]:
    """``eligible_customer_ids(asset, purpose)``'s SQL and parameters, for a statement
    written around it (the export ledger's INSERT ... SELECT): for a purpose on consent
    alone compiled once per number of covering purposes (``CompiledQuery``: the asset's
    id and the purposes' ids, read now, are its values), otherwise built as usual.
    Returns ``(sql, params)`` with ``%s`` placeholders; raises ``EmptyResultSet`` for a
    statement Django knows finds nothing (as ``sql_with_params`` does)."""
    if _on_consent_alone(purpose):
        return _GRANTED_IDS.sql(None, (asset.pk, *_covering_purpose_ids(purpose)))
    sql, params = eligible_customer_ids(asset, purpose).query.sql_with_params()
    return sql, tuple(params)


def eligible_customer_pages(
    asset: DataAsset, purpose: Purpose, read: Callable[[list[tuple]], list[Row]]
) -> PagedValues[Row]:
    """``eligible_customer_ids(asset, purpose)`` in id order, as a ``PagedValues`` of
    ``customer_id`` whose rows ``read`` builds: a page's ids and the number eligible in one
    statement, compiled once per number of covering purposes for a purpose on consent
    alone (as ``eligible_customer_ids_sql``). ``read`` takes the page's ``(customer_id,)``
    tuples and returns its rows. Reads the covering purposes' ids now (one query); raises
    nothing of its own."""
    if _on_consent_alone(purpose):
        values = (asset.pk, *_covering_purpose_ids(purpose))
        return _GRANTED_IDS_IN_ORDER.paged_values(None, values, read, fields=("customer_id",))
    eligible = eligible_customer_ids(asset, purpose).order_by("customer_id")
    return PagedValues(eligible, read, fields=("customer_id",))


def coverage_for(
    asset: DataAsset, purpose: Purpose, *, also_requires: Iterable[Purpose] = ()
) -> Coverage:
    """``eligible`` customers of ``asset`` for ``purpose`` out of its ``total``, counted in
    the database in a fixed number of queries whatever the number of customers (the ids
    of the purposes and their ancestors, then one count); same rules as
    ``eligible_customers``.

    Without ``also_requires`` the grouped consent states are counted themselves (one row per
    customer of the asset: see ``_counted_by_state``); with it, every membership is tested
    against ``eligibility``, the general form."""
    also_requires = tuple(also_requires)
    if also_requires:
        counts = AssetCustomer.objects.filter(asset_id=asset.pk).aggregate(
            total=Count("pk"),
            eligible=Count(
                "pk",
                filter=eligibility(
                    asset, purpose, also_requires=also_requires, customer_ref="customer_id"
                ),
            ),
        )
        total, eligible = counts["total"], counts["eligible"]
    else:
        total, eligible = _counted_by_state(asset, purpose)
    return Coverage(
        purpose=purpose.key, eligible=eligible, total=total, lawful_basis=purpose.lawful_basis
    )


def _counted_by_state(asset: DataAsset, purpose: Purpose) -> tuple[int, int]:
    """``(total, eligible)`` for ``eligibility(asset, purpose)`` in one statement that counts
    the grouped states instead of testing every membership against them: PostgreSQL ran
    the membership test as a subplan that each parallel worker built again (1.4 to 1.7
    times the hand-written count at 100,000 and 1,000,000 customers; docs/consent.md).

    The same rule, as arithmetic: a granted and a withdrawn state never meet in one
    customer, so "collected and not withdrawn, or granted" is ``total - withdrawn``;
    "collected, or granted" is ``total``; "granted" is the granted states' count.

    For a purpose on consent, who is eligible does not depend on the total, and ``total``
    is the asset's kept ``customer_count``, read in the same statement (the same snapshot
    as the states): every service that adds or removes memberships stores it in its
    transaction (``asset_customer_counts_refresh``), and counting the memberships again
    cost 7 ms at 100,000 customers and 63 ms at 1,000,000 for the same number. For the
    other lawful bases the eligible figure is computed from the total, so the memberships
    are counted: a count kept wrong by a change that bypassed the services would make
    customers eligible who are not (docs/consent.md). An asset deleted meanwhile counts
    ``(0, 0)``, as before."""

    def counted(states: QuerySet) -> tuple[str, tuple]:
        """A scalar subquery counting the rows of ``states`` (grouped per customer), with
        its parameters."""
        sql, params = states.values("customer_id").query.sql_with_params()
        return f"(SELECT count(*) FROM ({sql}) AS states)", params

    granted_sql, params = counted(_granted_states(purpose, asset))
    eligible_sql = granted_sql
    if purpose.lawful_basis != LawfulBasis.CONSENT:
        collected = _collection_purposes(asset, purpose).values("pk")
        collected_sql, collected_params = collected.query.sql_with_params()
        by_collection, by_collection_params = "members.total", ()
        if purpose.lawful_basis == LawfulBasis.LEGITIMATE_INTEREST:  # GDPR Art. 21
            withdrawn_sql, by_collection_params = counted(_withdrawn_states(purpose, asset))
            by_collection = f"members.total - {withdrawn_sql}"
        eligible_sql = (
            f"CASE WHEN EXISTS ({collected_sql}) THEN {by_collection} ELSE {granted_sql} END"
        )
        params = (*collected_params, *by_collection_params, *params)
    if purpose.lawful_basis == LawfulBasis.CONSENT:
        members = (
            "SELECT coalesce((SELECT customer_count FROM"
            f" {connection.ops.quote_name(DataAsset._meta.db_table)} WHERE id = %s), 0) AS total"
        )
    else:
        members = (
            "SELECT count(*) AS total FROM"
            f" {connection.ops.quote_name(AssetCustomer._meta.db_table)} WHERE asset_id = %s"
        )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT members.total, {eligible_sql} FROM ({members}) AS members",
            (*params, asset.pk),
        )
        total, eligible = cursor.fetchone()
    return total, eligible


def consent_history(customer: Customer) -> QuerySet[ConsentRecord]:
    """Every record of the customer, newest first, with who recorded it."""
    return ConsentRecord.objects.filter(customer=customer).select_related("purpose", "recorded_by")


def current_consents(customer: Customer) -> QuerySet[ConsentState]:
    """The customer's latest record per purpose key, by key."""
    return (
        ConsentState.objects.filter(customer=customer)
        .select_related("purpose", "record", "record__recorded_by")
        .order_by("purpose__key")
    )


def purposes_by_key() -> QuerySet[Purpose]:
    """Every purpose with its lawful basis, in key order (compliance's purposes page)."""
    return Purpose.objects.order_by("key")


def lawful_basis_history(limit: int = 50) -> QuerySet[Any]:
    """Recorded changes of purposes' lawful bases, newest first, with who and why: the
    history rows that carry a reason (``purpose_lawful_basis_change`` writes one)."""
    return (
        Purpose.history.exclude(history_change_reason__isnull=True)
        .exclude(history_change_reason="")
        .select_related("history_user")
        .order_by("-history_date", "-history_id")[:limit]
    )


def import_job_list_for(user: User | AnonymousUser | None) -> QuerySet[ConsentImportJob]:
    """Consent import jobs ``user`` may see: compliance (who may import) sees every job,
    anyone else none. Newest first; without the file contents."""
    if user is None or not user.is_active or not roles.is_compliance(user):
        return ConsentImportJob.objects.none()
    return ConsentImportJob.objects.select_related("created_by").defer("content")


def suggested_purpose_keys(asset: DataAsset) -> set[str]:
    """The purposes that make sense for ``asset``, offered first on the request and sharing
    forms: the keys it was collected for and the keys any of its customers currently
    consents to (a ``granted`` ``ConsentState``). Exact keys only: the narrower keys they
    cover stay in their groups, so the suggestions stay a short list.

    One query. The consent part reads the distinct purposes of the granted states of the
    asset's customers (the covering index on customer and purpose): 60 to 80 ms for an
    asset of 50,000 customers, 0.7 s for one of 1,000,000. An ``EXISTS`` per active purpose
    stopped at the first consenting customer of a common purpose, but scanned every state
    of a purpose none of the asset's customers held: 0.2 s and 7.7 s.
    Returns a set of keys.
    """
    consented = (
        ConsentState.objects.filter(
            status=ConsentStatus.GRANTED,
            customer_id__in=AssetCustomer.objects.filter(asset_id=asset.pk).values("customer_id"),
        )
        .order_by()
        .values("purpose_id")
        .distinct()
    )
    collected = DataAsset.collected_for.through.objects.filter(dataasset_id=asset.pk).values(
        "purpose_id"
    )
    return set(
        Purpose.objects.filter(active=True)
        .filter(Q(pk__in=consented) | Q(pk__in=collected))
        .values_list("key", flat=True)
    )
