"""Recipients' confirmation that they deleted the shared data, and reminders until they do."""

from datetime import date

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from consent import policies
from consent.models import SharingRequest
from portal.audit import audit_record
from portal.audit_actions import AuditAction
from portal.errors import ApplicationError
from portal.history import history_user_set
from portal.input_limits import max_length, one_line
from portal.models import ChainStatus, User
from portal.notifications import notify
from portal.reasons import MIN_REASON_LENGTH, clean_reason

DELETION_EVIDENCE_MAX = max_length(SharingRequest, "deletion_evidence")


@transaction.atomic
def sharing_deletion_confirm(
    *, sharing_request: SharingRequest, actor: User, evidence: str
) -> SharingRequest:
    """Compliance records that the recipient confirmed deleting the shared data; the
    reminders stop."""
    policies.require_may_record_recipient_deletion(actor)
    sharing_request = (
        SharingRequest.objects.select_for_update()
        .select_related("chain", "requester")
        .get(pk=sharing_request.pk)
    )
    if sharing_request.chain.status != ChainStatus.APPROVED:
        raise ApplicationError(_("Nothing was shared under this request."))
    if sharing_request.deletion_confirmed_at:
        raise ApplicationError(_("The recipient's deletion is already recorded."))
    evidence = clean_reason(
        one_line(evidence),
        field="evidence",
        message=_(
            "Say where the recipient's confirmation is kept (letter, e-mail, ticket; at least "
            "%(min)s characters)."
        )
        % {"min": MIN_REASON_LENGTH},
    )
    if len(evidence) > DELETION_EVIDENCE_MAX:
        raise ApplicationError(
            _("The evidence is longer than %(max)s characters.") % {"max": DELETION_EVIDENCE_MAX},
            field="evidence",
        )
    sharing_request.deletion_confirmed_at = timezone.now()
    sharing_request.deletion_confirmed_by = actor
    sharing_request.deletion_evidence = evidence
    history_user_set(sharing_request, actor)
    sharing_request.save(
        update_fields=["deletion_confirmed_at", "deletion_confirmed_by", "deletion_evidence"]
    )
    audit_record(
        actor=actor,
        action=AuditAction.SHARING_REQUEST_DELETION_CONFIRMED,
        target=sharing_request,
        asset_id=sharing_request.asset_id,
        detail={"evidence": evidence},
    )
    notify(
        users=[sharing_request.requester],
        kind="sharing_deletion_confirmed",
        context={"sharing_request": sharing_request, "actor": actor},
        target=sharing_request,
    )
    return sharing_request


def sharing_deletion_remind(*, today: date | None = None) -> int:
    """Beat job: from the agreement's end, remind the requester once a day to obtain the
    recipient's deletion confirmation, until compliance records it. Running it twice in a
    day sends nothing more (a conditional claim on ``deletion_reminded_on``)."""
    today = today or timezone.localdate()
    due = SharingRequest.objects.filter(
        deletion_confirmation_required=True,
        deletion_confirmed_at__isnull=True,
        chain__status=ChainStatus.APPROVED,
        agreement_end__lte=today,
    ).filter(Q(deletion_reminded_on__isnull=True) | Q(deletion_reminded_on__lt=today))
    sent = 0
    for sharing_request in due.select_related("requester"):
        with transaction.atomic():
            claimed = (
                SharingRequest.objects.filter(
                    pk=sharing_request.pk, deletion_confirmed_at__isnull=True
                )
                .filter(Q(deletion_reminded_on__isnull=True) | Q(deletion_reminded_on__lt=today))
                .update(deletion_reminded_on=today)
            )
            if not claimed:
                continue
            notify(
                users=[sharing_request.requester],
                kind="sharing_deletion_due",
                context={"sharing_request": sharing_request},
                target=sharing_request,
            )
            sent += 1
    return sent
