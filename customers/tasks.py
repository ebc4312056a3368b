"""Beat jobs of access grants: thin wrappers that call the services as the system."""

from celery import shared_task

from customers import services
from portal.audit import audit_channel


@shared_task
def expire_grants() -> int:
    """Close grants past their expiry (reads already refuse them; this removes permissions)."""
    with audit_channel("task"):
        return services.grants_expire()


@shared_task
def remind_expiring_grants() -> int:
    with audit_channel("task"):
        return services.grants_remind_expiring()


@shared_task
def remind_subject_request_deadlines() -> int:
    """Reminders 7 and 2 days before a data subject request is due; escalation once overdue."""
    with audit_channel("task"):
        return services.subject_requests_remind()


@shared_task
def remind_retention_owners() -> int:
    """Weekly reminders to the owners of assets past their retention date."""
    with audit_channel("task"):
        return services.retention_remind()
