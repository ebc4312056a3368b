"""Data subject requests (GDPR Art. 15-21): received, extended (Art. 12(3)), answered, with erasure
tasks for each asset owner and reminders before the one-month deadline."""

from collections.abc import Iterable
from datetime import date

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.models import LawfulBasis, Purpose
from consent.services.records import consent_record
from customers import policies
from customers.models.catalogue import AssetCustomer, Customer, DataAsset
from customers.models.subject_requests import (
    ERASED_RESPONSE,
    DataSubjectRequest,
    ErasureTask,
    ReceivedVia,
    SubjectRequestStatus,
    SubjectRequestType,
)
from customers.selectors.footprint import access_report
from customers.selectors.subject_requests import subject_request_due_date
from customers.services.assets import memberships_remove
from portal import roles
from portal.audit import audit_record
from portal.audit_actions import AuditAction
from portal.errors import ApplicationError
from portal.history import history_user_set, save_with_history
from portal.input_limits import EARLIEST_EVENT, require_date_between
from portal.models import User
from portal.notifications import notify
from portal.reasons import MIN_REASON_LENGTH, clean_reason

MAX_EXTENSION_MONTHS = 2  # Art. 12(3): "extended by two further months" (three in total)


@transaction.atomic
def subject_request_create(
    *,
    actor: User,
    type: str,  # noqa: A002 - the GDPR word, and the API field
    customer: Customer,
    identity_verification: str,
    received_on: date | None = None,
    received_via: str = ReceivedVia.EMAIL,
    purposes: Iterable = (),
    notes: str = "",
) -> DataSubjectRequest:
    """Register a data subject request whose requester's identity has been verified.

    Guarantees: nothing is created without a description of the identity check (work
    must not start before it); the due date is one month after receipt; an erasure gets one
    task per owner of the assets holding the customer (each owner notified); an objection
    records, through the consent service, a withdrawal of each purpose objected to,
    effective at once in every grant and export, and is then answered.
    """
    roles.require_compliance(actor, _("register a data subject request"))
    identity_verification = _kind_and_identity_check(type, received_via, identity_verification)
    received_on = _received_on_check(received_on)
    purposes = _objected_purposes_check(type, purposes)

    now = timezone.now()
    subject_request = DataSubjectRequest(
        type=type,
        customer=customer,
        received_on=received_on,
        received_via=received_via,
        identity_verification=identity_verification,
        verified_by=actor,
        verified_at=now,
        due_on=subject_request_due_date(received_on),
        notes=(notes or "").strip(),
        created_by=actor,
    )
    history_user_set(subject_request, actor)
    subject_request.save()
    subject_request.purposes.set(purposes)
    _creation_audit(actor=actor, subject_request=subject_request, purposes=purposes)
    if type == SubjectRequestType.ERASURE:
        _erasure_tasks_create(subject_request=subject_request, actor=actor)
    elif type == SubjectRequestType.OBJECTION:
        _objection_apply(subject_request=subject_request, actor=actor, purposes=purposes)
    return subject_request


def _kind_and_identity_check(request_type: str, received_via: str, identity: str) -> str:
    """The request's type and channel known, and its identity check described (at least
    ``MIN_REASON_LENGTH`` characters); returns the description, trimmed. ``ApplicationError``
    on the field at fault otherwise."""
    if request_type not in SubjectRequestType.values:
        raise ApplicationError(
            _("Unknown request type %(type)s.") % {"type": repr(request_type)}, field="type"
        )
    if received_via not in ReceivedVia.values:
        raise ApplicationError(
            _("Unknown channel %(channel)s.") % {"channel": repr(received_via)},
            field="received_via",
        )
    return clean_reason(
        identity,
        field="identity_verification",
        message=_(
            "Say how the requester's identity was verified before any work starts "
            "(at least %(minimum)s characters, e.g. 'passport checked at the desk')."
        )
        % {"minimum": MIN_REASON_LENGTH},
    )


