from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from consent.models import Purpose
from customers.services.assets import asset_add_customers
from customers.services.exports import grant_export_start
from customers.services.grants import grant_revoke
from incidents.selectors import impact_summary
from portal.audit import audit_record
from tests.customers.test_grants import approved_grant
from tests.factories import CustomerFactory, DataAssetFactory, UserFactory

pytestmark = pytest.mark.django_db

DISCOVERED = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def seeded(owner, report, responders):
    """Two assets sharing one customer (5 + 3 - 1 = 7 customers), and exports around the
    30-day window before discovery."""
    retail = DataAssetFactory(
        owner=owner,
        name="Retail",
        customers=5,
        categories=["user.contact.email", "user.name"],
        collected_for=["essential.service"],
    )
    newsletter = DataAssetFactory(
        owner=owner,
        name="Newsletter",
        customers=2,
        categories=["user.contact.email"],
        collected_for=["essential.service"],
    )
    asset_add_customers(asset=newsletter, actor=owner, customers=[retail.customers.first()])
    unrelated = DataAssetFactory(
        owner=owner, name="Unrelated", customers=4, collected_for=["essential.service"]
    )
    # Real exports, through export grants the exporter holds on all three assets.
    exporter = UserFactory(username="exporter")
    export_grants = {
        asset: grant_at(exporter, asset, DISCOVERED - timedelta(days=40), days=90)
        for asset in (retail, newsletter, unrelated)
    }
    for when, asset in [
        (DISCOVERED - timedelta(days=31), retail),  # before the window
        (DISCOVERED - timedelta(days=30), retail),  # first moment of the window
        (DISCOVERED - timedelta(days=2), newsletter),
        (DISCOVERED - timedelta(days=2), unrelated),  # another asset
        (DISCOVERED + timedelta(hours=1), retail),  # after discovery
    ]:
        with time_machine.travel(when, tick=False):
            grant_export_start(grant=export_grants[asset], actor=exporter)
    with time_machine.travel(DISCOVERED - timedelta(days=5), tick=False):
        audit_record(actor=exporter, action="records.view", asset_id=retail.pk)  # not an export
    # Grants: who held access to the assets at some moment in the 30 days before discovery.
    grant_at("held", retail, DISCOVERED - timedelta(days=10), days=30)
    grant_at("spanned", newsletter, DISCOVERED - timedelta(days=40), days=90)
    grant_at("expired", retail, DISCOVERED - timedelta(days=60), days=20)  # ended day -40
    grant_at("revoked", retail, DISCOVERED - timedelta(days=50), days=90, revoked_after=5)
    grant_at("later", retail, DISCOVERED + timedelta(hours=1), days=30)
    grant_at("elsewhere", unrelated, DISCOVERED - timedelta(days=3), days=30)
    with time_machine.travel(DISCOVERED + timedelta(hours=2), tick=False):
        return report(discovered_at=DISCOVERED, assets=[retail, newsletter])


def grant_at(holder, asset, when, *, days, revoked_after=None):
    """A grant made through the real request and approval chain at ``when``, to ``holder``
    (a user, or the username of a new one)."""
    purpose = Purpose.objects.get(key="essential.service")
    if isinstance(holder, str):
        holder = UserFactory(username=holder)
    with time_machine.travel(when, tick=False):
        grant = approved_grant(holder, asset, purpose, days=days)
    if revoked_after is not None:
        with time_machine.travel(when + timedelta(days=revoked_after), tick=False):
            grant_revoke(grant=grant, actor=asset.owner, reason="The support backlog is cleared.")
    return grant


def test_impact_summary_counts_customers_categories_grant_holders_and_exports_in_window(seeded):
    impact = impact_summary(seeded)

    assert [asset.name for asset in impact.assets] == ["Newsletter", "Retail"]
    assert impact.customers == 7
    assert impact.data_categories == ["user.contact.email", "user.name"]
    assert impact.grant_holders == ["exporter", "held", "spanned"]
    assert [(e.created_at, e.asset.name, e.actor_label) for e in impact.exports] == [
        (DISCOVERED - timedelta(days=30), "Retail", "exporter"),
        (DISCOVERED - timedelta(days=2), "Newsletter", "exporter"),
    ]


def test_impact_is_shown_to_compliance_only(client, seeded, responders, carl):
    client.force_login(responders[0])
    page = client.get(reverse("incidents:detail", args=[seeded.pk]))
    assert page.context["impact"].customers == 7
    assert "exporter, held, spanned" in page.content.decode()
    assert "Impact (computed)" in page.content.decode()

    client.force_login(carl)
    page = client.get(reverse("incidents:detail", args=[seeded.pk]))
    assert "impact" not in page.context
    assert "Impact (computed)" not in page.content.decode()


def test_an_incident_without_assets_has_an_empty_impact(report):
    impact = impact_summary(report())

    assert (impact.customers, impact.data_categories, impact.exports) == (0, [], [])
    assert impact.grant_holders == []


def test_customers_are_counted_once_even_when_in_several_assets(owner, report):
    shared = CustomerFactory.create_batch(3)
    first = DataAssetFactory(owner=owner, customers=shared)
    second = DataAssetFactory(owner=owner, customers=shared)

    assert impact_summary(report(assets=[first, second])).customers == 3
