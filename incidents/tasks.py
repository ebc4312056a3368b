"""Beat jobs of incidents. Thin: each calls its service as the system (actor ``None``),
recorded in the audit trail on the ``task`` channel. The services are idempotent."""

from celery import shared_task

from incidents.services.alerts import alerts_evaluate
from incidents.services.escalation import (
    incident_duties_flag_overdue,
    incident_duties_remind,
    incidents_escalate_unacknowledged,
)
from portal.audit import audit_channel


@shared_task
def escalate_unacknowledged() -> int:
    with audit_channel("task"):
        return incidents_escalate_unacknowledged()


@shared_task
def send_duty_reminders() -> int:
    with audit_channel("task"):
        return incident_duties_remind()


@shared_task
def flag_overdue_duties() -> int:
    with audit_channel("task"):
        return incident_duties_flag_overdue()


@shared_task
def evaluate_misuse_signals() -> int:
    """Beat job, and queued after every refusal: alerts for the audit events since the
    last run (``incidents.services.alerts.alerts_evaluate``)."""
    return alerts_evaluate()
