from io import StringIO

import pytest
from django.core.management import call_command

from consent.models import ConsentRecord, Purpose
from consent.selectors import coverage_for
from customers.models.catalogue import DataAsset

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    call_command("seed_demo", stdout=StringIO())


def coverage(asset_name: str, key: str, **kwargs):
    return coverage_for(
        DataAsset.objects.get(name=asset_name), Purpose.objects.get(key=key), **kwargs
    )


def test_demo_consents_show_the_seed_example(demo):
    email = coverage("Nordic retail customers", "marketing.communications.email")
    assert email.total == 1200
    assert 200 <= email.eligible < 300  # a quarter agreed, some of them withdrew since
    assert ConsentRecord.objects.filter(status="withdrawn").count() > 20
    assert coverage("Newsletter subscribers", "marketing.communications.email").eligible == 400
    assert coverage("Legacy import 2019", "marketing").eligible == 0
    sharing = coverage("Nordic retail customers", "third_party_sharing")
    assert 24 <= sharing.eligible <= 60
    assert set(ConsentRecord.objects.values_list("recorded_by__username", flat=True)) == {"olivia"}


def test_demo_consents_are_recorded_once(demo):
    records = ConsentRecord.objects.count()

    call_command("seed_demo", stdout=StringIO())

    assert ConsentRecord.objects.count() == records
