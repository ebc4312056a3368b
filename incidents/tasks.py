"""Beat jobs of incidents. Thin: each calls its service as the system (actor ``None``),
recorded in the audit trail on the ``task`` channel. The services are idempotent."""

from celery import shared_task

from incidents import services
from portal.audit import audit_channel


@shared_task
def escalate_unacknowledged() -> int:
    with audit_channel("task"):
        return services.incidents_escalate_unacknowledged()


@shared_task
def send_duty_reminders() -> int:
    with audit_channel("task"):
        return services.incident_duties_remind()


@shared_task
def flag_overdue_duties() -> int:
    with audit_channel("task"):
        return services.incident_duties_flag_overdue()
