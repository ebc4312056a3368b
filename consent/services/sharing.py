"""External sharing requests: asked with a recipient, a purpose and the data categories, checked
against consent coverage and the transfer rules, then decided through the approval engine."""

from collections.abc import Iterable
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from consent.countries import COUNTRIES, outside_eu_eea
from consent.models import (
    SHARING_CHAIN_KIND,
    SHARING_PURPOSE_KEY,
    DataCategory,
    Purpose,
    SharingRequest,
    TransferSafeguard,
)
from consent.selectors import Coverage
from consent.services.packages import sharing_package_create
from consent.sharing_selectors import sharing_coverage
from customers.models.catalogue import DataAsset
from portal import approvals
from portal.audit import audit_record, misuse_signals_evaluate_soon
from portal.audit_actions import AuditAction
from portal.display import date_text, number_text
from portal.errors import ApplicationError, CoverageRefusal
from portal.input_limits import max_length, one_line, require_ahead, require_visible_text
from portal.models import ApprovalChain, ApprovalRole, ChainStatus, User
from portal.reasons import clean_justification

TRANSFER_SAFEGUARD = "transfer_safeguard"


RECIPIENT_MAX = max_length(SharingRequest, "recipient")


REFERENCE_MAX = max_length(SharingRequest, "agreement_reference")


def _clean_categories(asset: DataAsset, categories: Iterable) -> list[DataCategory]:
    """The chosen categories, each one of the asset's or narrower (``user.contact.email``
    from an asset holding ``user.contact``): data minimisation, never more than it holds."""
    keys = sorted({c.key if isinstance(c, DataCategory) else str(c) for c in categories or ()})
    if not keys:
        raise ApplicationError(_("Choose the data categories to share."), field="categories")
    chosen = list(DataCategory.objects.filter(key__in=keys, active=True).order_by("key"))
    unknown = sorted(set(keys) - {c.key for c in chosen})
    if unknown:
        raise ApplicationError(
            ngettext(
                "Unknown data category: %(keys)s.",
                "Unknown data categories: %(keys)s.",
                len(unknown),
            )
            % {"keys": ", ".join(unknown)},
            field="categories",
        )
    held = sorted(asset.data_categories.values_list("key", flat=True))
    outside = [k for k in keys if not any(k == h or k.startswith(h + ".") for h in held)]
    if outside:
        if held:
            message = _(
                "%(asset)s does not hold %(keys)s: share only its categories (%(held)s)."
            ) % {"asset": asset.name, "keys": ", ".join(outside), "held": ", ".join(held)}
        else:
            message = _(
                "%(asset)s does not hold %(keys)s: share only its categories (none recorded)."
            ) % {"asset": asset.name, "keys": ", ".join(outside)}
        raise ApplicationError(
            message,
            field="categories",
        )
    return chosen


def _clean_agreement(reference: str, end: object) -> str:
    reference = (reference or "").strip()
    if not reference:
        raise ApplicationError(
            _(
                "Give the reference of the data sharing agreement (DPA): nothing is shared "
                "without one."
            ),
            field="agreement_reference",
        )
    if len(reference) > REFERENCE_MAX:
        raise ApplicationError(
            _("The agreement reference is longer than %(max)s characters.")
            % {"max": REFERENCE_MAX},
            field="agreement_reference",
        )
    require_visible_text(reference, field="agreement_reference", what=_("The agreement reference"))
    if not isinstance(end, date) or isinstance(end, datetime):
        raise ApplicationError(_("Give the agreement's end date."), field="agreement_end")
    if end < timezone.localdate():
        raise ApplicationError(
            _("The agreement ended on %(day)s: nothing can be shared under it.")
            % {"day": date_text(end)},
            field="agreement_end",
        )
    # An end beyond any real agreement is a typing error, and 9999-12-31 leaves no room for
    # the deletion reminders counted from it.
    require_ahead(end, field="agreement_end", what=_("The agreement's end"))
    return reference


def _clean_recipient(recipient: str, country: str) -> tuple[str, str]:
    recipient = one_line(recipient)
    if not recipient:
        raise ApplicationError(_("Name the receiving organisation."), field="recipient")
    require_visible_text(recipient, field="recipient", what=_("The recipient's name"))
    if len(recipient) > RECIPIENT_MAX:
        raise ApplicationError(
            _("The recipient's name is longer than %(max)s characters.") % {"max": RECIPIENT_MAX},
            field="recipient",
        )
    code = (country or "").strip().upper()
    if code not in COUNTRIES:
        raise ApplicationError(
            _(
                "Unknown country code %(value)s: give the two-letter ISO 3166-1 code "
                "(DE, NO, US, ...)."
            )
            % {"value": repr(country)},
            field="recipient_country",
        )
    return recipient, code


