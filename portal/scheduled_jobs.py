"""Scheduled work that catches up: a missed tick, a beat restart or a broker blip delays a
job, never skips it.

Three parts:

1. ``CatchUpScheduler`` (beat's scheduler, ``CELERY_BEAT_SCHEDULER``): celery beat counts a
   tick whose publish failed (Redis down) as run, so the job waited a whole period more (an
   hour for a reminder, a day for the audit anchor). Here a failed publish leaves the entry
   due, and beat tries again at its next tick (at most ``beat_max_interval`` later).
2. ``ScheduledJobRun`` rows, written by the worker around every task of
   ``CELERY_BEAT_SCHEDULE`` (Celery's task signals, connected in ``portal.celery``: the jobs
   live in every app, and one hook records them all the same way): when each job last
   started, last succeeded and its last error.
3. ``scheduled_jobs_catch_up`` (a beat job itself, every ``SCHEDULED_JOBS_CATCH_UP_INTERVAL``):
   queues every job that has not succeeded within its period (plus a grace), e.g. after beat
   was down past a tick or its schedule file was lost (a fresh beat waits a whole period
   before an interval job's first run).

Every job computes what is due from the database (grants past expiry, reminders not yet
recorded as sent, rows still pending ...), so running it late does everything due since its
last success, and running it twice does nothing twice.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery.beat import PersistentScheduler
from celery.utils.imports import symbol_by_name
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from portal.models import ScheduledJobRun

logger = logging.getLogger(__name__)

CATCH_UP_ENTRY = "scheduled-jobs-catch-up"


class CatchUpScheduler(PersistentScheduler):
    """celery beat's persistent scheduler, except that a tick whose message could not be
    published stays due (it is retried at the next tick) instead of counting as run."""

    def apply_entry(self, entry, producer=None):
        try:
            self.apply_async(entry, producer=producer, advance=False)
        except Exception as error:  # noqa: BLE001 - any publish failure: keep the tick due
            logger.warning(
                "Could not publish scheduled job %s (%s); it stays due and is retried.",
                entry.name,
                error,
            )
            # ``tick`` already advanced the entry (``reserve``); put the old one back and
            # rebuild the heap so it is due again now.
            self.schedule[entry.name] = entry
            self._heap = None
        else:
            logger.info("Scheduler: sent due task %s (%s)", entry.name, entry.task)


def _seconds(schedule) -> float:
    """The period of a beat entry's schedule in seconds (a number, a timedelta, or a Celery
    schedule with ``run_every``)."""
    if isinstance(schedule, int | float):
        return float(schedule)
    if isinstance(schedule, timedelta):
        return schedule.total_seconds()
    return schedule.run_every.total_seconds()


@dataclass(frozen=True)
class ScheduledJob:
    name: str  # the CELERY_BEAT_SCHEDULE key
    task: str
    period: timedelta
    options: dict


def scheduled_jobs() -> list[ScheduledJob]:
    """Every entry of ``CELERY_BEAT_SCHEDULE``, with its period."""
    return [
        ScheduledJob(
            name=name,
            task=entry["task"],
            period=timedelta(seconds=_seconds(entry["schedule"])),
            options=dict(entry.get("options", {})),
        )
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
    ]


def _job_of_task(task_name: str) -> ScheduledJob | None:
    return next((job for job in scheduled_jobs() if job.task == task_name), None)


def scheduled_job_record(*, task_name: str, event: str, error: str = "") -> None:
    """Record that a beat job ``started``, ``succeeded`` or ``failed`` (``error``: what
    failed). Tasks that are not beat jobs are ignored. A database that is down is logged,
    never raised: recording must not fail the job."""
    job = _job_of_task(task_name)
    if job is None:
        return
    now = timezone.now()
    fields = {
        "started": {"last_started_at": now},
        "succeeded": {"last_success_at": now, "last_error": ""},
        "failed": {"last_error": error[:2000]},
    }[event]
    try:
        updated = ScheduledJobRun.objects.filter(name=job.name).update(**fields)
        if not updated:
            ScheduledJobRun.objects.get_or_create(name=job.name, defaults=fields)
    except DatabaseError as db_error:
        logger.warning("Could not record that %s %s: %s", job.name, event, db_error)


def _last_runs() -> dict[str, ScheduledJobRun]:
    return {run.name: run for run in ScheduledJobRun.objects.all()}


def scheduled_jobs_overdue(*, now: datetime | None = None) -> list[dict]:
    """The health check of scheduled work: every beat job that has not succeeded within
    twice its period (one that never succeeded counts from the first time it started, or is
    overdue if it never started at all).

    Out: dicts with ``name``, ``period_seconds``, ``last_success_at``, ``last_started_at``,
    ``last_error``; an empty list when all is well.
    """
    now = now or timezone.now()
    runs = _last_runs()
    overdue = []
    for job in scheduled_jobs():
        run = runs.get(job.name)
        last = run and (run.last_success_at or run.last_started_at)
        if last is None or now - last > 2 * job.period:
            overdue.append(
                {
                    "name": job.name,
                    "period_seconds": int(job.period.total_seconds()),
                    "last_success_at": run.last_success_at if run else None,
                    "last_started_at": run.last_started_at if run else None,
                    "last_error": run.last_error if run else "",
                }
            )
    return overdue


def scheduled_jobs_catch_up(*, now: datetime | None = None) -> list[str]:
    """Queue every beat job whose last success is older than its period plus
    ``SCHEDULED_JOBS_CATCH_UP_GRACE`` seconds and that was not started within its period;
    returns their names.

    Its own start is recorded before it queues anything, so a job queued here and still
    waiting in the broker is not queued again by the next catch-up. A broker that is down
    raises (the task fails, the next catch-up tries again).
    """
    now = now or timezone.now()
    grace = timedelta(seconds=settings.SCHEDULED_JOBS_CATCH_UP_GRACE)
    runs = _last_runs()
    queued = []
    for job in scheduled_jobs():
        if job.name == CATCH_UP_ENTRY:
            continue
        run = runs.get(job.name)
        succeeded = run and run.last_success_at
        started = run and run.last_started_at
        if succeeded and now - succeeded <= job.period + grace:
            continue
        if started and now - started <= job.period:
            continue  # queued or running already: give it its period
        ScheduledJobRun.objects.update_or_create(name=job.name, defaults={"last_started_at": now})
        # The task itself, not send_task: eager mode (the local demo, tests) runs it here.
        symbol_by_name(job.task).apply_async(**job.options)
        queued.append(job.name)
    if queued:
        logger.warning("Scheduled jobs caught up (missed their period): %s", ", ".join(queued))
    return queued
