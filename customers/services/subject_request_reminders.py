"""Reminders of a data subject request's one-month deadline (GDPR Art. 12(3)): 7 and 2 days
before it to whoever registered it and the owners still to erase, and to every compliance
officer once it is overdue. The beat job ``subject_requests_remind`` sends each once."""

from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from customers.models.subject_requests import (
    DataSubjectRequest,
    ReminderKind,
    SubjectRequestReminder,
    SubjectRequestStatus,
)
from portal import roles
from portal.audit import audit_record
from portal.audit_actions import AuditAction
from portal.notifications import notify

REMINDER_DAYS: dict[str, int] = {ReminderKind.DUE_IN_7: 7, ReminderKind.DUE_IN_2: 2}


REMINDER_ACTIONS = {
    ReminderKind.DUE_IN_7: AuditAction.SUBJECT_REQUEST_DUE_IN_7,
    ReminderKind.DUE_IN_2: AuditAction.SUBJECT_REQUEST_DUE_IN_2,
    ReminderKind.OVERDUE: AuditAction.SUBJECT_REQUEST_OVERDUE,
}


def _reminder_due(subject_request: DataSubjectRequest, today: date) -> str | None:
    """The most urgent reminder the request has reached today, if any."""
    if today > subject_request.due_on:
        return ReminderKind.OVERDUE
    days_left = (subject_request.due_on - today).days
    for kind in (ReminderKind.DUE_IN_2, ReminderKind.DUE_IN_7):
        if days_left <= REMINDER_DAYS[kind]:
            return kind
    return None


def subject_requests_remind(*, today: date | None = None) -> int:
    """Beat job: remind 7 and 2 days before the due date, escalate to every compliance
    officer once overdue. Each (request, kind, due date) is sent once, recorded in
    ``SubjectRequestReminder`` under the request's lock; a job that ran late sends only the
    most urgent stage reached. Returns how many were sent."""
    today = today or timezone.localdate()
    horizon = today + timedelta(days=REMINDER_DAYS[ReminderKind.DUE_IN_7])
    due = DataSubjectRequest.objects.filter(
        status=SubjectRequestStatus.OPEN, due_on__lte=horizon
    ).values_list("pk", flat=True)
    sent = 0
    for pk in list(due):
        with transaction.atomic():
            subject_request = (
                DataSubjectRequest.objects.select_for_update().select_related("created_by")
            ).get(pk=pk)
            kind = _reminder_due(subject_request, today) if subject_request.is_open else None
            if (
                kind is None
                or subject_request.reminders.filter(
                    kind=kind, due_on=subject_request.due_on
                ).exists()
            ):
                continue
            SubjectRequestReminder.objects.create(
                request=subject_request,
                kind=kind,
                due_on=subject_request.due_on,
                sent_at=timezone.now(),
            )
            _send_reminder(subject_request, kind, today)
            sent += 1
    return sent


def _send_reminder(subject_request: DataSubjectRequest, kind: str, today: date) -> None:
    waiting_owners = [
        task.owner
        for task in subject_request.erasure_tasks.filter(confirmed_at__isnull=True).select_related(
            "owner"
        )
    ]
    if kind == ReminderKind.OVERDUE:
        users = [*roles.role_members(roles.COMPLIANCE), *waiting_owners]
    else:
        users = [subject_request.created_by, *waiting_owners]
    audit_record(
        actor=None,
        action=REMINDER_ACTIONS[ReminderKind(kind)],
        target=subject_request,
        detail={"due_on": subject_request.due_on},
    )
    notify(
        users=users,
        kind=f"subject_request_{kind}",
        context={
            "subject_request": subject_request,
            "waiting_owners": waiting_owners,
            "days": REMINDER_DAYS.get(kind),
            "days_late": (today - subject_request.due_on).days,
        },
        target=subject_request,
    )