def sharing_refusal_sentence(asset: DataAsset, purpose: Purpose, coverage: Coverage) -> str:
    """Why nobody of ``asset`` may be shared for ``purpose``, in the active language."""
    if coverage.total == 0:
        return _("%(asset)s holds no customers, so there is nothing to share.") % {
            "asset": asset.name
        }
    values = {
        "total": number_text(coverage.total),
        # The same sentence as an access request's refusal (customers.services.access).
        "count": number_text(coverage.total),
        "asset": asset.name,
        "sharing": SHARING_PURPOSE_KEY,
        "purpose": purpose.key,
    }
    if SHARING_PURPOSE_KEY in purpose.ancestor_keys:
        sentence = ngettext(
            "None of the one customer in %(asset)s agreed to %(purpose)s.",
            "None of the %(count)s customers in %(asset)s agreed to %(purpose)s.",
            coverage.total,
        )
    elif purpose.needs_consent:
        sentence = ngettext(
            "None of the one customer in %(asset)s agreed to both %(sharing)s and %(purpose)s.",
            "None of the %(total)s customers in %(asset)s agreed to both %(sharing)s and "
            "%(purpose)s.",
            coverage.total,
        )
    else:
        sentence = ngettext(
            "None of the one customer in %(asset)s agreed to %(sharing)s and may be used for "
            "%(purpose)s.",
            "None of the %(total)s customers in %(asset)s agreed to %(sharing)s and may be "
            "used for %(purpose)s.",
            coverage.total,
        )
    return sentence % values


def _refuse_duplicate_pending(
    *, actor: User, asset: DataAsset, purpose: Purpose, recipient: str
) -> None:
    """Refuse a second pending request of the same requester, asset, purpose and recipient."""
    pending = SharingRequest.objects.filter(
        requester=actor,
        asset=asset,
        purpose=purpose,
        recipient__iexact=recipient,
        chain__status=ChainStatus.PENDING,
    )
    if pending.exists():
        raise ApplicationError(
            _(
                "You already have a pending request to share this asset with this recipient "
                "for this purpose."
            ),
            field="asset",
        )


def _refuse_without_coverage(
    actor: User,
    asset: DataAsset,
    purpose: Purpose,
    recipient: str,
    country: str,
    coverage: Coverage,
) -> None:
    """Refuse (``CoverageRefusal``, audited) when no customer of the asset may be shared."""
    if coverage.eligible > 0:
        return
    message = sharing_refusal_sentence(asset, purpose, coverage)
    # Recorded although nothing is created: compliance sees who tried to share what.
    audit_record(
        actor=actor,
        action=AuditAction.SHARING_REQUEST_REFUSED,
        target=asset,
        detail={
            "purpose": purpose.key,
            "recipient": recipient,
            "recipient_country": country,
            "total": coverage.total,
            "reason": message,
        },
    )
    misuse_signals_evaluate_soon()  # a refusal may complete a pattern compliance should see
    raise CoverageRefusal(message)


def _sharing_summary(coverage: Coverage, *, outside: bool) -> str:
    values = {"eligible": number_text(coverage.eligible), "total": number_text(coverage.total)}
    if outside:
        return (
            ngettext(
                "%(eligible)s of %(total)s customer may be shared; recipient outside the EU/EEA: "
                "transfer safeguard needed",
                "%(eligible)s of %(total)s customers may be shared; recipient outside the EU/EEA: "
                "transfer safeguard needed",
                coverage.total,
            )
            % values
        )
    return (
        ngettext(
            "%(eligible)s of %(total)s customer may be shared",
            "%(eligible)s of %(total)s customers may be shared",
            coverage.total,
        )
        % values
    )


def _sharing_chain_start(
    actor: User,
    asset: DataAsset,
    purpose: Purpose,
    recipient: str,
    country: str,
    coverage: Coverage,
) -> ApprovalChain:
    """Start the owner, compliance, legal chain; legal needs a transfer safeguard for a
    recipient outside the EU/EEA."""
    outside = outside_eu_eea(country)
    return approvals.chain_start(
        kind=SHARING_CHAIN_KIND,
        requester=actor,
        owner=asset.owner,
        # design.md: owner, compliance, legal whatever the class (the engine gives the
        # owner's step to compliance when the requester owns the asset).
        steps=[
            approvals.StepSpec(ApprovalRole.OWNER),
            approvals.StepSpec(ApprovalRole.COMPLIANCE),
            approvals.StepSpec(
                ApprovalRole.LEGAL, requirement=TRANSFER_SAFEGUARD if outside else ""
            ),
        ],
        # Stored on the chain and read in the approvals list: written in the language of
        # the person who asks.
        title=(
            _("Share %(asset)s with %(recipient)s (%(country)s) for %(purpose)s")
            % {
                "asset": asset.name,
                "recipient": recipient,
                "country": country,
                "purpose": purpose.key,
            }
        )[:300],
        summary=_sharing_summary(coverage, outside=outside),
    )


