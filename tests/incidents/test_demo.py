from io import StringIO

import pytest
from django.core.management import call_command

from incidents.models import DutyState, Incident, Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    call_command("seed_demo", stdout=StringIO())


def test_demo_has_a_running_breach_a_fresh_report_by_carl_and_a_closed_one(demo):
    breach = Incident.objects.get(personal_data_breach=True)
    assert breach.status == Status.INVESTIGATING and breach.acknowledged_at is not None
    duty = breach.duties.get()
    assert duty.state == DutyState.OPEN and duty.due_at > breach.reported_at

    fresh = Incident.objects.get(status=Status.REPORTED)
    assert fresh.reporter.username == "carl" and fresh.confidential_reporter

    assert Incident.objects.filter(status=Status.CLOSED).count() == 1


def test_seeding_incidents_twice_adds_nothing(demo):
    before = list(Incident.objects.values_list("reference", "status"))

    call_command("seed_demo", stdout=StringIO())

    assert list(Incident.objects.values_list("reference", "status")) == before
