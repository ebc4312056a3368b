"""Beat jobs of external sharing: thin wrappers that call the services as the system."""

from celery import shared_task

from consent import services
from portal.audit import audit_channel


@shared_task
def delete_expired_sharing_packages() -> int:
    """Delete the files of packages past their seven days (downloads already refuse them)."""
    with audit_channel("task"):
        return services.sharing_packages_delete_expired()


@shared_task
def remind_sharing_deletion_confirmation() -> int:
    """From the agreement end, remind requesters daily until compliance records deletion."""
    with audit_channel("task"):
        return services.sharing_deletion_remind()
