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

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, Exists, F, Max, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from consent.models import (
    SHARING_PURPOSE_KEY,
    ConsentImportJob,
    ConsentRecord,
    ConsentState,
    ConsentStatus,
    DataCategory,
    LawfulBasis,
    Purpose,
    SharingRequest,
    SharingWithdrawal,
    key_and_ancestors,
)
from customers.models.catalogue import AssetCustomer, Customer, DataAsset
from portal import roles
from portal.approvals import open_steps_for, steps_with_deciders
from portal.display import number_text
from portal.errors import ApplicationError
from portal.models import ChainStatus, User


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
    states = ConsentState.objects.filter(purpose_id__in=_covering_purpose_ids(purpose))
    if asset is not None:
        states = states.filter(
            customer_id__in=AssetCustomer.objects.filter(asset_id=asset.pk).values("customer_id")
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
    granted = _latest_states(purpose, asset).filter(
        Q(granted_at__isnull=False)
        & (Q(withdrawn_at__isnull=True) | Q(granted_at__gt=F("withdrawn_at")))
    )
    return Q(**{f"{customer_ref}__in": granted.values("customer_id")})


def consent_withdrawn(
    purpose: Purpose, customer_ref: str = "pk", asset: DataAsset | None = None
) -> Q:
    """The customer's current state for ``purpose`` is a withdrawal: their latest withdrawal
    for it or an ancestor is as late as, or later than, their latest grant."""
    withdrawn = _latest_states(purpose, asset).filter(
        Q(withdrawn_at__isnull=False)
        & (Q(granted_at__isnull=True) | Q(withdrawn_at__gte=F("granted_at")))
    )
    return Q(**{f"{customer_ref}__in": withdrawn.values("customer_id")})


def _collected_for(asset: DataAsset, purpose: Purpose) -> Exists:
    return Exists(
        DataAsset.collected_for.through.objects.filter(
            dataasset_id=asset.pk, purpose__key__in=key_and_ancestors(purpose.key)
        )
    )


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
) -> QuerySet[AssetCustomer, Any]:
    """The ids of the same customers as ``eligible_customers``, as a lazy queryset of
    ``{"customer_id": id}`` read from the asset's memberships only (one row per customer:
    a membership is unique per asset and customer), unordered. For a statement that needs
    only the ids (the export ledger's INSERT ... SELECT): it does not read the customer
    table."""
    return (
        AssetCustomer.objects.filter(asset_id=asset.pk)
        .filter(
            eligibility(
                asset, purpose, also_requires=tuple(also_requires), customer_ref="customer_id"
            )
        )
        .order_by()
        .values("customer_id")
    )


def coverage_for(
    asset: DataAsset, purpose: Purpose, *, also_requires: Iterable[Purpose] = ()
) -> Coverage:
    """``eligible`` customers of ``asset`` for ``purpose`` out of its ``total``, counted in
    the database in a fixed number of queries whatever the number of customers (the ids
    of the purposes and their ancestors, then one count); same rules as
    ``eligible_customers``."""
    counts = AssetCustomer.objects.filter(asset_id=asset.pk).aggregate(
        total=Count("pk"),
        eligible=Count(
            "pk",
            filter=eligibility(
                asset, purpose, also_requires=tuple(also_requires), customer_ref="customer_id"
            ),
        ),
    )
    return Coverage(
        purpose=purpose.key,
        eligible=counts["eligible"],
        total=counts["total"],
        lawful_basis=purpose.lawful_basis,
    )


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


# --- External sharing ------------------------------------------------------------------


def sharing_purpose() -> Purpose:
    """``third_party_sharing``: the consent every shared customer must hold. Missing or
    retired, nothing can be shared (fail closed)."""
    purpose = Purpose.objects.filter(key=SHARING_PURPOSE_KEY, active=True).first()
    if purpose is None:
        raise ApplicationError(
            _("The purpose %(purpose)s is not in use: nothing can be shared.")
            % {"purpose": SHARING_PURPOSE_KEY}
        )
    return purpose


def sharing_eligible_customers(asset: DataAsset, purpose: Purpose) -> QuerySet[Customer]:
    """The customers of ``asset`` that may be shared for ``purpose`` now: eligible for the
    purpose and holding current consent to ``third_party_sharing``."""
    return eligible_customers(asset, purpose, also_requires=[sharing_purpose()])


def sharing_coverage(asset: DataAsset, purpose: Purpose) -> Coverage:
    """Coverage for sharing: same rule as ``sharing_eligible_customers``, counted."""
    return coverage_for(asset, purpose, also_requires=[sharing_purpose()])


