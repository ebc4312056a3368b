"""Scheduled work catches up: a job that missed its period (beat down, a tick lost to the
broker) is queued by the catch-up job and does what was due, and a job without success in
twice its period is reported overdue."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from portal.audit import audit_record
from portal.models import ScheduledJobRun
from portal.scheduled_jobs import scheduled_jobs_catch_up, scheduled_jobs_overdue

pytestmark = pytest.mark.django_db


def all_jobs_ran(at):
    for name in settings.CELERY_BEAT_SCHEDULE:
        ScheduledJobRun.objects.update_or_create(
            name=name, defaults={"last_started_at": at, "last_success_at": at}
        )


def test_a_missed_day_of_the_audit_anchor_is_made_up_by_the_catch_up(compliance_officer):
    audit_record(actor=compliance_officer, action="records.view", detail={})
    yesterday = timezone.now()
    all_jobs_ran(yesterday)
    anchors = settings.AUDIT_ANCHOR_DIR

    # Beat was down over the daily tick: 25 hours later nothing has anchored today.
    with time_machine.travel(yesterday + timedelta(hours=25)):
        all_jobs_ran(timezone.now() - timedelta(seconds=10))  # the frequent ones kept running
        ScheduledJobRun.objects.filter(name="audit-anchor-daily").update(
            last_success_at=yesterday, last_started_at=yesterday
        )
        assert not anchors.exists() or not any(anchors.iterdir())
        queued = scheduled_jobs_catch_up()

        assert queued == ["audit-anchor-daily"]
        # The missing anchor, written now (beside the sealer's heads.log).
        assert len(list(anchors.glob("anchor-*.json"))) == 1
        run = ScheduledJobRun.objects.get(name="audit-anchor-daily")
        assert run.last_success_at > yesterday + timedelta(hours=24)
        # Caught up: the next catch-up queues nothing.
        assert scheduled_jobs_catch_up() == []


def test_jobs_that_never_ran_are_overdue_and_the_catch_up_runs_them_all():
    assert {job["name"] for job in scheduled_jobs_overdue()} == set(settings.CELERY_BEAT_SCHEDULE)
    scheduled_jobs_catch_up()  # a plain call here, so the catch-up itself is not recorded
    assert [job["name"] for job in scheduled_jobs_overdue()] == ["scheduled-jobs-catch-up"]
    assert ScheduledJobRun.objects.filter(last_success_at__isnull=False).count() == (
        len(settings.CELERY_BEAT_SCHEDULE) - 1
    )


def test_a_job_without_success_in_twice_its_period_is_overdue():
    now = timezone.now()
    all_jobs_ran(now)
    assert scheduled_jobs_overdue() == []
    with time_machine.travel(now + timedelta(hours=3)):
        overdue = {job["name"] for job in scheduled_jobs_overdue()}
    assert "incidents-duty-reminders" in overdue and "grants-remind-expiring" in overdue
    assert "audit-anchor-daily" not in overdue
