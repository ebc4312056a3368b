from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from consent.models import Purpose
from customers.models.access import AccessGrant
from customers.models.catalogue import Classification, DataAsset, DataAssetUserObjectPermission
from customers.services.access import access_request_create, access_request_decide
from customers.services.assets import asset_add_customers
from tests.customers.conftest import JUSTIFICATION
from tests.factories import CustomerFactory, DataAssetFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def restricted_asset(owner):
    return DataAssetFactory(
        owner=owner,
        name="Key accounts",
        description="Largest business customers",
        classification=Classification.RESTRICTED,
        classification_confirmed=True,
        customers=3,
        collected_for=["essential.service"],
    )


@pytest.fixture
def open_asset(owner):
    return DataAssetFactory(
        owner=owner,
        name="Nordic retail customers",
        description="Web shop customers in the Nordics",
        customers=4,
        categories=["user.contact.email", "user.name"],
        collected_for=["essential.service"],
    )


def list_names(client, **params) -> list[str]:
    response = client.get(reverse("customers:asset_list"), params)
    assert response.status_code == 200
    return [asset.name for asset in response.context["page"].object_list]


def test_catalogue_needs_a_login(client):
    response = client.get(reverse("customers:asset_list"))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_employee_sees_the_catalogue_with_counts(client, outsider, open_asset):
    client.force_login(outsider)

    response = client.get(reverse("customers:asset_list"))

    row = response.context["page"].object_list[0]
    assert row.name == "Nordic retail customers"
    assert row.customer_count == 4
    assert "user.contact.email" in response.content.decode()


def test_restricted_asset_is_absent_from_list_and_search_for_other_employees(
    client, outsider, restricted_asset, open_asset
):
    client.force_login(outsider)

    assert list_names(client) == ["Nordic retail customers"]
    assert list_names(client, q="Key") == []
    assert list_names(client, q="business customers") == []
    assert list_names(client, classification="restricted") == []


def test_restricted_asset_detail_is_404_for_other_employees_in_ui_and_api(
    client, api_client, outsider, restricted_asset
):
    client.force_login(outsider)
    api_client.force_authenticate(outsider)

    assert (
        client.get(reverse("customers:asset_detail", args=[restricted_asset.pk])).status_code == 404
    )
    api = api_client.get(f"/api/assets/{restricted_asset.pk}/")
    assert api.status_code == 404
    assert api.json() == {"detail": "Not found."} or "detail" in api.json()
    names = [a["name"] for a in api_client.get("/api/assets/").json()["results"]]
    assert "Key accounts" not in names
    assert api_client.get("/api/assets/", {"q": "Key"}).json()["count"] == 0


@pytest.mark.parametrize("who", ["owner", "compliance_officer", "legal_counsel"])
def test_owner_compliance_and_legal_see_the_restricted_asset(
    request, client, api_client, who, restricted_asset
):
    user = request.getfixturevalue(who)
    client.force_login(user)
    api_client.force_authenticate(user)

    assert "Key accounts" in list_names(client, q="Key")
    assert (
        client.get(reverse("customers:asset_detail", args=[restricted_asset.pk])).status_code == 200
    )
    assert api_client.get(f"/api/assets/{restricted_asset.pk}/").status_code == 200


def one_day_grant(requester, asset, owner, compliance_officer, legal_counsel) -> AccessGrant:
    """A one-day view grant on ``asset``, approved by its whole chain."""
    access_request = access_request_create(
        actor=requester,
        asset=asset,
        purpose=Purpose.objects.get(key="essential.service"),
        justification=JUSTIFICATION,
        duration_days=1,
    )
    for approver in (owner, compliance_officer, legal_counsel):
        access_request_decide(
            access_request=access_request, actor=approver, approve=True, reason="Needed for it."
        )
    return AccessGrant.objects.get(request=access_request)


