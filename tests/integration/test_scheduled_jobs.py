"""A beat tick lost to a stopped Redis is made up soon after Redis returns, not a whole
period later: real `celery beat` and `celery worker` processes against a Redis of the
test's own (stopped and started again; the shared Redis is never touched)."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from portal.models import ScheduledJobRun
from tests.integration.services import free_port, wait_for

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

PERIOD = 30  # seconds between ticks of the observed job
JOB = "incidents-escalate-unacknowledged"


def last_success():
    run = ScheduledJobRun.objects.filter(name=JOB).first()
    return run.last_success_at if run else None


def sleep_until(moment) -> None:
    time.sleep(max(0.0, (moment - timezone.now()).total_seconds()))


def test_a_tick_lost_to_a_stopped_redis_runs_within_seconds_after_redis_returns(
    own_redis, celery_processes
):
    celery_processes.smtp_port = free_port()
    env = {
        "REDIS_URL": own_redis.url,
        "INCIDENT_JOB_SECONDS": str(PERIOD),
        # Only beat's own ticks are observed: the catch-up job and the every-second sweep
        # are pushed out of the test's time.
        "SCHEDULED_JOBS_CATCH_UP_INTERVAL": "3600",
        "NOTIFICATION_SWEEP_INTERVAL": "3600",
    }
    celery_processes.worker(**env)
    celery_processes.beat(**env)
    first = wait_for(last_success, timeout=PERIOD + 30, what="the job's first tick")

    # Redis is down over the next tick (first + PERIOD), for 6 seconds.
    sleep_until(first + timedelta(seconds=PERIOD - 3))
    own_redis.stop()
    sleep_until(first + timedelta(seconds=PERIOD + 3))
    own_redis.start()
    back = timezone.now()

    made_up = wait_for(
        lambda: (last_success() or first) > first and last_success(),
        timeout=PERIOD + 10,
        what="the lost tick to run",
    )
    delay = (made_up - back).total_seconds()
    print(f"\nlost tick ran {delay:.1f}s after Redis returned (period {PERIOD}s)")
    # Beat counted a failed publish as run: the job waited for the next tick, PERIOD - 3 s
    # after Redis returned. Now it runs as soon as beat and the worker reconnect.
    assert delay < PERIOD / 2
