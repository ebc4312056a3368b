"""Recording consent: append-only records, who may record, bad input, audit."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib import admin
from django.utils import timezone

from consent.models import AppendOnlyError, ConsentRecord, ConsentState
from consent.services.records import consent_record
from portal.errors import ApplicationError, NotAllowed
from portal.models import AuditEvent
from tests.consent.conftest import at, purpose

pytestmark = pytest.mark.django_db

EMAIL = "marketing.communications.email"


@pytest.fixture
def customer(asset):
    return asset.customers.order_by("pk").first()


@pytest.fixture
def granted(customer, record):
    return record(customer, EMAIL, "granted", at(1))


def test_updating_a_consent_record_through_the_orm_raises(granted):
    granted.status = "withdrawn"
    with pytest.raises(AppendOnlyError):
        granted.save()
    with pytest.raises(AppendOnlyError):
        ConsentRecord.objects.filter(pk=granted.pk).update(status="withdrawn")
    with pytest.raises(AppendOnlyError):
        ConsentRecord.objects.bulk_update([granted], ["status"])
    assert ConsentRecord.objects.get(pk=granted.pk).status == "granted"


def test_deleting_a_consent_record_through_the_orm_raises(granted):
    with pytest.raises(AppendOnlyError):
        granted.delete()
    with pytest.raises(AppendOnlyError):
        ConsentRecord.objects.filter(pk=granted.pk).delete()
    with pytest.raises(AppendOnlyError):
        ConsentRecord.objects.all().delete()
    assert ConsentRecord.objects.filter(pk=granted.pk).exists()


def test_consent_records_are_not_in_the_admin():
    assert ConsentRecord not in admin.site._registry
    assert ConsentState not in admin.site._registry


def test_recording_writes_the_record_the_current_state_and_an_audit_event(
    customer, compliance_officer
):
    record = consent_record(
        actor=compliance_officer,
        customer=customer,
        purpose=purpose(EMAIL),
        status="granted",
        source="web_form",
        evidence="form-42",
        notice_version="2024-03",
        effective_at=at(3),
    )

    assert (record.recorded_by, record.effective_at, record.evidence) == (
        compliance_officer,
        at(3),
        "form-42",
    )
    state = ConsentState.objects.get(customer=customer, purpose__key=EMAIL)
    assert (state.status, state.record_id) == ("granted", record.pk)
    event = AuditEvent.objects.get(action="consent.record")
    assert event.actor == compliance_officer
    assert event.target_id == str(record.pk)
    assert event.detail["customer_id"] == customer.pk
    assert event.detail["purpose"] == EMAIL
    assert event.detail["status"] == "granted"


def test_effective_date_defaults_to_now(customer, compliance_officer):
    with time_machine.travel(at(30), tick=False):
        record = consent_record(
            actor=compliance_officer,
            customer=customer,
            purpose=purpose(EMAIL),
            status="withdrawn",
            source="phone",
        )
    assert record.effective_at == at(30)


def test_the_system_may_record_without_a_person(customer):
    record = consent_record(
        actor=None, customer=customer, purpose=purpose(EMAIL), status="granted", source="import"
    )
    assert record.recorded_by is None
    assert AuditEvent.objects.get(action="consent.record").actor_label == "system"


@pytest.mark.parametrize("who", ["requester", "owner", "legal_counsel"])
def test_only_compliance_can_record_consent(who, request, customer):
    actor = request.getfixturevalue(who)
    with pytest.raises(NotAllowed, match="Only a compliance officer can record consent"):
        consent_record(
            actor=actor, customer=customer, purpose=purpose(EMAIL), status="granted", source="phone"
        )
    assert not ConsentRecord.objects.exists()
    assert not AuditEvent.objects.filter(action="consent.record").exists()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"status": "maybe"}, "Bad status 'maybe'"),
        ({"source": "carrier pigeon"}, "Bad source"),
        ({"effective_at": "2024-13-45"}, "Bad date"),
        ({"effective_at": "yesterday"}, "Bad date"),
        ({"effective_at": timezone.now() + timedelta(days=1)}, "in the future"),
        ({"evidence": "x" * 501}, "longer than 500"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_nothing_is_written(
    change, message, customer, compliance_officer
):
    values = {"status": "granted", "source": "web_form", "evidence": "", **change}
    with pytest.raises(ApplicationError, match=message):
        consent_record(
            actor=compliance_officer, customer=customer, purpose=purpose(EMAIL), **values
        )
    assert not ConsentRecord.objects.exists()
    assert not ConsentState.objects.exists()


def test_the_same_statement_is_not_recorded_twice(granted, customer, record):
    with pytest.raises(ApplicationError, match="already recorded"):
        record(customer, EMAIL, "granted", at(1))
    assert ConsentRecord.objects.count() == 1