def test_holder_of_an_active_grant_sees_the_restricted_asset_until_it_expires(
    client, api_client, outsider, owner, compliance_officer, legal_counsel, restricted_asset
):
    grant = one_day_grant(outsider, restricted_asset, owner, compliance_officer, legal_counsel)
    client.force_login(outsider)
    api_client.force_authenticate(outsider)
    detail = reverse("customers:asset_detail", args=[restricted_asset.pk])
    assert list_names(client) == ["Key accounts"]
    assert client.get(detail).status_code == 200

    # Two days later, before the expiry job has removed the permission rows.
    with time_machine.travel(grant.expires_at + timedelta(days=1)):
        assert DataAssetUserObjectPermission.objects.filter(user=outsider).exists()
        client.force_login(outsider)  # a fresh session: the old one timed out meanwhile
        records = client.get(reverse("customers:grant_records", args=[grant.pk]))
        assert records.status_code == 403
        assert client.get(detail).status_code == 404
        assert list_names(client) == []
        assert list_names(client, classification="restricted") == []
        assert api_client.get(f"/api/assets/{restricted_asset.pk}/").status_code == 404
        assert api_client.get("/api/assets/").json()["count"] == 0
        # Nor can it be named in a new request or a report: the choices come from the catalogue.
        response = api_client.post(
            "/api/access-requests/",
            {
                "asset": restricted_asset.pk,
                "purpose": "essential.service",
                "justification": JUSTIFICATION,
                "level": "view",
                "duration_days": 1,
            },
            format="json",
        )
        assert response.status_code in (400, 404)


def test_an_object_permission_without_an_active_grant_shows_nothing(
    client, outsider, restricted_asset
):
    from guardian.shortcuts import assign_perm

    # A permission row nobody granted through a request (the admin's permission widget).
    assign_perm("customers.view_records", outsider, restricted_asset)
    client.force_login(outsider)

    assert list_names(client) == []


def test_search_matches_name_and_description(client, outsider, open_asset):
    DataAssetFactory(name="Event attendees", description="People who came to the fair")
    client.force_login(outsider)

    assert list_names(client, q="nordic") == ["Nordic retail customers"]
    assert list_names(client, q="fair") == ["Event attendees"]


def test_filters_by_owner_category_classification_and_confirmation(client, outsider, open_asset):
    other_owner = UserFactory(username="else")
    DataAssetFactory(
        name="Partner contacts",
        owner=other_owner,
        classification=Classification.INTERNAL,
        classification_confirmed=True,
        categories=["user.contact.phone_number"],
    )
    client.force_login(outsider)

    assert list_names(client, owner=other_owner.pk) == ["Partner contacts"]
    assert list_names(client, category="user.contact.email") == ["Nordic retail customers"]
    # A parent category finds its sub-categories.
    assert list_names(client, category="user.contact") == [
        "Nordic retail customers",
        "Partner contacts",
    ]
    assert list_names(client, classification="internal") == ["Partner contacts"]
    assert list_names(client, confirmed="no") == ["Nordic retail customers"]
    assert list_names(client, confirmed="yes") == ["Partner contacts"]


@pytest.mark.parametrize(
    "params",
    [
        {"classification": "secret"},
        {"owner": "not-a-number"},
        {"owner": "999999"},
        {"category": "user.nonexistent"},
        {"confirmed": "maybe"},
        {"q": "x" * 500},
        {"page": "last-ish"},
    ],
)
def test_unknown_filter_values_get_a_message_not_a_500(
    client, api_client, outsider, open_asset, params
):
    client.force_login(outsider)
    api_client.force_authenticate(outsider)

    page = client.get(reverse("customers:asset_list"), params)
    api = api_client.get("/api/assets/", params)

    assert page.status_code == 200
    if "page" not in params:
        assert page.context["form"].errors
        assert api.status_code == 400
        field = next(iter(params))
        assert field in api.json()
    else:
        assert api.status_code == 404


def test_list_is_paginated(client, outsider):
    for n in range(30):
        DataAssetFactory(name=f"List {n:02d}")
    client.force_login(outsider)

    first = client.get(reverse("customers:asset_list"))
    second = client.get(reverse("customers:asset_list"), {"page": 2})

    assert len(first.context["page"].object_list) == 25
    assert len(second.context["page"].object_list) == 5
    assert "30 assets" in first.content.decode()


def test_asset_detail_shows_what_the_catalogue_promises(client, outsider, open_asset):
    client.force_login(outsider)

    page = client.get(reverse("customers:asset_detail", args=[open_asset.pk])).content.decode()

    for expected in ["Nordic retail customers", "Otto", "user.contact.email", "essential.service"]:
        assert expected in page
    assert "not yet confirmed by compliance" in page
    # The history and the classification form are for compliance only.
    assert "Confirm or change the classification" not in page


def test_asset_detail_shows_history_to_compliance(client, compliance_officer, open_asset):
    client.force_login(compliance_officer)

    page = client.get(reverse("customers:asset_detail", args=[open_asset.pk])).content.decode()

    assert "Confirm or change the classification" in page
    assert "History" in page


