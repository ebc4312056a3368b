"""The cast of the incident tests: carl reports, alice is another employee, Cora
(compliance), Conrad (compliance) and Lars (legal) receive and work the reports."""

from datetime import UTC, datetime

import pytest
import time_machine

from incidents.services.reports import incident_report
from tests.factories import UserFactory

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def carl(db):
    return UserFactory(username="carl", first_name="Carl", last_name="Christensen")


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", first_name="Alice", last_name="Andersen")


@pytest.fixture
def responders(compliance_officer, second_compliance_officer, legal_counsel):
    return [compliance_officer, second_compliance_officer, legal_counsel]


@pytest.fixture
def frozen():
    """Time stands still at T0 until the test moves it with ``frozen.move_to``."""
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def report(carl, responders, django_capture_on_commit_callbacks):
    """``report(**fields)``: carl files a report; notifications are delivered."""

    def make(reporter=None, **fields):
        fields.setdefault("title", "Customer list on a shared drive")
        fields.setdefault("description", "A spreadsheet with customer phone numbers.")
        with django_capture_on_commit_callbacks(execute=True):
            return incident_report(actor=reporter or carl, **fields)

    return make


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    """``deliver(fn, **kwargs)``: call a service and run what it queued on commit."""

    def call(fn, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(**kwargs)

    return call
