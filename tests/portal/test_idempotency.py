"""Idempotent creates: a create repeated with the same Idempotency-Key answers the first
outcome and creates nothing; the same key with another body is a 422; a resubmitted report
or request form creates one object and leads to it."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from consent.models import ConsentRecord
from customers.models.access import AccessRequest
from customers.models.subject_requests import DataSubjectRequest
from incidents.models import Incident
from portal.models import IdempotencyKey, Notification
from tests.customers.conftest import JUSTIFICATION, confidential_asset  # noqa: F401
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def post(api_client, user, path, body, key=None):
    api_client.force_authenticate(user)
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return api_client.post(path, body, format="json", **headers)


REPORT = {"title": "Customer list on a shared drive", "description": "Seen this morning."}


def test_a_report_repeated_with_its_key_answers_the_same_incident_and_files_nothing_new(
    api_client, requester, compliance_officer, legal_counsel
):
    first = post(api_client, requester, "/api/incidents/", REPORT, key="report-1")
    notifications = Notification.objects.count()
    again = post(api_client, requester, "/api/incidents/", REPORT, key="report-1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Incident.objects.count() == 1
    assert Notification.objects.count() == notifications  # nobody is told twice


def test_the_same_key_with_another_body_is_a_422_and_files_nothing(api_client, requester):
    post(api_client, requester, "/api/incidents/", REPORT, key="report-1")
    other = post(
        api_client, requester, "/api/incidents/", REPORT | {"title": "Other"}, key="report-1"
    )
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json()
    assert Incident.objects.count() == 1


def test_keys_are_per_user_and_without_a_key_every_post_creates(api_client, requester, owner):
    post(api_client, requester, "/api/incidents/", REPORT, key="k")
    post(api_client, owner, "/api/incidents/", REPORT, key="k")
    post(api_client, requester, "/api/incidents/", REPORT)
    post(api_client, requester, "/api/incidents/", REPORT)
    assert Incident.objects.count() == 4


def test_a_failed_create_stores_no_key_and_can_be_sent_again(api_client, requester):
    bad = post(api_client, requester, "/api/incidents/", {"title": ""}, key="k")
    assert bad.status_code == 400 and "title" in bad.json()
    assert not IdempotencyKey.objects.exists()
    assert post(api_client, requester, "/api/incidents/", REPORT, key="k").status_code == 201


@pytest.mark.parametrize("key", ["", "x" * 256, "naïve", "a\tb"])
def test_a_malformed_key_is_a_400_naming_the_header(api_client, requester, key):
    answer = post(api_client, requester, "/api/incidents/", REPORT, key=key)
    assert answer.status_code == 400
    assert "Idempotency-Key" in answer.json()
    assert not Incident.objects.exists()


def test_a_key_older_than_24_hours_creates_again_and_the_daily_job_prunes_it(api_client, requester):
    post(api_client, requester, "/api/incidents/", REPORT, key="k")
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        assert post(api_client, requester, "/api/incidents/", REPORT, key="k").status_code == 201
        assert Incident.objects.count() == 2
        post(api_client, requester, "/api/incidents/", REPORT, key="old")
    with time_machine.travel(timezone.now() + timedelta(hours=50)):
        from portal.tasks import prune_idempotency_keys

        assert prune_idempotency_keys() == 2
    assert not IdempotencyKey.objects.exists()


def test_every_api_create_honours_the_key(
    api_client,
    requester,
    compliance_officer,
    confidential_asset,  # noqa: F811 - the imported fixture
):
    customer = CustomerFactory()
    creates = [
        (
            requester,
            "/api/access-requests/",
            AccessRequest,
            {
                "asset": confidential_asset.pk,
                "purpose": "marketing.communications.email",
                "justification": JUSTIFICATION,
            },
        ),
        (
            compliance_officer,
            "/api/subject-requests/",
            DataSubjectRequest,
            {
                "type": "access",
                "customer": customer.pk,
                "identity_verification": "Passport checked at the counter by R. Jensen.",
            },
        ),
        (
            compliance_officer,
            "/api/consents/",
            ConsentRecord,
            {
                "customer": customer.pk,
                "purpose": "third_party_sharing",
                "status": "granted",
                "source": "contract",
                "evidence": "DPA-2",
                "notice_version": "v3",
                "effective_at": "2024-04-01T10:00:00Z",
            },
        ),
    ]
    for user, path, model, body in creates:
        before = model.objects.count()
        first = post(api_client, user, path, body, key=f"key-{path}")
        again = post(api_client, user, path, body, key=f"key-{path}")
        assert first.status_code == 201, (path, first.json())
        assert again.status_code == 201 and again.json() == first.json(), path
        assert model.objects.count() == before + 1, path


def test_a_resubmitted_report_form_files_one_incident_and_leads_to_it(client, requester):
    client.force_login(requester)
    page = client.get(reverse("incidents:report")).content.decode()
    assert 'name="idempotency_key"' in page
    key = page.split('name="idempotency_key" value="')[1].split('"')[0]

    form = REPORT | {"idempotency_key": key}
    first = client.post(reverse("incidents:report"), form)
    again = client.post(reverse("incidents:report"), form)

    incident = Incident.objects.get()
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"] == reverse("incidents:detail", args=[incident.pk])


@pytest.mark.parametrize("key", [None, "refused-1"])
def test_a_refused_access_request_is_still_audited_with_or_without_a_key(
    api_client, requester, owner, key
):
    from portal.models import AuditEvent
    from tests.factories import DataAssetFactory

    legacy = DataAssetFactory(owner=owner, name="Legacy import", customers=3)  # nobody agreed
    body = {
        "asset": legacy.pk,
        "purpose": "marketing.communications.email",
        "justification": JUSTIFICATION,
    }
    answer = post(api_client, requester, "/api/access-requests/", body, key=key)

    assert answer.status_code == 400
    assert not AccessRequest.objects.exists()
    assert AuditEvent.objects.filter(action="access_request.refused").count() == 1
    assert not IdempotencyKey.objects.exists()
