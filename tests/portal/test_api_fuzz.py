"""schemathesis against /api/schema/: every operation, with a compliance officer's token and
an employee's, in-process (WSGI). No 5xx, and every answer as the schema documents it.

Bounded for CI (a few examples per operation, no deadline); raise ``MAX_EXAMPLES`` locally
to dig deeper.

Then the same operations with the values storage and arithmetic cannot take, chosen from each
parameter's and body field's type in the schema (``test_every_operation_refuses_hostile_...``):
dates at the ends of the calendar, numbers beyond their column and beyond 64 bits, NUL
characters, and a body nested 5,000 levels deep. 400, never 500.
"""

import json
import os
import re
from urllib.parse import urlencode

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django_otp.plugins.otp_totp.models import TOTPDevice
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import CustomerFactory, DataAssetFactory

MAX_EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def tokens(db, settings, compliance_officer, requester, owner):
    """A compliance officer (two-factor on, enrolled) and an employee, with a little data."""
    settings.OTP_REQUIRED = True
    TOTPDevice.objects.create(user=compliance_officer, name="phone", confirmed=True)
    DataAssetFactory(owner=owner, name="Fuzzed customers", customers=3)
    DataAssetFactory(owner=owner, classification="restricted", customers=2)
    CustomerFactory.create_batch(2)
    return {
        "compliance": Token.objects.create(user=compliance_officer).key,
        "employee": Token.objects.create(user=requester).key,
    }


@pytest.fixture
def api_schema(tokens):
    # The WSGI handler closes "old" connections at each request's start and end, which
    # would close the test's transaction; Django's test client turns that off the same way.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi(
            "/api/schema/",
            get_wsgi_application(),
            headers={"Authorization": f"Token {tokens['employee']}"},
        )
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def fuzz(operation, tokens: dict, mode: GenerationMode) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis_settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def each_case(case):
        for key in (tokens["compliance"], tokens["employee"]):
            case.call_and_validate(headers={"Authorization": f"Token {key}"}, checks=CHECKS)

    each_case()


