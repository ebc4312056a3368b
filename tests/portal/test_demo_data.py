from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory

from customers.models.catalogue import Customer, DataAsset
from portal import roles
from portal.models import User

pytestmark = pytest.mark.django_db

EXPECTED_ASSETS = {
    # name: (classification, confirmed, customers)
    "Nordic retail customers": ("confidential", True, 1200),
    "Newsletter subscribers": ("internal", True, 400),
    "Key accounts": ("restricted", True, 50),
    "Legacy import 2019": ("confidential", False, 800),
}


@pytest.fixture
def demo(db):
    call_command("seed_demo", stdout=StringIO())


def test_demo_users_and_roles(demo):
    for username in ["alice", "carl", "bob", "olivia", "lena", "admin"]:
        # With a request, as every login door passes one (django-axes requires it).
        request = RequestFactory().post("/accounts/login/")
        assert authenticate(request, username=username, password="demo") is not None, username
    assert roles.is_compliance(User.objects.get(username="olivia"))
    assert roles.is_legal(User.objects.get(username="lena"))
    assert not roles.is_compliance_or_legal(User.objects.get(username="alice"))
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and not roles.is_compliance_or_legal(admin)


def test_demo_assets_are_as_the_contract_says(demo):
    for name, (classification, confirmed, count) in EXPECTED_ASSETS.items():
        asset = DataAsset.objects.get(name=name)
        assert asset.owner.username == "bob"
        assert (asset.classification, asset.classification_confirmed) == (
            classification,
            confirmed,
        )
        assert asset.customers.count() == count
    nordic = DataAsset.objects.get(name="Nordic retail customers")
    assert set(nordic.data_categories.values_list("key", flat=True)) == {
        "user.contact.email",
        "user.name",
        "user.contact.phone_number",
    }
    assert list(nordic.collected_for.values_list("key", flat=True)) == ["essential.service"]


def test_seed_demo_is_idempotent_and_deterministic(demo):
    emails = list(Customer.objects.order_by("email").values_list("email", "name")[:20])
    histories = DataAsset.history.count()

    call_command("seed_demo", stdout=StringIO())

    assert Customer.objects.count() == 2450 + 30  # + Event attendees 2024 (a second owner)
    assert list(Customer.objects.order_by("email").values_list("email", "name")[:20]) == emails
    assert DataAsset.history.count() == histories


def test_every_role_has_something_waiting_on_first_login(demo):
    from customers.models.access import AccessGrant
    from customers.selectors.access import access_requests_waiting_for

    bob, olivia, carl = (User.objects.get(username=n) for n in ("bob", "olivia", "carl"))

    assert access_requests_waiting_for(bob).count() == 1
    assert access_requests_waiting_for(olivia).count() == 1
    grant = AccessGrant.objects.get(user=carl)
    assert grant.is_active() and carl.has_perm("customers.view_records", grant.asset)

    call_command("seed_demo", stdout=StringIO())
    assert access_requests_waiting_for(bob).count() == 1
    assert AccessGrant.objects.count() == 1


def test_demo_has_an_open_erasure_half_confirmed_and_an_answered_access_request(demo):
    from customers.models.subject_requests import DataSubjectRequest

    erasure = DataSubjectRequest.objects.get(type="erasure")
    assert erasure.status == "open"
    assert {(t.owner.username, t.is_confirmed) for t in erasure.erasure_tasks.all()} == {
        ("bob", True),
        ("dora", False),
    }
    access = DataSubjectRequest.objects.get(type="access")
    assert access.status == "closed" and access.report_generated_at is not None
    request = RequestFactory().post("/accounts/login/")
    assert authenticate(request, username="dora", password="demo") is not None

    call_command("seed_demo", stdout=StringIO())
    assert DataSubjectRequest.objects.count() == 2
