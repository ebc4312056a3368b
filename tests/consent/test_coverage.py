"""The single definition of "eligible": hierarchy, withdrawals, lawful bases."""

import pytest

from consent.selectors import coverage_for, eligible_customers
from customers.models.catalogue import AssetCustomer
from customers.services.assets import asset_add_customers, memberships_remove
from tests.consent.conftest import at, purpose
from tests.factories import CustomerFactory, DataAssetFactory

pytestmark = pytest.mark.django_db

EMAIL = "marketing.communications.email"


def eligible_ids(asset, key, **kwargs) -> set[int]:
    return set(eligible_customers(asset, purpose(key), **kwargs).values_list("pk", flat=True))


@pytest.fixture
def customers(asset):
    return list(asset.customers.order_by("pk"))


def test_consent_to_a_parent_covers_the_child(asset, customers, record):
    record(customers[0], "marketing", "granted", at(1))

    assert eligible_ids(asset, EMAIL) == {customers[0].pk}
    assert eligible_ids(asset, "marketing.communications") == {customers[0].pk}


def test_consent_to_a_child_never_covers_the_parent_or_a_sibling(asset, customers, record):
    record(customers[0], EMAIL, "granted", at(1))

    assert eligible_ids(asset, EMAIL) == {customers[0].pk}
    assert eligible_ids(asset, "marketing") == set()
    assert eligible_ids(asset, "marketing.communications.sms") == set()


def test_withdrawal_after_grant_makes_the_customer_ineligible_at_once(asset, customers, record):
    record(customers[0], EMAIL, "granted", at(1))
    assert coverage_for(asset, purpose(EMAIL)).eligible == 1

    record(customers[0], EMAIL, "withdrawn", at(2))

    assert coverage_for(asset, purpose(EMAIL)).eligible == 0
    assert eligible_ids(asset, EMAIL) == set()


def test_grant_after_withdrawal_makes_the_customer_eligible_again(asset, customers, record):
    record(customers[0], EMAIL, "granted", at(1))
    record(customers[0], EMAIL, "withdrawn", at(2))

    record(customers[0], EMAIL, "granted", at(3))

    assert eligible_ids(asset, EMAIL) == {customers[0].pk}


def test_parent_granted_then_child_withdrawn_leaves_the_child_withdrawn(asset, customers, record):
    record(customers[0], "marketing", "granted", at(1))
    record(customers[0], EMAIL, "withdrawn", at(2))

    assert eligible_ids(asset, EMAIL) == set()
    assert eligible_ids(asset, "marketing.communications.sms") == {customers[0].pk}
    assert eligible_ids(asset, "marketing") == {customers[0].pk}


def test_later_withdrawal_of_the_parent_wins_over_an_earlier_grant_of_the_child(
    asset, customers, record
):
    record(customers[0], EMAIL, "granted", at(1))
    record(customers[0], "marketing", "withdrawn", at(2))

    assert eligible_ids(asset, EMAIL) == set()


def test_later_grant_of_the_parent_wins_over_an_earlier_withdrawal_of_the_child(
    asset, customers, record
):
    record(customers[0], EMAIL, "withdrawn", at(1))
    record(customers[0], "marketing", "granted", at(2))

    assert eligible_ids(asset, EMAIL) == {customers[0].pk}


def test_on_a_tie_the_withdrawal_wins(asset, customers, record):
    record(customers[0], "marketing", "granted", at(1))
    record(customers[0], EMAIL, "withdrawn", at(1))
    record(customers[1], EMAIL, "granted", at(1))
    record(customers[1], EMAIL, "withdrawn", at(1))

    assert eligible_ids(asset, EMAIL) == set()


def test_a_record_entered_late_with_an_earlier_date_does_not_override_a_later_one(
    asset, customers, record
):
    record(customers[0], EMAIL, "withdrawn", at(5))
    record(customers[0], EMAIL, "granted", at(1))  # paper form found afterwards

    assert eligible_ids(asset, EMAIL) == set()


def test_coverage_counts_only_the_customers_of_the_asset(owner, asset, customers, record):
    other_asset = DataAssetFactory(owner=owner, customers=3)
    record(customers[0], EMAIL, "granted", at(1))
    record(other_asset.customers.first(), EMAIL, "granted", at(1))

    coverage = coverage_for(asset, purpose(EMAIL))

    assert (coverage.eligible, coverage.total) == (1, 5)
    assert coverage.sentence == f"1 of 5 customers agreed to {EMAIL}"


