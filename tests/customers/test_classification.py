import pytest
from django.urls import reverse

from customers.models.catalogue import Classification, DataAsset
from customers.services.assets import asset_classify, asset_create
from portal.errors import ApplicationError, NotAllowed

pytestmark = pytest.mark.django_db


def test_new_asset_is_confidential_and_unconfirmed_whatever_the_caller_wants(owner):
    asset = asset_create(actor=owner, name="Web leads", owner=owner)

    asset.refresh_from_db()
    assert asset.classification == Classification.CONFIDENTIAL
    assert asset.classification_confirmed is False
    assert asset.effective_classification == Classification.CONFIDENTIAL


def test_unconfirmed_asset_is_treated_as_at_least_confidential(asset):
    asset.classification = Classification.PUBLIC
    asset.classification_confirmed = False

    assert asset.effective_classification == Classification.CONFIDENTIAL

    asset.classification_confirmed = True
    assert asset.effective_classification == Classification.PUBLIC


def test_employee_cannot_change_a_classification_in_the_ui(client, requester, asset):
    client.force_login(requester)

    response = client.post(
        reverse("customers:asset_classify", args=[asset.pk]),
        {"classification": "public", "reason": "I think it is public enough."},
    )

    assert response.status_code == 403
    asset.refresh_from_db()
    assert asset.classification == Classification.CONFIDENTIAL
    assert asset.classification_confirmed is False


def test_employee_cannot_change_a_classification_in_the_api(api_client, requester, asset):
    api_client.force_authenticate(requester)

    response = api_client.post(
        f"/api/assets/{asset.pk}/classify/",
        {"classification": "public", "reason": "I think it is public enough."},
        format="json",
    )

    assert response.status_code == 403
    assert "compliance officer" in response.json()["detail"]
    asset.refresh_from_db()
    assert (asset.classification, asset.classification_confirmed) == ("confidential", False)


def test_the_owner_is_not_allowed_to_classify_either(owner, asset):
    with pytest.raises(
        NotAllowed, match="Only a compliance officer can confirm or change a classification"
    ):
        asset_classify(
            asset=asset, actor=owner, classification="internal", reason="Owner says internal."
        )
    asset.refresh_from_db()
    assert asset.classification_confirmed is False


def test_compliance_confirms_a_lower_class_with_a_reason_and_history_records_it(
    client, compliance_officer, asset
):
    client.force_login(compliance_officer)

    response = client.post(
        reverse("customers:asset_classify", args=[asset.pk]),
        {
            "classification": "internal",
            "reason": "Only business e-mail addresses, no private data.",
        },
    )

    assert response.status_code == 302
    asset.refresh_from_db()
    assert asset.classification == Classification.INTERNAL
    assert asset.classification_confirmed is True
    assert asset.classified_by == compliance_officer
    latest = asset.history.first()
    assert latest.history_user == compliance_officer
    assert latest.history_change_reason == "Only business e-mail addresses, no private data."
    assert latest.classification == "internal"
    detail = client.get(reverse("customers:asset_detail", args=[asset.pk]))
    assert "Only business e-mail addresses, no private data." in detail.content.decode()


@pytest.mark.parametrize("reason", ["", "   ", "because"])
def test_compliance_cannot_classify_without_a_real_reason(
    client, compliance_officer, asset, reason
):
    client.force_login(compliance_officer)

    response = client.post(
        reverse("customers:asset_classify", args=[asset.pk]),
        {"classification": "public", "reason": reason},
    )

    assert response.status_code == 400
    assert "reason" in response.content.decode().lower()
    asset.refresh_from_db()
    assert (asset.classification, asset.classification_confirmed) == ("confidential", False)
    assert asset.history.count() == 1


def test_compliance_classifies_through_the_api(api_client, compliance_officer, asset):
    api_client.force_authenticate(compliance_officer)

    response = api_client.post(
        f"/api/assets/{asset.pk}/classify/",
        {"classification": "restricted", "reason": "Contains contract values of key accounts."},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert body["classification"] == "restricted"
    assert body["classification_confirmed"] is True
    assert body["classified_by"] == compliance_officer.username


def test_unknown_classification_is_refused_and_changes_nothing(
    api_client, compliance_officer, asset
):
    api_client.force_authenticate(compliance_officer)

    response = api_client.post(
        f"/api/assets/{asset.pk}/classify/",
        {"classification": "top-secret", "reason": "Sounds appropriate for this list."},
        format="json",
    )

    assert response.status_code == 400
    assert "classification" in response.json()
    assert DataAsset.objects.get(pk=asset.pk).classification_confirmed is False


def test_service_refuses_unknown_class_even_when_called_directly(compliance_officer, asset):
    with pytest.raises(ApplicationError, match="Unknown classification 'secret'"):
        asset_classify(
            asset=asset,
            actor=compliance_officer,
            classification="secret",
            reason="A long enough reason.",
        )
