"""schemathesis against /api/schema/: every operation, with a compliance officer's token and
an employee's, in-process (WSGI). No 5xx, and every answer as the schema documents it.

Bounded for CI (a few examples per operation, no deadline); raise ``MAX_EXAMPLES`` locally
to dig deeper.
"""

import os

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
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
