"""Defects the URL sweep and schemathesis found in the API, one test each."""

from django.urls import NoReverseMatch, reverse

from tests.customers.test_grants import grant  # noqa: F401 (fixture)


def test_the_api_has_no_format_suffix_addresses_that_answered_500(api_client, requester, asset):
    api_client.force_authenticate(requester)

    assert api_client.get(f"/api/assets/{asset.pk}.json/").status_code == 404
    assert api_client.get(f"/api/assets/{asset.pk}/").status_code == 200
    try:
        reverse("asset-detail", kwargs={"pk": asset.pk, "format": "json"})
    except NoReverseMatch:
        pass
    else:
        raise AssertionError("a .json route is back")


def test_an_export_refused_to_a_csv_client_is_a_json_error(api_client, outsider, grant):  # noqa: F811
    api_client.force_authenticate(outsider)

    response = api_client.get(f"/api/grants/{grant.pk}/export/?format=csv")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


def test_an_unconfirmed_asset_answers_null_classifier_fields(api_client, requester, asset):
    api_client.force_authenticate(requester)

    body = api_client.get(f"/api/assets/{asset.pk}/").json()

    assert body["classification_confirmed"] is False
    assert body["classified_by"] is None and body["classified_at"] is None
