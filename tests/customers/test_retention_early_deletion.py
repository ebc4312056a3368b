"""Data is deleted at the end of its retention, not before: an owner cannot record the
deletion of an asset whose retention date is still ahead, nor bring the date forward to get
there; compliance may record an early deletion the law requires, with its reason."""

from datetime import date

import pytest
import time_machine
from django.urls import reverse

from customers.models.catalogue import AssetCustomer, DataAsset
from customers.services.retention import asset_retention_delete, asset_retention_extend
from portal.errors import ApplicationError
from portal.models import AuditEvent
from tests.factories import DataAssetFactory

pytestmark = pytest.mark.django_db

TODAY = date(2025, 6, 2)
REASON = "Dropped the table in the campaign tool."


@pytest.fixture
def kept_for_years(owner):
    return DataAssetFactory(
        owner=owner, name="Contracts", customers=3, retention_date=date(2031, 3, 3)
    )


def test_an_owner_cannot_record_the_deletion_of_an_asset_kept_for_years(
    client, owner, kept_for_years
):
    client.force_login(owner)

    with time_machine.travel(TODAY):
        response = client.post(
            reverse("customers:retention_delete", args=[kept_for_years.pk]),
            {"reason": REASON},
            follow=True,
        )

    assert "must be kept until 3 Mar 2031" in response.content.decode()
    kept_for_years.refresh_from_db()
    assert kept_for_years.retired_at is None
    assert AssetCustomer.objects.filter(asset=kept_for_years).count() == 3
    assert not AuditEvent.objects.filter(action="asset.retention_delete").exists()


def test_the_service_refuses_it_with_the_date_for_every_door(owner, kept_for_years):
    with (
        time_machine.travel(TODAY),
        pytest.raises(ApplicationError, match="must be kept until 3 Mar 2031"),
    ):
        asset_retention_delete(actor=owner, asset=kept_for_years, reason=REASON)


def test_on_its_retention_date_the_data_is_still_kept(owner, kept_for_years):
    with (
        time_machine.travel(date(2031, 3, 3)),
        pytest.raises(ApplicationError, match="must be kept until"),
    ):
        asset_retention_delete(actor=owner, asset=kept_for_years, reason=REASON)

    with time_machine.travel(date(2031, 3, 4)):
        asset_retention_delete(actor=owner, asset=kept_for_years, reason=REASON)
    assert DataAsset.objects.get(pk=kept_for_years.pk).retired_at is not None


def test_an_owner_cannot_bring_the_retention_date_forward(owner, kept_for_years):
    with (
        time_machine.travel(TODAY),
        pytest.raises(ApplicationError, match="Only compliance can shorten"),
    ):
        asset_retention_extend(
            actor=owner,
            asset=kept_for_years,
            retention_date=date(2025, 6, 3),
            reason="We do not need it any more.",
        )
    assert DataAsset.objects.get(pk=kept_for_years.pk).retention_date == date(2031, 3, 3)


def test_compliance_records_an_early_deletion_the_law_requires_and_it_is_marked_early(
    compliance_officer, kept_for_years
):
    with time_machine.travel(TODAY):
        asset_retention_delete(
            actor=compliance_officer,
            asset=kept_for_years,
            reason="The court ordered the deletion of these contracts (case 25-1234).",
        )

    assert DataAsset.objects.get(pk=kept_for_years.pk).retired_at is not None
    detail = AuditEvent.objects.get(action="asset.retention_delete").detail
    assert detail["early"] is True and detail["retention_date"] == "2031-03-03"


def test_an_asset_without_a_retention_date_may_be_deleted_by_its_owner(owner):
    asset = DataAssetFactory(owner=owner, name="Scratch list", customers=2)

    asset_retention_delete(actor=owner, asset=asset, reason=REASON)

    assert DataAsset.objects.get(pk=asset.pk).retired_at is not None
