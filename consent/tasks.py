"""Celery tasks of consent: thin wrappers that call the services as the system (beat jobs of
external sharing, long consent imports)."""

from celery import shared_task
from django.conf import settings

from consent.coverage_cache import coverage_figures_recount, coverage_figures_warm
from consent.services.import_jobs import import_job_run, import_jobs_abandoned_fail
from consent.services.packages import sharing_packages_delete_expired
from consent.services.recipient_deletion import sharing_deletion_remind
from portal.audit import audit_channel


@shared_task
def delete_expired_sharing_packages() -> int:
    """Delete the files of packages past their seven days (downloads already refuse them)."""
    with audit_channel("task"):
        return sharing_packages_delete_expired()


@shared_task
def remind_sharing_deletion_confirmation() -> int:
    """From the agreement end, remind requesters daily until compliance records deletion."""
    with audit_channel("task"):
        return sharing_deletion_remind()


@shared_task(
    time_limit=settings.CONSENT_IMPORT_TIME_LIMIT,
    soft_time_limit=max(1, settings.CONSENT_IMPORT_TIME_LIMIT - 30),
)
def run_consent_import_job(job_id: int) -> str | None:
    """Import one uploaded consent file (a long one: short files are imported in the
    request). Returns the job's status; a job already finished is left alone. The reasons
    of bad rows are written in the language of the person who uploaded the file
    (``import_job_run``)."""
    with audit_channel("task"):
        job = import_job_run(job_id=job_id)
    return job.status if job else None


@shared_task
def fail_abandoned_consent_import_jobs() -> int:
    """Mark import jobs whose worker died (hard time limit, lost message) failed and empty
    their files; returns how many."""
    with audit_channel("task"):
        return import_jobs_abandoned_fail()


@shared_task
def recount_coverage_figures() -> int:
    """Recount the kept coverage figures a change put out of date (queued by
    ``consent.coverage_cache.coverage_changed`` once the change has committed)."""
    return coverage_figures_recount()


@shared_task
def warm_coverage_figures() -> int:
    """Count the coverage figures of large assets nobody has looked at yet (a new large
    asset, a new grant's purpose), so their first view reads a kept figure."""
    return coverage_figures_warm()