def test_contract_purpose_covers_everyone_in_an_asset_collected_for_it_or_its_parent(owner, record):
    collected = DataAssetFactory(owner=owner, customers=3, collected_for=["essential"])
    not_collected = DataAssetFactory(owner=owner, customers=3)
    somebody = not_collected.customers.first()
    record(somebody, "essential.service", "granted", at(1))
    record(collected.customers.first(), "essential.service", "withdrawn", at(2))

    # A withdrawal does not end processing that a contract requires.
    assert coverage_for(collected, purpose("essential.service")).eligible == 3
    assert eligible_ids(not_collected, "essential.service") == {somebody.pk}
    sentence = coverage_for(collected, purpose("essential.service")).sentence
    assert sentence == "3 of 3 customers may be used for essential.service (lawful basis: contract)"


def test_collection_for_a_child_does_not_cover_the_parent(owner):
    asset = DataAssetFactory(owner=owner, customers=2, collected_for=["essential.service"])

    assert coverage_for(asset, purpose("essential")).eligible == 0
    assert coverage_for(asset, purpose("essential.service.payment_processing")).eligible == 2


def test_consent_purpose_is_not_covered_by_collection(owner):
    asset = DataAssetFactory(owner=owner, customers=2, collected_for=[EMAIL])

    assert coverage_for(asset, purpose(EMAIL)).eligible == 0


def test_objection_removes_a_customer_from_legitimate_interest(
    owner, record, legitimate_interest_purpose
):
    asset = DataAssetFactory(owner=owner, customers=3, collected_for=["analytics"])
    objector, came_back, _ = asset.customers.order_by("pk")
    record(objector, "analytics.reporting", "withdrawn", at(1))
    record(came_back, "analytics", "withdrawn", at(1))
    record(came_back, "analytics.reporting", "granted", at(2))

    assert coverage_for(asset, legitimate_interest_purpose).eligible == 2
    assert objector.pk not in eligible_ids(asset, "analytics.reporting")


def test_also_requires_needs_current_consent_to_every_extra_purpose(asset, customers, record):
    record(customers[0], "marketing", "granted", at(1))
    record(customers[1], "marketing", "granted", at(1))
    record(customers[0], "third_party_sharing", "granted", at(1))
    record(customers[1], "third_party_sharing", "granted", at(1))
    record(customers[1], "third_party_sharing", "withdrawn", at(2))
    sharing = [purpose("third_party_sharing")]

    assert eligible_ids(asset, EMAIL, also_requires=sharing) == {customers[0].pk}
    assert coverage_for(asset, purpose(EMAIL), also_requires=sharing).eligible == 1


def test_coverage_runs_a_fixed_number_of_queries_whatever_the_number_of_customers(
    owner, django_assert_num_queries, record
):
    small = DataAssetFactory(owner=owner, customers=2)
    large = DataAssetFactory(owner=owner, customers=40)
    for customer in list(large.customers.all())[:20]:
        record(customer, "marketing", "granted", at(1))
    email = purpose(EMAIL)

    # The ids of the purpose and its ancestors, then one count.
    with django_assert_num_queries(2):
        assert coverage_for(small, email).total == 2
    with django_assert_num_queries(2):
        assert coverage_for(large, email).eligible == 20
    with django_assert_num_queries(2):
        assert len(list(eligible_customers(large, email))) == 20


def test_eligible_customers_is_a_queryset_the_callers_can_narrow(asset, customers, record):
    record(customers[0], EMAIL, "granted", at(1))
    record(customers[1], EMAIL, "granted", at(1))

    narrowed = eligible_customers(asset, purpose(EMAIL)).filter(pk=customers[1].pk)

    assert list(narrowed) == [customers[1]]
    assert CustomerFactory._meta.model.objects.count() == 5


def test_coverage_total_follows_the_customers_the_services_add_and_remove(owner, record):
    """The total is the asset's kept count, stored by the services with the memberships."""
    asset = DataAssetFactory(owner=owner, customers=3)
    newcomer = CustomerFactory()
    record(newcomer, EMAIL, "granted", at(1))

    asset_add_customers(asset=asset, actor=owner, customers=[newcomer])
    added = coverage_for(asset, purpose(EMAIL))
    memberships_remove(
        memberships=AssetCustomer.objects.filter(asset=asset).exclude(customer=newcomer),
        actor=owner,
        reason="Left the programme.",
    )
    removed = coverage_for(asset, purpose(EMAIL))

    assert (added.eligible, added.total) == (1, 4)
    assert (removed.eligible, removed.total) == (1, 1)
