"""``seed_scale`` at a tiny scale: every kind of row arrives, consistent with the rules the
services keep, and the portal's pages work on it."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from consent.models import ConsentRecord, ConsentState
from consent.services.imports import consent_state_rebuild
from customers.models.access import AccessGrant, AccessRequest
from customers.models.catalogue import AssetCustomer, Customer, DataAsset
from incidents.models import Incident
from portal import roles
from portal.audit_verify import verify_audit
from portal.models import ApprovalChain, ApprovalStep, AuditChainHead, AuditEvent, User

pytestmark = pytest.mark.django_db

SCALE = 0.001


@pytest.fixture
def scale_data(db):
    call_command("seed_scale", scale=SCALE, force=True, stdout=StringIO(), stderr=StringIO())


def test_tiny_scale_loads_every_kind_of_row(scale_data):
    assert Customer.objects.count() == 100
    assert DataAsset.objects.count() == 3
    assert User.objects.filter(username__startswith="scale-").count() >= 30
    assert ConsentRecord.objects.count() == 500
    assert AccessRequest.objects.count() == 25  # 20 approved with grants, 5 others
    assert AccessGrant.objects.count() == 20
    assert AuditEvent.objects.count() == 200
    assert Incident.objects.count() == 5 and Incident.objects.filter(assets__isnull=False).exists()
    # The biggest asset holds half of all customers, as at full scale.
    biggest = DataAsset.objects.order_by("pk").first()
    assert AssetCustomer.objects.filter(asset=biggest).count() == 50


def test_tiny_scale_audit_chain_verifies(scale_data, tmp_path):
    result = verify_audit(anchor_dir=tmp_path)
    assert result.ok, result
    assert result.checked == AuditEvent.objects.count()
    assert AuditChainHead.objects.get(pk=1).last_event_id == AuditEvent.objects.latest("id").pk


def test_tiny_scale_consent_state_matches_its_records(scale_data):
    loaded = set(ConsentState.objects.values_list("customer", "purpose", "status", "record"))
    consent_state_rebuild()
    rebuilt = set(ConsentState.objects.values_list("customer", "purpose", "status", "record"))
    assert loaded == rebuilt and loaded


def test_tiny_scale_active_grants_hold_their_permissions_and_others_none(scale_data):
    now = timezone.now()
    for grant in AccessGrant.objects.select_related("user", "asset"):
        can_view = grant.user.has_perm("customers.view_records", grant.asset)
        if grant.is_active(now):
            assert can_view, grant
        elif not AccessGrant.objects.filter(
            user=grant.user, asset=grant.asset, revoked_at__isnull=True, expires_at__gt=now
        ).exists():
            assert not can_view, grant
    for chain in ApprovalChain.objects.prefetch_related("steps"):
        deciders = [s.decided_by_id for s in chain.steps.all() if s.decided_by_id]
        assert chain.requester_id not in deciders
        assert len(deciders) == len(set(deciders)), "nobody decides two steps of one request"


def test_tiny_scale_ids_continue_after_the_load(scale_data, owner):
    """Rows were written with explicit ids: the next ordinary insert must not collide."""
    asset = DataAsset.objects.create(name="Made after the seed", owner=owner)
    assert asset.pk > DataAsset.objects.exclude(pk=asset.pk).order_by("-pk").first().pk


def test_pages_of_each_role_work_on_scale_data(scale_data, client):
    now = timezone.now()
    grant = (
        AccessGrant.objects.filter(revoked_at__isnull=True, expires_at__gt=now, level="export")
        .select_related("user", "asset")
        .first()
    ) or AccessGrant.objects.filter(revoked_at__isnull=True, expires_at__gt=now).first()
    assert grant is not None, "the tiny copy has an active grant"
    employee = grant.user
    asset = grant.asset
    client.force_login(employee)
    for url in [
        reverse("customers:asset_list"),
        reverse("customers:asset_list") + "?q=customers",
        reverse("customers:asset_detail", args=[asset.pk])
        + "?purpose=marketing.communications.email",
        reverse("customers:request_list"),
        reverse("customers:grant_list"),
        reverse("customers:grant_records", args=[grant.pk]),
        "/api/assets/?q=customers",
        "/api/access-requests/",
    ]:
        assert client.get(url).status_code == 200, url
    if grant.level == "export":
        assert client.get(reverse("customers:grant_export", args=[grant.pk])).status_code == 200

    # An owner with a step open sees those requests waiting, on the page and in the API.
    step = ApprovalStep.objects.filter(status="open", role="owner").first()
    assert step is not None, "the tiny copy has requests waiting for an owner"
    client.force_login(step.approver)
    page = client.get(reverse("customers:approvals")).context["page"]
    waiting = client.get("/api/access-requests/?waiting=1").json()
    sharing = client.get("/api/sharing-requests/?waiting=1").json()
    assert step.chain_id in {w.step.chain_id for w in page.object_list}
    assert page.paginator.count == waiting["count"] + sharing["count"] >= 1

    officer = User.objects.filter(groups__name=roles.COMPLIANCE).first()
    client.force_login(officer)
    for url in [
        reverse("audit_log"),
        "/api/audit/",
        reverse("customers:grant_list_all"),
        reverse("incidents:list"),
        "/api/incidents/",
    ]:
        assert client.get(url).status_code == 200, url

    client.force_login(User.objects.get(username="scale-admin"))
    # The admin is an operator's tool: its users, not the assets (404 there).
    assert client.get("/admin/portal/user/").status_code == 200
    assert client.get("/admin/customers/dataasset/").status_code == 404


def test_every_object_page_answers_compliance_on_bulk_loaded_data(scale_data, client):
    # Rows loaded with COPY have no row history and no service-written side rows: the load
    # benchmark found the asset page answering 500 for every such asset. Compliance sees
    # the most of every page (history, coverage, decisions), so every object is opened as
    # a compliance officer.
    client.force_login(User.objects.filter(groups__name=roles.COMPLIANCE).first())
    customers = list(Customer.objects.order_by("pk").values_list("pk", flat=True)[:10])
    urls = [
        reverse("home"),
        reverse("customers:approvals"),
        reverse("customers:review_list"),
        reverse("customers:retention_list"),
        reverse("customers:subject_request_list"),
        reverse("customers:erasure_task_list"),
        reverse("customers:customer_search") + "?q=a",
        reverse("consent:record"),
        *(
            reverse("customers:asset_detail", args=[pk])
            for pk in DataAsset.objects.values_list("pk", flat=True)
        ),
        *(
            reverse("customers:request_detail", args=[pk])
            for pk in AccessRequest.objects.values_list("pk", flat=True)
        ),
        *(
            reverse("incidents:detail", args=[pk])
            for pk in Incident.objects.values_list("pk", flat=True)
        ),
        *(reverse("consent:customer_detail", args=[pk]) for pk in customers),
        *(reverse("customers:customer_footprint", args=[pk]) for pk in customers),
    ]

    failed = [(url, status) for url in urls if (status := client.get(url).status_code) != 200]

    assert failed == []
    assert len(urls) > 60


def test_refuses_a_database_that_is_not_postgresql_without_force(db, monkeypatch):
    monkeypatch.setattr(connection, "vendor", "sqlite")
    with pytest.raises(CommandError, match="--force"):
        call_command("seed_scale", scale=SCALE, stdout=StringIO(), stderr=StringIO())
    assert not Customer.objects.exists()


def test_refuses_to_load_twice(scale_data):
    with pytest.raises(CommandError, match="already holds"):
        call_command("seed_scale", scale=SCALE, force=True, stdout=StringIO(), stderr=StringIO())
    assert Customer.objects.count() == 100
