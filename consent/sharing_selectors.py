"""What is read about external sharing: the consent every shared customer must hold, the
customers and coverage a transfer may carry, and the sharing requests, withdrawals to
forward and deletions to confirm each person sees."""

from datetime import date

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from consent.models import (
    SHARING_PURPOSE_KEY,
    DataCategory,
    Purpose,
    SharingRequest,
    SharingWithdrawal,
)
from consent.selectors import Coverage, coverage_for, eligible_customers
from customers.models.catalogue import Customer, DataAsset
from portal import roles
from portal.approvals import open_steps_for, steps_with_deciders
from portal.errors import ApplicationError
from portal.models import ChainStatus, User


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
