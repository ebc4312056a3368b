"""An asset's history names what each row changed and why: the creation holds the data
categories and collection purposes (no empty "Changed" rows after it), a save that changes
nothing visible is not shown, and the demo data's rows carry the reason "Demo data loaded"."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from consent.models import DataCategory, Purpose
from customers.models.catalogue import DataAsset
from customers.selectors.asset_history import asset_history_entries
from customers.services.assets import asset_classify, asset_create
from customers.services.stewardship import asset_collection_purposes_change
from portal.history import save_with_history
from portal.models import User

pytestmark = pytest.mark.django_db


def history_rows(client, asset) -> list[tuple[str, str]]:
    """(change, reason) of each row of the history table on the asset's page."""
    page = client.get(reverse("customers:asset_detail", args=[asset.pk])).content.decode()
    body = page.split('id="history-heading"', 1)[1].split("<tbody>", 1)[1].split("</tbody>")[0]
    rows = [re.findall(r"<td>(.*?)</td>", row, re.S) for row in body.split("</tr>")[:-1]]
    return [(cells[2].strip(), cells[5].strip()) for cells in rows]


def test_every_history_row_of_the_demo_data_names_a_change_and_has_a_reason(client):
    call_command("seed_demo", stdout=StringIO())
    client.force_login(User.objects.get(username="olivia"))

    for asset in DataAsset.objects.all():
        rows = history_rows(client, asset)
        assert rows, asset.name
        assert rows[-1] == ("Created", "Demo data loaded"), asset.name
        for change, reason in rows:
            assert change and change != "Changed", (asset.name, rows)
            assert reason, (asset.name, rows)


def test_the_creation_is_one_row_holding_categories_and_purposes(owner):
    asset = asset_create(
        actor=owner,
        name="Web leads",
        owner=owner,
        data_categories=DataCategory.objects.filter(key__in=["user.contact.email"]),
        collected_for=Purpose.objects.filter(key="essential.service"),
        reason="Registered for the web shop",
    )

    (creation,) = asset.history.all()
    assert creation.history_type == "+"
    assert creation.history_change_reason == "Registered for the web shop"
    assert creation.history_user == owner
    keys = [str(row.datacategory) for row in creation.historicaldataasset_data_categories_set.all()]
    assert keys == ["user.contact.email"]


def test_a_save_that_changes_nothing_is_not_shown_and_a_change_is_named(owner, compliance_officer):
    asset = asset_create(actor=owner, name="Web leads", owner=owner)
    save_with_history(asset, actor=owner, reason="Saved again")  # same values
    asset_classify(
        asset=asset, actor=compliance_officer, classification="internal", reason="Only names."
    )
    asset_collection_purposes_change(
        asset=asset,
        actor=compliance_officer,
        purposes=Purpose.objects.filter(key="essential.service"),
        reason="Collected to deliver the service.",
    )

    changes = [entry.changes for entry in asset_history_entries(asset)]

    assert changes == [
        ["collected for: + essential.service"],
        ["classification confidential → internal"],
        ["created"],
    ]


@pytest.mark.parametrize("rows", [3, 40])
def test_the_history_costs_the_same_queries_however_long(
    owner, compliance_officer, rows, django_assert_max_num_queries
):
    asset = asset_create(actor=owner, name="Web leads", owner=owner)
    for n in range(rows):
        asset_classify(
            asset=asset,
            actor=compliance_officer,
            classification=["internal", "confidential"][n % 2],
            reason=f"Review number {n}.",
        )

    with django_assert_max_num_queries(5):
        entries = asset_history_entries(asset)

    assert len(entries) == min(rows + 1, 50)


def test_an_asset_without_stored_history_rows_shows_its_page(client, owner, compliance_officer):
    # Assets loaded in bulk (the scale data's COPY) have no history row at all: the page
    # answered 500 for each of them.
    asset = asset_create(
        actor=owner, name="Bulk loaded", owner=owner, data_categories=[], collected_for=[]
    )
    asset.history.all().delete()
    client.force_login(compliance_officer)

    page = client.get(reverse("customers:asset_detail", args=[asset.pk]))

    assert page.status_code == 200
    assert asset_history_entries(asset) == []
    assert "No change of this asset is recorded." in page.content.decode()
