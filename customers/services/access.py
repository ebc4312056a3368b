"""Access requests: created with a purpose and a justification, checked against consent coverage,
then decided step by step through the approval engine (``portal.approvals``)."""

from typing import NoReturn

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from consent.models import Purpose
from consent.selectors import Coverage, coverage_for
from customers.models.access import ACCESS_CHAIN_KIND, AccessLevel, AccessRequest
from customers.models.catalogue import Classification, DataAsset
from customers.selectors.access import access_alternatives
from customers.services.grants import grant_create
from portal import approvals
from portal.audit import audit_record, misuse_signals_evaluate_soon
from portal.audit_actions import AuditAction
from portal.display import number_text
from portal.errors import ApplicationError, CoverageRefusal
from portal.models import ApprovalRole, ChainStatus, User
from portal.reasons import clean_justification

MAX_DURATION_DAYS = 90


# design.md: the approval chain by (effective) classification.
CHAIN_BY_CLASSIFICATION: dict[str, list[str]] = {
    Classification.PUBLIC: [ApprovalRole.OWNER],
    Classification.INTERNAL: [ApprovalRole.OWNER],
    Classification.CONFIDENTIAL: [ApprovalRole.OWNER, ApprovalRole.COMPLIANCE],
    Classification.RESTRICTED: [ApprovalRole.OWNER, ApprovalRole.COMPLIANCE, ApprovalRole.LEGAL],
}


def refusal_sentence(asset: DataAsset, purpose: Purpose, coverage: Coverage) -> str:
    """Why a request no customer is eligible for is refused, in the active language (it is
    also kept in the refusal's audit event as written)."""
    values = {
        "asset": asset.name,
        "purpose": purpose.key,
        "count": number_text(coverage.total),
    }
    if coverage.total == 0:
        return _("%(asset)s holds no customers, so there is nothing to grant.") % values
    if purpose.needs_consent:
        return (
            ngettext(
                "None of the one customer in %(asset)s agreed to %(purpose)s.",
                "None of the %(count)s customers in %(asset)s agreed to %(purpose)s.",
                coverage.total,
            )
            % values
        )
    return (
        ngettext(
            "None of the one customer in %(asset)s may be used for %(purpose)s.",
            "None of the %(count)s customers in %(asset)s may be used for %(purpose)s.",
            coverage.total,
        )
        % values
    )


def access_request_create(
    *,
    actor: User,
    asset: DataAsset,
    purpose: Purpose,
    justification: str,
    level: str = AccessLevel.VIEW,
    duration_days: int = 30,
) -> AccessRequest:
    """Ask for access to an asset's records for one purpose.

    The consent coverage is computed at once: with no eligible customer the request is
    refused (``CoverageRefusal``, audited, nothing reaches an approver) and the refusal
    says what would work instead. Otherwise the approval chain of the asset's effective
    classification starts and its first deciders are notified.
    """
    justification = clean_justification(justification)
    _request_terms_check(
        actor=actor, asset=asset, purpose=purpose, level=level, duration_days=duration_days
    )

    coverage = coverage_for(asset, purpose)
    if coverage.eligible == 0:
        _coverage_refuse(actor=actor, asset=asset, purpose=purpose, coverage=coverage)

    with transaction.atomic():
        classification = asset.effective_classification
        chain = approvals.chain_start(
            kind=ACCESS_CHAIN_KIND,
            requester=actor,
            owner=asset.owner,
            steps=[approvals.StepSpec(role) for role in CHAIN_BY_CLASSIFICATION[classification]],
            # Stored on the chain and shown as written: in the requester's language.
            title=_("%(level)s of %(asset)s for %(purpose)s")
            % {"level": AccessLevel(level).label, "asset": asset.name, "purpose": purpose.key},
            summary=ngettext(
                "%(eligible)s of %(total)s customer eligible",
                "%(eligible)s of %(total)s customers eligible",
                coverage.total,
            )
            % {"eligible": number_text(coverage.eligible), "total": number_text(coverage.total)},
        )
        access_request = AccessRequest.objects.create(
            requester=actor,
            asset=asset,
            purpose=purpose,
            justification=justification,
            level=level,
            duration_days=duration_days,
            classification_at_request=classification,
            eligible_at_request=coverage.eligible,
            total_at_request=coverage.total,
            chain=chain,
        )
        _creation_audit(actor=actor, access_request=access_request)
        approvals.chain_publish(chain, link=access_request.get_absolute_url())
    return access_request


def _request_terms_check(
    *, actor: User, asset: DataAsset, purpose: Purpose, level: str, duration_days: int
) -> None:
    """Refuse (``ApplicationError`` on the field at fault) an unknown level, a duration
    outside 1 to ``MAX_DURATION_DAYS`` days, a purpose out of use, or a second pending
    request by the same requester for the same asset and purpose."""
    if level not in AccessLevel.values:
        raise ApplicationError(
            _("Unknown access level %(level)r.") % {"level": level}, field="level"
        )
    if not isinstance(duration_days, int) or not 1 <= duration_days <= MAX_DURATION_DAYS:
        raise ApplicationError(
            _("Access lasts from 1 to %(max)s days.") % {"max": MAX_DURATION_DAYS},
            field="duration_days",
        )
    if not purpose.active:
        raise ApplicationError(
            _("The purpose %(purpose)s is not in use.") % {"purpose": purpose.key}, field="purpose"
        )
    pending = AccessRequest.objects.filter(
        requester=actor, asset=asset, purpose=purpose, chain__status=ChainStatus.PENDING
    )
    if pending.exists():
        raise ApplicationError(
            _("You already have a pending request for this asset and purpose."), field="asset"
        )


def _coverage_refuse(
    *, actor: User, asset: DataAsset, purpose: Purpose, coverage: Coverage
) -> NoReturn:
    """Audit the refusal of a request no customer is eligible for, then raise
    ``CoverageRefusal`` with the sentence and the alternatives that would work."""
    message = refusal_sentence(asset, purpose, coverage)
    # Recorded even though nothing is created: compliance sees who asked for what.
    audit_record(
        actor=actor,
        action=AuditAction.ACCESS_REQUEST_REFUSED,
        target=asset,
        detail={"purpose": purpose.key, "total": coverage.total, "reason": message},
    )
    misuse_signals_evaluate_soon()  # a refusal may complete a pattern compliance should see
    raise CoverageRefusal(
        message, extra={"alternatives": access_alternatives(actor, asset, purpose)}
    )


def _creation_audit(*, actor: User, access_request: AccessRequest) -> None:
    """The audit row of a new request: what was asked, and the coverage when it was asked."""
    audit_record(
        actor=actor,
        action=AuditAction.ACCESS_REQUEST_CREATE,
        target=access_request,
        asset_id=access_request.asset_id,
        detail={
            "purpose": access_request.purpose.key,
            "level": access_request.level,
            "duration_days": access_request.duration_days,
            "eligible": access_request.eligible_at_request,
            "total": access_request.total_at_request,
        },
    )


@transaction.atomic
def access_request_decide(
    *, access_request: AccessRequest, actor: User, approve: bool, reason: str
) -> AccessRequest:
    """Approve or deny the open step; the final approval creates the grant."""
    decision = approvals.step_decide(
        chain=access_request.chain, actor=actor, approve=approve, reason=reason
    )
    access_request.chain = decision.chain
    if decision.final_approval:
        grant_create(access_request=access_request, actor=actor)
    return access_request


def access_request_withdraw(*, access_request: AccessRequest, actor: User) -> AccessRequest:
    access_request.chain = approvals.chain_withdraw(chain=access_request.chain, actor=actor)
    return access_request