def _received_on_check(received_on: date | None) -> date:
    """The day the request was received (default: today), refused in the future or before
    ``EARLIEST_EVENT``."""
    today = timezone.localdate()
    received_on = received_on or today
    if received_on > today:
        raise ApplicationError(
            _("The request cannot be received in the future."), field="received_on"
        )
    require_date_between(
        received_on,
        field="received_on",
        earliest=EARLIEST_EVENT,
        latest=today,
        what=_("The day the request was received"),
    )
    return received_on


def _objected_purposes_check(request_type: str, purposes: Iterable[Purpose]) -> list[Purpose]:
    """The purposes of an objection: at least one, none resting on a contract or a legal
    obligation (Art. 21 does not reach them); other request types take none."""
    purposes = list(purposes)
    if request_type == SubjectRequestType.OBJECTION:
        if not purposes:
            raise ApplicationError(
                _("Name the purposes the customer objects to."), field="purposes"
            )
        for purpose in purposes:
            if purpose.lawful_basis in (LawfulBasis.CONTRACT, LawfulBasis.LEGAL_OBLIGATION):
                raise ApplicationError(
                    _(
                        "%(purpose)s rests on %(basis)s: an objection (Art. 21) covers consent, "
                        "legitimate interest and direct marketing only."
                    )
                    % {
                        "purpose": purpose.key,
                        "basis": LawfulBasis(purpose.lawful_basis).label.lower(),
                    },
                    field="purposes",
                )
    elif purposes:
        raise ApplicationError(_("Purposes are given with an objection only."), field="purposes")
    return purposes


def _creation_audit(
    *, actor: User, subject_request: DataSubjectRequest, purposes: list[Purpose]
) -> None:
    """The audit row of a new request: its type, customer, dates and objected purposes."""
    audit_record(
        actor=actor,
        action=AuditAction.SUBJECT_REQUEST_CREATE,
        target=subject_request,
        detail={
            "type": subject_request.type,
            "customer": subject_request.customer_id,
            "received_on": subject_request.received_on,
            "due_on": subject_request.due_on,
            "purposes": [purpose.key for purpose in purposes],
        },
    )


def _erasure_tasks_create(*, subject_request: DataSubjectRequest, actor: User) -> list[ErasureTask]:
    """One task per owner of an asset holding the customer and not yet given a task."""
    holding = (
        DataAsset.objects.filter(memberships__customer_id=subject_request.customer_id)
        .select_related("owner")
        .order_by("name")
    )
    have_task = set(subject_request.erasure_tasks.values_list("owner_id", flat=True))
    covered = set(
        ErasureTask.assets.through.objects.filter(erasuretask__request=subject_request).values_list(
            "dataasset_id", flat=True
        )
    )
    by_owner: dict[int, list[DataAsset]] = {}
    for asset in holding:
        if asset.pk not in covered:
            by_owner.setdefault(asset.owner_id, []).append(asset)
    created = []
    for owner_id, assets in by_owner.items():
        owner = assets[0].owner
        if owner_id in have_task:
            # The owner's task exists but the customer turned up in another of their
            # assets: the task covers it too, and is no longer confirmed.
            task = subject_request.erasure_tasks.select_for_update().get(owner_id=owner_id)
            task.confirmed_at = task.confirmed_by = None
            history_user_set(task, actor)
            task.save(update_fields=["confirmed_at", "confirmed_by"])
        else:
            task = ErasureTask(request=subject_request, owner=owner)
            history_user_set(task, actor)
            task.save()
        task.assets.add(*assets)
        created.append(task)
        names = ", ".join(asset.name for asset in assets)
        audit_record(
            actor=actor,
            action=AuditAction.ERASURE_TASK_CREATE,
            target=task,
            detail={"request": subject_request.pk, "owner": owner.get_username(), "assets": names},
        )
        notify(
            users=[owner],
            kind="erasure_task",
            context={"subject_request": subject_request, "names": names},
            link=reverse("customers:erasure_task_list"),
            target=task,
        )
    return created


