from datetime import timedelta

import pytest
import time_machine
from django.conf import settings

from customers import tasks
from portal.models import AuditEvent
from tests.customers.test_grants import approved_grant

pytestmark = pytest.mark.django_db


def test_beat_runs_the_grant_jobs():
    tasks_scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"customers.tasks.expire_grants", "customers.tasks.remind_expiring_grants"} <= (
        tasks_scheduled
    )


def test_expiry_task_closes_expired_grants_as_the_system(
    requester, compliance_officer, confidential_asset, email_marketing
):
    grant = approved_grant(requester, confidential_asset, email_marketing)

    with time_machine.travel(grant.expires_at + timedelta(seconds=1)):
        assert tasks.expire_grants.delay().get() == 1
        assert tasks.remind_expiring_grants.delay().get() == 0

    event = AuditEvent.objects.get(action="grant.expire")
    assert (event.actor, event.channel) == (None, "task")
