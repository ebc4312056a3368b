"""The export ledger (``Export``): one row per export, written with its audit event, and
made from the audit events of exports that happened before the ledger existed."""

import importlib

import pytest
from django.apps import apps as django_apps
from django.db import IntegrityError, transaction

from consent.services.packages import sharing_package_download
from customers.models.exports import Export
from portal.audit import audit_record
from portal.models import AuditEvent
from tests.consent.test_sharing import package, shared_asset  # noqa: F401 (fixtures)
from tests.customers.test_grants import approved_grant

pytestmark = pytest.mark.django_db

ledger_from_audit_events = importlib.import_module(
    "customers.migrations.0010_export_ledger"
).ledger_from_audit_events


def test_the_migration_gives_every_audited_export_a_ledger_row_once(
    requester,
    compliance_officer,
    confidential_asset,
    email_marketing,
    package,  # noqa: F811
):
    grant = approved_grant(requester, confidential_asset, email_marketing)
    through_grant = audit_record(
        actor=requester,
        action="export.download",
        target=grant,
        asset_id=grant.asset_id,
        detail={"export_id": "a" * 32, "rows": 4, "columns": ["id", "email"]},
    )
    download = audit_record(
        actor=requester,
        action="export.download",
        target=package,
        asset_id=package.request.asset_id,
        detail={"kind": "sharing", "export_id": package.export_id, "rows": 3},
    )
    # Not an export, and an export event whose grant is unknown: no ledger row.
    audit_record(actor=requester, action="records.view", target=grant, asset_id=grant.asset_id)
    AuditEvent(
        created_at=through_grant.created_at,
        actor_label="system",
        action="export.download",
        target_type="customers.accessgrant",
        target_id="999999",
        channel="command",
        previous_hash="0" * 64,
        hash="f" * 64,
    ).save()

    ledger_from_audit_events(django_apps, None)
    ledger_from_audit_events(django_apps, None)  # again: nothing twice

    first, second = Export.objects.order_by("id")
    assert (first.audit_event, first.grant, first.package) == (through_grant, grant, None)
    assert (first.export_id, first.rows, first.columns) == ("a" * 32, 4, ["id", "email"])
    assert (first.actor, first.actor_label, first.created_at) == (
        requester,
        "req",
        through_grant.created_at,
    )
    assert (first.asset_id, first.customers_recorded) == (grant.asset_id, False)
    assert (second.audit_event, second.grant, second.package) == (download, None, package)
    assert (second.export_id, second.rows) == (package.export_id, 3)


def test_each_package_download_is_a_row_of_its_own_under_the_package_id(
    requester,
    package,  # noqa: F811
):
    for _ in range(2):
        sharing_package_download(sharing_request=package.request, actor=requester)

    downloads = list(package.downloads.order_by("id"))
    assert [d.export_id for d in downloads] == [package.export_id] * 2
    assert [d.audit_event.action for d in downloads] == ["export.download"] * 2
    assert downloads[0].made_under == package


def test_an_export_is_made_under_a_grant_or_a_package_never_neither(requester, confidential_asset):
    event = audit_record(
        actor=requester,
        action="export.download",
        asset_id=confidential_asset.pk,
        detail={"export_id": "b" * 32, "rows": 0},
    )

    with pytest.raises(ValueError, match="grant or a sharing package"):
        Export.objects.record(event=event, columns=[])
    with pytest.raises(IntegrityError), transaction.atomic():
        Export.objects.create(
            export_id="b" * 32,
            asset=confidential_asset,
            actor_label="req",
            rows=0,
            created_at=event.created_at,
            audit_event=event,
        )
