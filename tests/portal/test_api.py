import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from tests.factories import DataAssetFactory

pytestmark = pytest.mark.django_db


def test_api_needs_authentication(api_client, asset):
    response = api_client.get("/api/assets/")

    assert response.status_code in (401, 403)
    assert "detail" in response.json()


def test_token_from_the_management_command_authenticates(api_client, requester, asset):
    call_command("drf_create_token", requester.username)
    key = Token.objects.get(user=requester).key

    response = api_client.get("/api/assets/", HTTP_AUTHORIZATION=f"Token {key}")

    assert response.status_code == 200
    assert response.json()["results"][0]["name"] == "Test customers"


def test_asset_fields_are_the_contract(api_client, requester, owner):
    asset = DataAssetFactory(
        owner=owner,
        name="Contract check",
        customers=2,
        categories=["user.contact.email"],
        collected_for=["essential.service"],
    )
    api_client.force_authenticate(requester)

    listed = api_client.get("/api/assets/").json()["results"][0]
    detail = api_client.get(f"/api/assets/{asset.pk}/").json()

    for row in (listed, detail):
        assert row["id"] == asset.pk
        assert row["name"] == "Contract check"
        assert row["owner"] == owner.username
        assert row["classification"] == "confidential"
        assert row["classification_confirmed"] is False
        assert row["data_categories"] == ["user.contact.email"]
        assert row["collected_for"] == ["essential.service"]
        assert row["customer_count"] == 2


@pytest.mark.parametrize(
    "path", ["/api/assets/999999/", "/api/assets/abc/", "/api/assets/1.5/", "/api/nothing/"]
)
def test_unknown_api_paths_and_ids_are_json_404(api_client, requester, path):
    api_client.force_authenticate(requester)

    response = api_client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()


@pytest.mark.parametrize(
    "body, content_type",
    [
        ("{not json", "application/json"),
        ('["a", "list"]', "application/json"),
        ('{"classification": 5, "reason": ["x"]}', "application/json"),
        ("classification=public", "application/x-www-form-urlencoded"),
        ('{"classification": "public", "reason": "' + "x" * 5000 + '"}', "application/json"),
    ],
)
def test_malformed_input_is_a_400_and_changes_nothing(
    api_client, compliance_officer, asset, body, content_type
):
    api_client.force_authenticate(compliance_officer)

    response = api_client.post(
        f"/api/assets/{asset.pk}/classify/", data=body, content_type=content_type
    )

    assert response.status_code in (400, 415)
    assert response["Content-Type"].startswith("application/json")
    asset.refresh_from_db()
    assert asset.classification_confirmed is False


def test_schema_and_docs_are_served_locally(client, requester):
    client.force_login(requester)

    schema = client.get("/api/schema/")
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    assert b"/api/assets/{id}/" in schema.content
    assert docs.status_code == 200
    page = docs.content.decode()
    assert "swagger-ui" in page
    assert "//cdn" not in page and "unpkg" not in page


# The modules that declare the API's serializers.
SERIALIZER_MODULES = [
    "portal.serializers",
    "customers.serializers",
    "customers.access_reviews_api",
    "consent.serializers",
    "incidents.serializers",
]


def test_a_field_that_may_be_empty_says_so_in_the_schema(client, requester):
    """A value read through a relation that may be empty (``default=None``: who closed a
    request that is still open) answers null, so its schema allows null: a client
    generated from the schema would refuse the answer otherwise."""
    import importlib

    from rest_framework import serializers

    not_nullable = [
        f"{module_name}.{value.__name__}.{name}"
        for module_name in SERIALIZER_MODULES
        for value in vars(importlib.import_module(module_name)).values()
        if isinstance(value, type)
        and issubclass(value, serializers.BaseSerializer)
        and value.__module__ == module_name
        for name, field in value._declared_fields.items()
        if field.default is None and not field.allow_null
    ]
    assert not_nullable == []
    client.force_login(requester)
    schemas = client.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
    assert schemas["SubjectRequest"]["properties"]["closed_by"].get("nullable") is True


def test_every_create_with_an_idempotency_key_documents_its_409_and_422(client, requester):
    client.force_login(requester)

    paths = client.get("/api/schema/", {"format": "json"}).json()["paths"]

    creates = [
        (path, operation)
        for path, operations in paths.items()
        for operation in operations.values()
        if any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
    ]
    assert {path for path, _ in creates} >= {"/api/incidents/", "/api/access-requests/"}
    for path, operation in creates:
        assert {"409", "422"} <= set(operation["responses"]), path
    assert "422" not in paths["/api/assets/"]["get"]["responses"]


@pytest.mark.parametrize(
    "path, body",
    [
        ("/api/access-requests/", {"purpose": "marketing\x00"}),
        ("/api/consents/", {"purpose": "marketing\x00"}),
    ],
)
def test_a_nul_character_in_a_key_is_a_400_not_a_server_error(
    api_client, compliance_officer, asset, path, body
):
    api_client.force_authenticate(compliance_officer)

    response = api_client.post(path, {"asset": asset.pk, "customer": 1, **body}, format="json")

    assert response.status_code == 400
    assert "purpose" in response.json()


def test_a_nul_character_in_a_coverage_purpose_is_a_400(api_client, requester, asset):
    api_client.force_authenticate(requester)

    response = api_client.get(f"/api/assets/{asset.pk}/", {"purpose": "marketing\x00"})

    assert response.status_code == 400