def _objection_apply(
    *, subject_request: DataSubjectRequest, actor: User, purposes: Iterable[Purpose]
) -> None:
    for purpose in purposes:
        consent_record(
            actor=actor,
            customer=subject_request.customer,
            purpose=purpose,
            status="withdrawn",
            source=OBJECTION_SOURCE.get(subject_request.received_via, "email"),
            evidence=subject_request.reference,
        )
    _close(
        subject_request,
        actor=actor,
        # A stored text with values: written in the language active now.
        response=_("Withdrawal recorded for %(purposes)s.")
        % {"purposes": ", ".join(p.key for p in purposes)},
    )


# The consent record's source for each channel a request arrives by (letters and visits
# are recorded as e-mail: written, signed correspondence).
OBJECTION_SOURCE = {"web_form": "web_form", "phone": "phone"}


def _close(subject_request: DataSubjectRequest, *, actor: User | None, response: str) -> None:
    subject_request.status = SubjectRequestStatus.CLOSED
    subject_request.closed_at = timezone.now()
    subject_request.closed_by = actor if getattr(actor, "is_authenticated", False) else None
    subject_request.response = response
    history_user_set(subject_request, subject_request.closed_by)
    subject_request.save(update_fields=["status", "closed_at", "closed_by", "response"])
    audit_record(
        actor=actor,
        action=AuditAction.SUBJECT_REQUEST_CLOSE,
        target=subject_request,
        detail={"type": subject_request.type, "response": response},
    )


def _lock(subject_request: DataSubjectRequest) -> DataSubjectRequest:
    locked = DataSubjectRequest.objects.select_for_update().get(pk=subject_request.pk)
    if not locked.is_open:
        raise ApplicationError(
            _("%(reference)s is already closed.") % {"reference": locked.reference}
        )
    return locked


@transaction.atomic
def subject_request_extend(
    *, actor: User, subject_request: DataSubjectRequest, months: int, reason: str
) -> DataSubjectRequest:
    """Extend the deadline by one or two months, with the reason the customer is told
    (Art. 12(3): complexity or number of requests); never beyond three months in total."""
    roles.require_compliance(actor, _("extend a data subject request"))
    reason = clean_reason(
        reason,
        field="reason",
        message=_("Give the reason for the extension (the customer must be told why)."),
    )
    subject_request = _lock(subject_request)
    if not isinstance(months, int) or months < 1:
        raise ApplicationError(_("Extend by one or two months."), field="months")
    total = subject_request.extension_months + months
    if total > MAX_EXTENSION_MONTHS:
        raise ApplicationError(
            _(
                "A request may be extended by two months at most (three months in total); "
                "%(used)s already used."
            )
            % {"used": subject_request.extension_months},
            field="months",
        )
    before = subject_request.due_on
    subject_request.extension_months = total
    subject_request.due_on = subject_request_due_date(subject_request.received_on, total)
    subject_request.extension_reason = "\n".join(
        filter(None, [subject_request.extension_reason, reason])
    )
    save_with_history(
        subject_request,
        actor=actor,
        reason=reason,
        update_fields=["extension_months", "due_on", "extension_reason"],
    )
    audit_record(
        actor=actor,
        action=AuditAction.SUBJECT_REQUEST_EXTEND,
        target=subject_request,
        detail={"from": before, "to": subject_request.due_on, "reason": reason},
    )
    return subject_request


