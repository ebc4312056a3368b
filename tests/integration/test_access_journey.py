"""The seed scenario through real parts: PostgreSQL, Redis, a `celery worker` process and
an SMTP server. alice asks for customer e-mails for marketing; every approver is e-mailed
at their step; the export holds exactly the customers who agreed."""

import csv
import io
from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from consent.models import Purpose
from consent.selectors import eligible_customers
from customers.models.catalogue import DataAsset
from portal.models import User
from tests.integration.services import wait_for

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def mails_to(sink, address: str) -> list[dict]:
    return [message for message in sink.messages if address in message["to"]]


def test_seed_scenario_with_a_real_worker_and_smtp_server(broker, smtp_sink, celery_processes):
    celery_processes.smtp_port = smtp_sink.port
    call_command("seed_demo", stdout=StringIO())
    celery_processes.worker()
    alice, bob, olivia = (User.objects.get(username=n) for n in ("alice", "bob", "olivia"))
    nordic = DataAsset.objects.get(name="Nordic retail customers")
    purpose = Purpose.objects.get(key="marketing.communications.email")
    api = APIClient()

    def as_user(user):
        api.force_authenticate(user)
        return api

    created = as_user(alice).post(
        "/api/access-requests/",
        {
            "asset": nordic.pk,
            "purpose": purpose.key,
            "justification": "Launch e-mail for the new home service to customers who agreed.",
            "level": "export",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    path = f"/api/access-requests/{created.json()['id']}"
    title = "Approval needed: View and export records of Nordic retail customers"

    wait_for(
        lambda: any(m["subject"].startswith(title) for m in mails_to(smtp_sink, bob.email)),
        timeout=60,
        what="the owner's e-mail",
    )
    assert not any(m["subject"].startswith(title) for m in mails_to(smtp_sink, olivia.email))
    assert (
        as_user(bob)
        .post(f"{path}/approve/", {"reason": "Campaign approved."}, format="json")
        .status_code
        == 200
    )
    wait_for(
        lambda: any(m["subject"].startswith(title) for m in mails_to(smtp_sink, olivia.email)),
        timeout=60,
        what="compliance's e-mail",
    )
    done = (
        as_user(olivia)
        .post(f"{path}/approve/", {"reason": "Consent checked."}, format="json")
        .json()
    )
    wait_for(
        lambda: any("Access granted" in m["subject"] for m in mails_to(smtp_sink, alice.email)),
        timeout=60,
        what="the requester's e-mail",
    )

    export = as_user(alice).get(f"/api/grants/{done['grant']}/export/")
    body = b"".join(export.streaming_content).decode()
    exported = {int(row["id"]) for row in csv.DictReader(io.StringIO(body))}
    assert exported == set(eligible_customers(nordic, purpose).values_list("id", flat=True))
    assert 0 < len(exported) < 1200
