"""Beat jobs of access grants: thin wrappers that call the services as the system."""

from celery import shared_task

from customers.services.access_reviews import reviews_close_due, reviews_remind
from customers.services.grants import grants_expire, grants_remind_expiring
from customers.services.retention import retention_remind
from customers.services.subject_request_reminders import subject_requests_remind
from portal.audit import audit_channel


@shared_task
def expire_grants() -> int:
    """Close grants past their expiry (reads already refuse them; this removes permissions)."""
    with audit_channel("task"):
        return grants_expire()


@shared_task
def remind_expiring_grants() -> int:
    with audit_channel("task"):
        return grants_remind_expiring()


@shared_task
def remind_subject_request_deadlines() -> int:
    """Reminders 7 and 2 days before a data subject request is due; escalation once overdue."""
    with audit_channel("task"):
        return subject_requests_remind()


@shared_task
def remind_retention_owners() -> int:
    """Weekly reminders to the owners of assets past their retention date."""
    with audit_channel("task"):
        return retention_remind()


@shared_task
def run_access_reviews() -> dict[str, int]:
    """Close the access reviews past their due date, then send the due reminders."""
    with audit_channel("task"):
        return {"closed": reviews_close_due(), "reminded": reviews_remind()}