@transaction.atomic
def subject_request_close(
    *, actor: User, subject_request: DataSubjectRequest, response: str
) -> DataSubjectRequest:
    """Answer a request. An access request needs its report produced first; an erasure
    closes only when every owner has confirmed (and then removes the customer from every
    asset in the portal); objections are answered when registered."""
    roles.require_compliance(actor, _("close a data subject request"))
    response = clean_reason(
        response, field="response", message=_("Say what the customer was told (a sentence).")
    )
    subject_request = _lock(subject_request)
    if subject_request.type == SubjectRequestType.ACCESS and not (
        subject_request.report_generated_at
    ):
        raise ApplicationError(_("Produce the access report before answering the request."))
    if subject_request.type == SubjectRequestType.ERASURE:
        pending = _waiting_owners(subject_request)
        if pending:
            raise ApplicationError(
                _("Waiting for the owners to confirm the erasure: %(owners)s.")
                % {"owners": ", ".join(str(owner) for owner in pending)}
            )
        _erasure_try_finish(subject_request, actor=actor, response=response)
        return subject_request
    _close(subject_request, actor=actor, response=response)
    return subject_request


def _waiting_owners(subject_request: DataSubjectRequest) -> list:
    return [
        task.owner
        for task in subject_request.erasure_tasks.filter(confirmed_at__isnull=True)
        .select_related("owner")
        .order_by("id")
    ]


def _erasure_try_finish(subject_request: DataSubjectRequest, *, actor: User, response: str) -> bool:
    """Close an erasure whose tasks are all confirmed: the customer is removed from every
    asset in the portal. The caller holds the request's lock. Returns whether it closed.

    The customer may have been added to another asset since the tasks were made: its owner
    gets a task (or their task reopens) and the request stays open.
    """
    if _erasure_tasks_create(subject_request=subject_request, actor=actor):
        return False
    removed = memberships_remove(
        memberships=AssetCustomer.objects.filter(customer_id=subject_request.customer_id),
        actor=actor,
        reason=_("Erasure %(reference)s") % {"reference": subject_request.reference},
    )
    audit_record(
        actor=actor,
        action=AuditAction.SUBJECT_REQUEST_ERASE,
        target=subject_request,
        detail={"customer": subject_request.customer_id, "memberships_removed": removed},
    )
    _close(subject_request, actor=actor, response=response)
    return True


@transaction.atomic
def erasure_task_confirm(*, actor: User, task: ErasureTask, note: str = "") -> ErasureTask:
    """The task's owner confirms the customer is deleted from their source systems. The
    last confirmation closes the request and removes the customer from the portal's assets."""
    task = ErasureTask.objects.select_for_update().select_related("request").get(pk=task.pk)
    policies.require_may_confirm_erasure(actor, task)
    subject_request = _lock(task.request)
    if task.confirmed_at:
        raise ApplicationError(_("You already confirmed this erasure."))
    task.confirmed_at, task.confirmed_by, task.note = timezone.now(), actor, (note or "").strip()
    history_user_set(task, actor)
    task.save(update_fields=["confirmed_at", "confirmed_by", "note"])
    audit_record(
        actor=actor,
        action=AuditAction.ERASURE_TASK_CONFIRM,
        target=task,
        detail={"request": subject_request.pk, "note": task.note},
    )
    if not _waiting_owners(subject_request) and _erasure_try_finish(
        subject_request,
        actor=actor,
        response=ERASED_RESPONSE,
    ):
        notify(
            users=[subject_request.created_by],
            kind="subject_request_closed",
            context={"subject_request": subject_request},
            target=subject_request,
        )
    task.request = subject_request
    return task


@transaction.atomic
def subject_request_report(*, actor: User, subject_request: DataSubjectRequest) -> dict:
    """Produce the access report (everything the portal holds about the customer) and
    record that it was produced and by whom."""
    roles.require_compliance(actor, _("produce an access report"))
    subject_request = DataSubjectRequest.objects.select_for_update().get(pk=subject_request.pk)
    report = access_report(subject_request.customer)
    if subject_request.report_generated_at is None:
        subject_request.report_generated_at = timezone.now()
        history_user_set(subject_request, actor)
        subject_request.save(update_fields=["report_generated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.SUBJECT_REQUEST_REPORT,
        target=subject_request,
        detail={
            "customer": subject_request.customer_id,
            "assets": len(report["assets"]),
            "exports": len(report["exports"]),
        },
    )
    return report