def make_assets(count: int, owner) -> None:
    for n in range(count):
        DataAssetFactory(
            owner=owner,
            name=f"Bulk {n:03d}",
            customers=1,
            categories=["user.contact.email", "user.name"],
            collected_for=["essential.service"],
        )


@pytest.mark.parametrize("count", [10, 200])
def test_asset_list_page_runs_a_constant_number_of_queries(
    client, outsider, owner, count, django_assert_max_num_queries
):
    make_assets(count, owner)
    client.force_login(outsider)

    # 9 for the page, plus 1 for the unread count of the bell in the navigation.
    with django_assert_max_num_queries(10):
        response = client.get(reverse("customers:asset_list"))

    assert response.status_code == 200


@pytest.mark.parametrize("count", [10, 200])
def test_asset_api_list_runs_a_constant_number_of_queries(
    api_client, outsider, owner, count, django_assert_max_num_queries
):
    make_assets(count, owner)
    api_client.force_authenticate(outsider)

    with django_assert_max_num_queries(6):
        response = api_client.get("/api/assets/", {"page_size": 200})

    assert response.status_code == 200
    assert len(response.json()["results"]) == count


def test_the_customer_count_follows_the_memberships_and_survives_a_stale_save(
    client, outsider, owner, open_asset
):
    stale = DataAsset.objects.get(pk=open_asset.pk)  # read while it held 4 customers
    versions = open_asset.history.count()
    added = asset_add_customers(
        asset=open_asset, actor=owner, customers=[*CustomerFactory.create_batch(2)]
    )
    assert added == 2 and open_asset.customer_count == 6
    # A count is not a change of the asset: its history has no row for it.
    assert open_asset.history.count() == versions

    # An edit of the description from a copy read earlier does not write back its count.
    stale.description = "Web shop and store customers in the Nordics"
    stale.save()

    client.force_login(outsider)
    row = client.get(reverse("customers:asset_list")).context["page"].object_list[0]
    assert (row.description, row.customer_count) == (stale.description, 6)
    detail = client.get(reverse("customers:asset_detail", args=[open_asset.pk]))
    assert detail.context["asset"].customer_count == 6
    assert open_asset.history.count() == versions + 1  # the description edit


def test_search_finds_an_owner_by_name_and_the_owner_link_lists_their_assets(
    client, outsider, open_asset
):
    other_owner = UserFactory(username="ingrid", first_name="Ingrid", last_name="Holm")
    DataAssetFactory(name="Partner contacts", owner=other_owner)
    client.force_login(outsider)

    assert list_names(client, q="holm") == ["Partner contacts"]
    assert list_names(client, q="INGRID") == ["Partner contacts"]

    page = client.get(reverse("customers:asset_list")).content.decode()
    assert f'href="?owner={other_owner.pk}"' in page
    # A search box, not a list of every owner to pick from.
    assert '<select name="owner"' not in page
    mine = client.get(reverse("customers:asset_list"), {"owner": other_owner.pk})
    assert [a.name for a in mine.context["page"].object_list] == ["Partner contacts"]
    assert "Showing the assets of <strong>Ingrid Holm</strong>" in mine.content.decode()


def test_the_admin_cannot_delete_a_customer_erasure_is_a_subject_request(client, open_asset):
    customer = open_asset.customers.first()
    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))

    response = client.post(f"/admin/customers/customer/{customer.pk}/delete/", {"post": "yes"})

    # Customers are not in the admin at all (their personal data is not the operator's).
    assert response.status_code == 404
    open_asset.refresh_from_db()
    assert open_asset.customers.filter(pk=customer.pk).exists()
    assert open_asset.customer_count == 4


def test_an_owner_whose_assets_you_cannot_see_is_refused_as_a_filter(
    client, api_client, outsider, open_asset
):
    keeper = UserFactory(username="keeper")
    DataAssetFactory(
        name="Board contacts",
        owner=keeper,
        classification=Classification.RESTRICTED,
        classification_confirmed=True,
    )
    client.force_login(outsider)

    page = client.get(reverse("customers:asset_list"), {"owner": keeper.pk})

    assert page.status_code == 200
    assert "Some filters were not understood and were ignored" in page.content.decode()
    assert "Board contacts" not in page.content.decode()
    api_client.force_authenticate(outsider)
    answer = api_client.get("/api/assets/", {"owner": keeper.pk})
    assert answer.status_code == 400
    assert "owner" in answer.json()
