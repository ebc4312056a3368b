"""Retention: assets past their date are listed for compliance, owners reminded weekly."""

from datetime import date, timedelta

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from customers import tasks
from customers.models.catalogue import AssetCustomer, DataAsset
from customers.selectors.retention import assets_past_retention
from customers.services.retention import asset_retention_extend, retention_remind
from portal.errors import ApplicationError
from portal.models import AuditEvent, Notification
from tests.factories import DataAssetFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = date(2025, 6, 2)


@pytest.fixture
def expired(owner):
    return DataAssetFactory(
        owner=owner, name="Old campaign", customers=3, retention_date=date(2025, 5, 31)
    )


@pytest.fixture
def other_owner_expired(db):
    return DataAssetFactory(
        owner=UserFactory(username="own2"), name="Old events", retention_date=date(2025, 1, 1)
    )


def test_assets_past_their_retention_date_are_listed_until_deleted_or_extended(
    owner, expired, other_owner_expired
):
    DataAssetFactory(owner=owner, name="Current", retention_date=date(2026, 1, 1))
    DataAssetFactory(owner=owner, name="Forever")
    DataAssetFactory(owner=owner, name="Due today", retention_date=TODAY)
    with time_machine.travel(TODAY):
        assert [a.name for a in assets_past_retention()] == ["Old events", "Old campaign"]


def test_owners_are_reminded_weekly_and_never_twice_in_a_week(owner, expired):
    sent = {}
    for offset in range(0, 15):
        day = TODAY + timedelta(days=offset)
        with time_machine.travel(day):
            sent[offset] = tasks.remind_retention_owners.delay().get()
            assert tasks.remind_retention_owners.delay().get() == 0

    assert [offset for offset, n in sent.items() if n] == [0, 7, 14]
    reminders = Notification.objects.filter(kind="retention_past")
    assert reminders.count() == 3 and {n.recipient for n in reminders} == {owner}


def test_a_new_date_with_a_reason_stops_the_reminders_and_is_in_history_and_audit(
    client, owner, expired
):
    client.force_login(owner)
    with time_machine.travel(TODAY):
        missing = client.post(
            reverse("customers:retention_extend", args=[expired.pk]),
            {"retention_date": "2026-06-01", "reason": ""},
        )
        expired.refresh_from_db()
        assert missing.status_code == 302 and expired.retention_date == date(2025, 5, 31)

        response = client.post(
            reverse("customers:retention_extend", args=[expired.pk]),
            {"retention_date": "2026-06-01", "reason": "Open warranty claims until 2026."},
        )
        assert response.status_code == 302
        assert retention_remind() == 0
        assert list(assets_past_retention()) == []

    expired.refresh_from_db()
    assert expired.retention_date == date(2026, 6, 1)
    latest = expired.history.order_by("-history_id").first()
    assert latest.history_change_reason == "Open warranty claims until 2026."
    event = AuditEvent.objects.get(action="asset.retention_change")
    assert event.detail["reason"] == "Open warranty claims until 2026."


def test_a_new_date_in_the_past_is_refused(owner, expired):
    with time_machine.travel(TODAY), pytest.raises(ApplicationError, match="future"):
        asset_retention_extend(
            actor=owner, asset=expired, retention_date=TODAY, reason="Keep it for a while."
        )


def test_recording_the_deletion_removes_its_customers_and_stops_the_reminders(
    client, owner, expired
):
    client.force_login(owner)
    with time_machine.travel(TODAY):
        client.post(
            reverse("customers:retention_delete", args=[expired.pk]),
            {"reason": "Dropped the table in the campaign tool."},
        )
        assert retention_remind() == 0

    expired.refresh_from_db()
    assert expired.retired_at is not None and expired.retired_by == owner
    assert not AssetCustomer.objects.filter(asset=expired).exists()
    assert expired.customer_count == 0
    assert AssetCustomer.history.filter(asset_id=expired.pk, history_type="-").count() == 3
    assert AuditEvent.objects.get(action="asset.retention_delete").detail["removed"] == 3


def test_only_the_owner_or_compliance_records_retention(
    client, owner, outsider, compliance_officer, expired
):
    client.force_login(outsider)
    url = reverse("customers:retention_delete", args=[expired.pk])
    assert client.post(url, {"reason": "Deleted it all, trust me."}).status_code == 403
    assert DataAsset.objects.get(pk=expired.pk).retired_at is None

    client.force_login(compliance_officer)
    with time_machine.travel(TODAY):
        response = client.post(
            reverse("customers:retention_extend", args=[expired.pk]),
            {"retention_date": "2026-01-01", "reason": "Tax audit runs until the end of 2025."},
        )
    assert response.status_code == 302
    assert DataAsset.objects.get(pk=expired.pk).retention_date == date(2026, 1, 1)


def test_retention_page_shows_compliance_everything_and_an_owner_their_own(
    client, owner, compliance_officer, outsider, expired, other_owner_expired
):
    with time_machine.travel(TODAY):
        client.force_login(compliance_officer)
        every = client.get(reverse("customers:retention_list")).context["page"].object_list
        client.force_login(owner)
        own = client.get(reverse("customers:retention_list")).context["page"].object_list
        client.force_login(outsider)
        none = client.get(reverse("customers:retention_list")).context["page"].object_list
    assert [a.name for a in every] == ["Old events", "Old campaign"]
    assert [a.name for a in own] == ["Old campaign"]
    assert list(none) == []


@pytest.mark.parametrize("count", [3, 30])
def test_retention_page_runs_constant_queries(
    client, owner, compliance_officer, count, django_assert_max_num_queries
):
    for n in range(count):
        DataAssetFactory(owner=owner, name=f"Old {n}", customers=1, retention_date=date(2025, 1, 1))
    client.force_login(compliance_officer)
    with time_machine.travel(TODAY), django_assert_max_num_queries(8):
        page = client.get(reverse("customers:retention_list"))
    assert page.context["page"].paginator.count == count


def test_beat_runs_the_deadline_and_retention_jobs():
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {
        "customers.tasks.remind_subject_request_deadlines",
        "customers.tasks.remind_retention_owners",
    } <= scheduled
