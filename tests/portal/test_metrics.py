"""``/metrics``: Prometheus text that prometheus_client's own parser reads, with the
portal's gauges right on the demo data, and only for the internal addresses."""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from customers.models.access import AccessGrant
from incidents.models import IncidentDuty
from portal.audit import audit_record
from portal.audit_seal import seal_pending
from portal.models import ApprovalStep, Notification
from portal.services import audit_anchor_write

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    call_command("seed_demo", stdout=StringIO())


def scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_the_portal_gauges_have_the_demo_datas_values(client, demo):
    now = timezone.now()
    anchor = audit_anchor_write(actor=None).anchor  # also tells compliance: one more e-mail
    # Notifications the demo left pending, one aged 30 minutes.
    pending = [n for n in Notification.objects.all() if n.sent_at is None and n.failed_at is None]
    oldest = Notification.objects.order_by("created_at").first()
    Notification.objects.filter(pk=oldest.pk).update(
        sent_at=None, failed_at=None, created_at=now - timedelta(minutes=30)
    )
    if oldest not in pending:
        pending.append(oldest)

    samples = scrape(client)

    assert samples[("portal_outbox_backlog", ())] == len(pending)
    assert samples[("portal_outbox_oldest_age_seconds", ())] >= 30 * 60
    late = {
        duty.incident_id
        for duty in IncidentDuty.objects.select_related("incident")
        if duty.state == "open" and duty.due_at < now and duty.incident.status != "closed"
    }
    assert samples[("portal_incidents_past_deadline", ())] == len(late)
    expiring = [
        grant
        for grant in AccessGrant.objects.all()
        if grant.revoked_at is None and now < grant.expires_at <= now + timedelta(days=7)
    ]
    assert samples[("portal_grants_expiring_7d", ())] == len(expiring)
    open_steps = [step for step in ApprovalStep.objects.all() if step.status == "open"]
    pending_total = sum(
        value for (name, _), value in samples.items() if name == "portal_approval_steps_pending"
    )
    assert pending_total == len(open_steps) > 0
    for role in ("owner", "compliance", "legal"):
        by_role = [step for step in open_steps if step.role == role]
        assert sum(
            value
            for (name, labels), value in samples.items()
            if name == "portal_approval_steps_pending" and ("role", role) in labels
        ) == len(by_role)
    assert samples[("portal_audit_last_verified_event_id", ())] == anchor.event_id
    assert abs(samples[("portal_audit_last_anchor_timestamp_seconds", ())] - now.timestamp()) < 60


def test_the_standard_django_metrics_count_requests(client, db):
    client.get("/health/live")

    samples = scrape(client)

    assert any(
        name == "django_http_responses_total_by_status_total" and ("status", "200") in labels
        for name, labels in samples
    )


def test_metrics_are_hidden_from_addresses_outside_the_allowed_list(client, db, settings):
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 404

    settings.METRICS_ALLOWED_IPS = ["203.0.113.9"]
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 200


def test_the_seal_lag_gauge_is_the_age_of_the_oldest_unsealed_event(client, db):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert scrape(client)[("portal_audit_seal_lag_seconds", ())] == 0
        audit_record(actor=None, action="records.view")
        audit_record(actor=None, action="records.view")
        clock.shift(timedelta(seconds=42))

        assert scrape(client)[("portal_audit_seal_lag_seconds", ())] == 42

        seal_pending()
        assert scrape(client)[("portal_audit_seal_lag_seconds", ())] == 0