# schemathesis' own pytest loader (``from_fixture``) does not run under pytest 9: one test
# walks the operations instead, each with its own bounded hypothesis run.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_answers_as_its_schema_says_with_no_server_error(api_schema, tokens, mode):
    failures = {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    for operation in operations:
        try:
            fuzz(operation, tokens, mode)
        except Unsatisfiable:
            continue  # nothing in this operation can be made invalid (no input at all)
        except (Exception, BaseExceptionGroup) as failure:  # reported together below
            failures[operation.label] = str(failure)[:2000]
    assert len(operations) >= 20
    assert failures == {}, "\n\n".join(f"{label}\n{text}" for label, text in failures.items())


# --- Hostile values, by type --------------------------------------------------------------

HOSTILE_BY_TYPE = {
    "date": ["0001-01-01", "9999-12-31"],
    "date-time": [
        "0001-01-01T00:00:00+14:00",
        "0001-01-02T00:00:00Z",
        "9999-12-31T23:59:59-12:00",
    ],
    "integer": [2147483653, 1e25, 10**25, -(2**63) - 1],
    "string": ["x\x00y", "\u00b2"],  # NUL; a digit str.isdigit() accepts, int() refuses
}
BENIGN_TEXT = "Hostile values: one sentence, long enough for any reason field."
DEEP_JSON = "[" * 5000 + "]" * 5000
# The id that fills a path, by the collection it names (an object the caller may see).
PATH_OBJECTS = {
    "assets": "customers.DataAsset",
    "access-requests": "customers.AccessRequest",
    "grants": "customers.AccessGrant",
    "customers": "customers.Customer",
    "incidents": "incidents.Incident",
    "sharing-requests": "consent.SharingRequest",
    "subject-requests": "customers.DataSubjectRequest",
    "notifications": "portal.Notification",
}


def _kind(schema: dict) -> str:
    if schema.get("type") == "string" and schema.get("format") in ("date", "date-time"):
        return schema["format"]
    if schema.get("type") == "integer":
        return "integer"
    if schema.get("type") == "string" or "enum" in schema:
        return "string"
    return ""


def _benign(schema: dict):
    if "enum" in schema:
        return next((value for value in schema["enum"] if value), None)
    kind = _kind(schema)
    return {
        "date": "2025-01-15",
        "date-time": "2025-01-15T09:00:00Z",
        "integer": 1,
        "string": BENIGN_TEXT,
    }.get(kind, [] if schema.get("type") == "array" else None)


def _resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        node = spec
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    if "allOf" in schema:
        merged = {"properties": {}, "required": []}
        for part in schema["allOf"]:
            part = _resolve(spec, part)
            merged["properties"].update(part.get("properties", {}))
            merged["required"] += part.get("required", [])
        return merged
    return schema


def _fill(path: str) -> str:
    from django.apps import apps

    def value(match):
        collection = path[: match.start()].strip("/").split("/")[-1]
        model = PATH_OBJECTS.get(collection)
        obj = apps.get_model(model).objects.order_by("pk").first() if model else None
        return str(obj.pk) if obj else "1"

    return re.sub(r"\{[^}]+\}", value, path)


def hostile_requests(spec: dict):
    """(method, path, query, body, what) for every hostile value of every query parameter
    and JSON body field of every operation, one hostile value at a time, the rest benign;
    plus a deeply nested body for every operation that takes one."""
    for template, operations in spec["paths"].items():
        path = _fill(template)
        for method, operation in operations.items():
            if method not in ("get", "post", "patch", "put", "delete"):
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") != "query":
                    continue
                schema = _resolve(spec, parameter.get("schema", {}))
                for value in HOSTILE_BY_TYPE.get(_kind(schema), []):
                    name = parameter["name"]
                    yield method, path, {name: value}, None, f"?{name}={value!r}"
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            schema = _resolve(spec, content["application/json"]["schema"])
            properties = {
                name: _resolve(spec, prop) for name, prop in schema.get("properties", {}).items()
            }
            benign = {name: _benign(prop) for name, prop in properties.items()}
            benign = {name: value for name, value in benign.items() if value is not None}
            for name, prop in properties.items():
                if prop.get("readOnly"):
                    continue
                for value in HOSTILE_BY_TYPE.get(_kind(prop), []):
                    body = json.dumps({**benign, name: value})
                    yield method, path, {}, body, f"{name}={value!r}"
            yield method, path, {}, DEEP_JSON, "nested 5,000 levels"


@pytest.fixture
def hostile_data(tokens, requester, compliance_officer):
    """An object behind each kind of path, so hostile bodies reach validation."""
    from incidents.services.reports import incident_report

    incident_report(actor=requester, title="Laptop lost", description="On the train home.")


def test_every_operation_refuses_hostile_values_without_a_server_error(
    api_client, tokens, hostile_data
):
    spec = api_client.get(
        "/api/schema/", {"format": "json"}, HTTP_AUTHORIZATION=(f"Token {tokens['compliance']}")
    ).json()
    api_client.raise_request_exception = False  # every 500 in the list, not the first
    failures = []
    asked = 0
    for method, path, query, body, what in hostile_requests(spec):
        for key in (tokens["compliance"], tokens["employee"]):
            api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
            url = path + ("?" + urlencode(query) if query else "")
            with transaction.atomic():
                response = api_client.generic(
                    method.upper(), url, body or "", content_type="application/json"
                )
                if getattr(response, "streaming", False):
                    b"".join(response.streaming_content)
                transaction.set_rollback(True)
            asked += 1
            if response.status_code >= 500:
                failures.append(f"{method.upper()} {path} {what}: {response.status_code}")
            elif response.status_code == 400:
                assert isinstance(response.json(), dict), (method, path, what)
    assert asked > 300
    assert failures == [], "\n".join(failures)