def _with_sharing_details(requests: QuerySet[SharingRequest]) -> QuerySet[SharingRequest]:
    """Everything a sharing request's row, page or API answer shows, in a fixed number of
    queries."""
    return requests.select_related(
        "asset", "purpose", "requester", "chain", "package", "deletion_confirmed_by"
    ).prefetch_related(
        Prefetch("categories", queryset=DataCategory.objects.order_by("key")),
        Prefetch("chain__steps", queryset=steps_with_deciders()),
        Prefetch(
            "package__withdrawals",
            queryset=SharingWithdrawal.objects.select_related("forwarded_by", "record__purpose"),
        ),
    )


def sharing_request_list_for(user: User) -> QuerySet[SharingRequest]:
    """Sharing requests ``user`` may see: their own, those on assets they own, and every
    one for compliance and legal (deciders of a step are added by the loader)."""
    requests = SharingRequest.objects.all()
    if not roles.is_compliance_or_legal(user):
        requests = requests.filter(Q(requester=user) | Q(asset__owner=user))
    return _with_sharing_details(requests)


def sharing_requests_of(user: User) -> QuerySet[SharingRequest]:
    return _with_sharing_details(SharingRequest.objects.filter(requester=user))


def sharing_requests_for_approvers() -> QuerySet[SharingRequest]:
    """Every sharing request with what its row in the approvals list shows (the loader this
    kind registers with ``portal.approvals``; the list filters it to the open steps)."""
    return _with_sharing_details(SharingRequest.objects.all())


def sharing_requests_waiting_for(user: User) -> QuerySet[SharingRequest]:
    """Sharing requests with a step ``user`` may decide now (the engine's
    ``open_steps_for``), oldest first: what the request's loader lets a decider see."""
    return (
        sharing_requests_for_approvers()
        .filter(chain__in=open_steps_for(user).values("chain"))
        .order_by("created_at", "id")
    )


def sharing_withdrawals_open_for(user: User) -> QuerySet[SharingWithdrawal]:
    """Withdrawals still to forward: on the user's own sharing requests, every one for
    compliance."""
    withdrawals = SharingWithdrawal.objects.filter(forwarded_at__isnull=True)
    if not roles.is_compliance(user):
        withdrawals = withdrawals.filter(package__request__requester=user)
    return withdrawals.select_related(
        "package__request__asset", "package__request__requester", "record__purpose"
    ).order_by("created_at", "id")


def sharing_deletions_for(user: User) -> QuerySet[SharingRequest]:
    """Approved sharing requests whose recipient must confirm deletion, the ones ending
    first on top: the user's own, every one for compliance."""
    requests = SharingRequest.objects.filter(
        deletion_confirmation_required=True, chain__status=ChainStatus.APPROVED
    )
    if not roles.is_compliance(user):
        requests = requests.filter(requester=user)
    return requests.select_related("asset", "requester", "deletion_confirmed_by", "chain").order_by(
        "deletion_confirmed_at", "agreement_end", "id"
    )


def deletion_status(sharing_request: SharingRequest, *, today: date | None = None) -> str:
    """In words: not required, not due yet, awaiting confirmation, or confirmed. In English,
    as the API answers it; pages show ``deletion_status_text``."""
    if not sharing_request.deletion_confirmation_required:
        return gettext_noop("not required")
    if sharing_request.deletion_confirmed_at:
        return gettext_noop("confirmed")
    today = today or timezone.localdate()
    if sharing_request.agreement_end > today:
        return gettext_noop("due at agreement end")
    return gettext_noop("awaiting confirmation")


def deletion_status_text(sharing_request: SharingRequest) -> str:
    """``deletion_status`` in the active language, for pages."""
    return _(deletion_status(sharing_request))


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

    One query. The consent part is an ``EXISTS`` per active purpose on ``ConsentState``'s
    (purpose, customer) index joined to the asset's memberships: it stops at the first
    consenting customer, so a million-customer asset is not scanned for a common purpose.
    Returns a set of keys.
    """
    consented = ConsentState.objects.filter(
        purpose_id=OuterRef("pk"),
        status=ConsentStatus.GRANTED,
        customer__memberships__asset=asset,
    )
    collected = DataAsset.collected_for.through.objects.filter(
        purpose_id=OuterRef("pk"), dataasset_id=asset.pk
    )
    return set(
        Purpose.objects.filter(active=True)
        .filter(Exists(collected) | Exists(consented))
        .values_list("key", flat=True)
    )
