"""The Celery application.

Without ``REDIS_URL`` tasks run eagerly, in-process (see ``CELERY_TASK_ALWAYS_EAGER`` in
settings), so the portal works on a bare machine; with it, a worker and beat take them.
"""

import functools
import os

import redis
from celery import Celery
from celery.signals import setup_logging, task_failure, task_prerun, task_success
from django_structlog.celery.steps import DjangoStructLogInitStep
from kombu.transport.redis import Channel as RedisChannel

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# One JSON line per task in the worker, with the request id of the request that queued it.
app.steps["worker"].add(DjangoStructLogInitStep)


def _lost_connection_is_a_connection_error(connparams):
    """kombu's Redis ``Channel._connparams``, except that a channel whose connection was
    already torn down raises the connection error that kombu and Celery handle
    (``redis.exceptions.ConnectionError``) instead of ``AttributeError``.

    When Redis goes away while a task is running, the worker closes its connection and,
    on the way, gives the task's unacknowledged message back (``restore_unacked``) or
    acknowledges it, on a channel whose transport no longer knows its connection: kombu
    then asked ``None`` for a hostname. The ``AttributeError`` is not among the errors
    Celery expects there, so the worker stopped ("Unrecoverable error") and never ran a
    job again after Redis returned. As a connection error it is logged, the worker
    reconnects, and Redis hands the message out again after the visibility timeout
    (every task here is safe to run twice)."""

    @functools.wraps(connparams)
    def live_connparams(self, asynchronous=False):
        if getattr(self.connection, "client", None) is None:
            # i18n: not shown (the worker's log, read by operators)
            raise redis.exceptions.ConnectionError("The connection to Redis was closed.")
        return connparams(self, asynchronous=asynchronous)

    return live_connparams


RedisChannel._connparams = _lost_connection_is_a_connection_error(RedisChannel._connparams)


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
