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