def _audit_sharing_request_create(
    *, actor: User, sharing_request: SharingRequest, chosen: list[DataCategory]
) -> None:
    """Record the new request with what is shared, with whom, under which agreement."""
    audit_record(
        actor=actor,
        action=AuditAction.SHARING_REQUEST_CREATE,
        target=sharing_request,
        asset_id=sharing_request.asset_id,
        detail={
            "purpose": sharing_request.purpose.key,
            "recipient": sharing_request.recipient,
            "recipient_country": sharing_request.recipient_country,
            "outside_eu_eea": outside_eu_eea(sharing_request.recipient_country),
            "agreement_reference": sharing_request.agreement_reference,
            "agreement_end": sharing_request.agreement_end.isoformat(),
            "categories": [c.key for c in chosen],
            "eligible": sharing_request.eligible_at_request,
            "total": sharing_request.total_at_request,
        },
    )


def sharing_request_create(
    *,
    actor: User,
    asset: DataAsset,
    purpose: Purpose,
    justification: str,
    recipient: str,
    recipient_country: str,
    agreement_reference: str,
    agreement_end: date,
    categories: Iterable,
    deletion_confirmation_required: bool = True,
) -> SharingRequest:
    """Ask to share an asset's customer data with an organisation outside the company.

    Guarantees: every field is checked before anything is written (an agreement reference
    and an end date not in the past, a known country code, categories the asset holds);
    the sharing coverage (``third_party_sharing`` consent and the purpose) is computed at
    once and with nobody eligible the request is refused (``CoverageRefusal``, audited,
    no approver bothered). Otherwise the chain owner, compliance, legal starts whatever
    the asset's class, legal's step needing a transfer safeguard when the recipient is
    outside the EU/EEA, and the owner is notified.
    """
    justification = clean_justification(justification)
    recipient, country = _clean_recipient(recipient, recipient_country)
    reference = _clean_agreement(agreement_reference, agreement_end)
    chosen = _clean_categories(asset, categories)
    if not purpose.active:
        raise ApplicationError(
            _("The purpose %(purpose)s is not in use.") % {"purpose": purpose.key},
            field="purpose",
        )
    _refuse_duplicate_pending(actor=actor, asset=asset, purpose=purpose, recipient=recipient)

    coverage = sharing_coverage(asset, purpose)
    _refuse_without_coverage(actor, asset, purpose, recipient, country, coverage)

    with transaction.atomic():
        chain = _sharing_chain_start(actor, asset, purpose, recipient, country, coverage)
        sharing_request = SharingRequest.objects.create(
            requester=actor,
            asset=asset,
            recipient=recipient,
            recipient_country=country,
            purpose=purpose,
            justification=justification,
            agreement_reference=reference,
            agreement_end=agreement_end,
            deletion_confirmation_required=bool(deletion_confirmation_required),
            chain=chain,
            classification_at_request=asset.effective_classification,
            eligible_at_request=coverage.eligible,
            total_at_request=coverage.total,
        )
        sharing_request.categories.set(chosen)
        _audit_sharing_request_create(actor=actor, sharing_request=sharing_request, chosen=chosen)
        approvals.chain_publish(chain, link=sharing_request.get_absolute_url())
    return sharing_request


@transaction.atomic
def sharing_request_decide(
    *,
    sharing_request: SharingRequest,
    actor: User,
    approve: bool,
    reason: str,
    transfer_safeguard: str = "",
) -> SharingRequest:
    """Approve or deny the open step through the approval engine (who may decide, locking,
    notifications). Legal approves a recipient outside the EU/EEA only by naming the
    transfer safeguard; nothing is approved after the agreement's end; the final approval
    makes the package in the same transaction."""
    inputs = {}
    if transfer_safeguard:
        if transfer_safeguard not in TransferSafeguard.values:
            raise ApplicationError(
                _("Unknown transfer safeguard %(value)s: use one of %(values)s.")
                % {
                    "value": repr(transfer_safeguard),
                    "values": ", ".join(TransferSafeguard.values),
                },
                field=TRANSFER_SAFEGUARD,
            )
        inputs[TRANSFER_SAFEGUARD] = transfer_safeguard
    decision = approvals.step_decide(
        chain=sharing_request.chain, actor=actor, approve=approve, reason=reason, inputs=inputs
    )
    if approve and sharing_request.agreement_end < timezone.localdate():
        # Raised after the engine checked who may decide (403 first); rolls the step back.
        raise ApplicationError(
            _("The agreement %(reference)s ended on %(day)s: deny this request.")
            % {
                "reference": sharing_request.agreement_reference,
                "day": date_text(sharing_request.agreement_end),
            }
        )
    sharing_request.chain = decision.chain
    if decision.final_approval:
        sharing_package_create(sharing_request=sharing_request, actor=actor)
    return sharing_request


def sharing_request_withdraw(*, sharing_request: SharingRequest, actor: User) -> SharingRequest:
    sharing_request.chain = approvals.chain_withdraw(chain=sharing_request.chain, actor=actor)
    return sharing_request
