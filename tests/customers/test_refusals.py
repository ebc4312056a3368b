"""Classification and revoking a grant, through the page and the API: each rule lives in
customers/policies.py, the service enforces it, and a refusal is a 403 on both (with its
message in the API's JSON); an object the person may not see stays a 404."""

import pytest
from django.urls import reverse

from customers.models.catalogue import Classification
from tests.customers.test_grants import approved_grant

pytestmark = pytest.mark.django_db

CLASSIFY = {"classification": "internal", "reason": "Only internal staff data in it."}


def test_the_owner_may_not_classify_on_the_page_compliance_may(
    client, owner, compliance_officer, asset
):
    url = reverse("customers:asset_classify", args=[asset.pk])

    client.force_login(owner)
    refused = client.post(url, CLASSIFY)
    asset.refresh_from_db()
    class_after_refusal = asset.classification
    # The refusal comes before the form is read: what was posted does not matter.
    refused_empty = client.post(url, {})

    client.force_login(compliance_officer)
    accepted = client.post(url, CLASSIFY)
    asset.refresh_from_db()

    assert (refused.status_code, refused_empty.status_code, accepted.status_code) == (
        403,
        403,
        302,
    )
    assert class_after_refusal == Classification.CONFIDENTIAL
    assert asset.classification == Classification.INTERNAL


def test_the_owner_may_not_classify_in_the_api_compliance_may(
    api_client, owner, compliance_officer, asset
):
    url = f"/api/assets/{asset.pk}/classify/"

    api_client.force_authenticate(owner)
    refused = api_client.post(url, CLASSIFY, format="json")
    api_client.force_authenticate(compliance_officer)
    accepted = api_client.post(url, CLASSIFY, format="json")

    assert (refused.status_code, refused.json()) == (
        403,
        {"detail": "Only a compliance officer can confirm or change a classification."},
    )
    assert accepted.status_code == 200
    assert accepted.json()["classification"] == "internal"


def test_only_compliance_sees_the_classification_form(client, owner, compliance_officer, asset):
    url = reverse("customers:asset_detail", args=[asset.pk])
    form_action = reverse("customers:asset_classify", args=[asset.pk])

    client.force_login(owner)
    owner_page = client.get(url).content.decode()
    client.force_login(compliance_officer)
    compliance_page = client.get(url).content.decode()

    assert form_action not in owner_page and form_action in compliance_page


@pytest.fixture
def grant(requester, compliance_officer, confidential_asset, email_marketing):
    return approved_grant(requester, confidential_asset, email_marketing)


def test_the_grantee_may_not_revoke_in_the_api_the_owner_may(api_client, requester, owner, grant):
    url = f"/api/grants/{grant.pk}/revoke/"
    body = {"reason": "The campaign is over; no more access."}

    api_client.force_authenticate(requester)
    refused = api_client.post(url, body, format="json")
    grant.refresh_from_db()
    revoked_after_refusal = grant.revoked_at

    api_client.force_authenticate(owner)
    accepted = api_client.post(url, body, format="json")
    grant.refresh_from_db()

    assert (refused.status_code, refused.json()) == (
        403,
        {"detail": "Only the asset's owner or compliance can revoke a grant."},
    )
    assert revoked_after_refusal is None
    assert accepted.status_code == 200
    assert grant.revoked_by == owner


def test_the_grantee_may_not_revoke_on_the_page_the_owner_may(client, requester, owner, grant):
    url = reverse("customers:grant_revoke", args=[grant.pk])
    body = {"reason": "The campaign is over; no more access."}

    client.force_login(requester)
    refused = client.post(url, body)
    grant.refresh_from_db()
    revoked_after_refusal = grant.revoked_at

    client.force_login(owner)
    accepted = client.post(url, body)
    grant.refresh_from_db()

    assert (refused.status_code, accepted.status_code) == (403, 302)
    assert revoked_after_refusal is None
    assert grant.revoked_by == owner
