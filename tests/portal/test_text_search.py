"""A search matches the capitals the database keeps of an asset's and a person's names
(``portal.text_search``): the same rows as matching each field ignoring case, kept current
by the database on every write."""

import pytest
from django.urls import reverse

from customers.models.catalogue import DataAsset
from portal.models import User
from portal.selectors import people_named
from portal.text_search import SEPARATOR
from tests.factories import DataAssetFactory, UserFactory

pytestmark = pytest.mark.django_db


def found(client, q: str) -> list[str]:
    response = client.get(reverse("customers:asset_list"), {"q": q})
    assert response.status_code == 200
    return [row.name for row in response.context["page"].object_list]


def test_a_renamed_asset_and_a_renamed_owner_are_found_by_their_new_names(client, outsider):
    owner = UserFactory(username="maja", first_name="Maja", last_name="Berg")
    asset = DataAssetFactory(name="Loyalty members", description="Card holders", owner=owner)
    client.force_login(outsider)
    assert found(client, "loyalty") == found(client, "berg") == ["Loyalty members"]

    asset.name = "Bonus club"
    asset.description = "Members of the bonus scheme"
    asset.save()
    owner.last_name = "Lund"
    owner.save()

    assert found(client, "loyalty") == []
    assert found(client, "card") == []
    assert found(client, "bonus CLUB") == found(client, "scheme") == ["Bonus club"]
    assert found(client, "berg") == []
    assert found(client, "lund") == ["Bonus club"]


def test_percent_and_underscore_are_matched_as_typed(client, outsider):
    DataAssetFactory(name="Winter sale 50% off", description="")
    DataAssetFactory(name="Winter sale 500 buyers", description="")
    DataAssetFactory(name="crm_export", description="")
    DataAssetFactory(name="crm-export", description="")
    client.force_login(outsider)

    assert found(client, "50%") == ["Winter sale 50% off"]
    assert found(client, "crm_") == ["crm_export"]


def test_a_search_never_matches_across_two_fields(client, outsider):
    DataAssetFactory(name="Partner alpha", description="beta list")
    DataAssetFactory(name="Tab separated", description=f"columns{SEPARATOR}kept as sent")
    client.force_login(outsider)

    # Joined in the stored column, the name's end and the description's start meet.
    assert found(client, f"alpha{SEPARATOR}beta") == []
    # A search holding the separator still finds a field that holds it.
    assert found(client, f"columns{SEPARATOR}kept") == ["Tab separated"]


@pytest.mark.postgres
def test_letters_beyond_ascii_match_in_either_case_on_postgresql(client, outsider):
    DataAssetFactory(name="Überweisungen Österreich", description="Kunden in Graz")
    UserFactory(username="jsmith", first_name="Łucja", last_name="Żółć")
    client.force_login(outsider)

    assert found(client, "überweisungen österreich") == ["Überweisungen Österreich"]
    assert list(people_named("ŻÓŁĆ").values_list("username", flat=True)) == ["jsmith"]


def test_people_named_finds_the_same_accounts_as_each_name_ignoring_case():
    UserFactory(username="anna.k", first_name="Anna", last_name="Kowalska")
    UserFactory(username="kowal", first_name="Piotr", last_name="Nowak")
    UserFactory(username="z.ola", first_name="Ola", last_name="Zanna")

    for text in ("anna", "KOWAL", "nowak", "a.k", "o"):
        by_field = (
            User.objects.filter(username__icontains=text)
            | User.objects.filter(first_name__icontains=text)
            | User.objects.filter(last_name__icontains=text)
        )
        assert set(people_named(text)) == set(by_field), text


def test_the_searched_capitals_are_kept_by_the_database_on_every_write():
    owner = UserFactory(username="kari", first_name="Kari", last_name="Nilsen")
    asset = DataAssetFactory(name="Loyalty members", description="Card holders", owner=owner)
    DataAsset.objects.filter(pk=asset.pk).update(description="Bonus scheme")

    asset_text = DataAsset.objects.values_list("search_text", flat=True).get(pk=asset.pk)
    owner_text = User.objects.values_list("search_text", flat=True).get(pk=owner.pk)
    assert asset_text == f"LOYALTY MEMBERS{SEPARATOR}BONUS SCHEME"
    assert owner_text == f"KARI{SEPARATOR}KARI{SEPARATOR}NILSEN"
