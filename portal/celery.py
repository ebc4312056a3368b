"""The Celery application.

Without ``REDIS_URL`` tasks run eagerly, in-process (see ``CELERY_TASK_ALWAYS_EAGER`` in
settings), so the portal works on a bare machine; with it, a worker and beat take them.
"""

import os

from celery import Celery
from celery.signals import setup_logging, task_failure, task_prerun, task_success
from django_structlog.celery.steps import DjangoStructLogInitStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# One JSON line per task in the worker, with the request id of the request that queued it.
app.steps["worker"].add(DjangoStructLogInitStep)


@setup_logging.connect
def _json_logs(**kwargs):
    """Worker and beat log through the portal's ``LOGGING`` (JSON lines), not Celery's own
    plain-text handler."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


# Every beat job records its runs (portal.scheduled_jobs): one hook for the jobs of every
# app, so none can forget it.
@task_prerun.connect
def _scheduled_job_started(sender=None, **kwargs):
    from portal.scheduled_jobs import scheduled_job_record

    scheduled_job_record(task_name=sender.name, event="started")


@task_success.connect
def _scheduled_job_succeeded(sender=None, **kwargs):
    from portal.scheduled_jobs import scheduled_job_record

    scheduled_job_record(task_name=sender.name, event="succeeded")


@task_failure.connect
def _scheduled_job_failed(sender=None, exception=None, **kwargs):
    from portal.scheduled_jobs import scheduled_job_record

    scheduled_job_record(
        task_name=sender.name, event="failed", error=f"{type(exception).__name__}: {exception}"
    )
