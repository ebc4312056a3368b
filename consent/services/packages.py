"""Sharing packages: the file an approved sharing request produces, downloaded by its requester
without the customers who withdrew since, and deleted when it expires."""

import csv
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.categories import columns_for_categories
from consent.models import SharingPackage, SharingPackageCustomer, SharingRequest
from consent.services.imports import IMPORT_BATCH_SIZE
from consent.sharing_selectors import sharing_eligible_customers
from customers.models.exports import Export
from portal.audit import audit_record
from portal.audit_actions import AuditAction
from portal.csv_export import csv_text, safe_writer
from portal.display import date_text, datetime_text
from portal.errors import ApplicationError, NotAllowed
from portal.history import history_user_set
from portal.models import ChainStatus, User
from portal.notifications import notify
from portal.site_calendar import add_calendar_days

PACKAGE_DAYS = 7


class PackageGone(ApplicationError):
    """The package may no longer be downloaded (its seven days are over, it was deleted,
    or the agreement ended): the pages and the API answer 410 Gone with this message."""


@dataclass(frozen=True)
class PackageDownload:
    filename: str
    content: str
    export_id: str
    rows: int


def _audit_package_create(*, actor: User, package: SharingPackage) -> None:
    """Record the new package: its rows and columns, and to whom and under what it goes."""
    sharing_request = package.request
    audit_record(
        actor=actor,
        action=AuditAction.SHARING_PACKAGE_CREATE,
        target=package,
        asset_id=sharing_request.asset_id,
        detail={
            "export_id": package.export_id,
            "rows": package.row_count,
            "columns": package.columns,
            "purpose": sharing_request.purpose.key,
            "recipient": sharing_request.recipient,
            "recipient_country": sharing_request.recipient_country,
            "agreement_reference": sharing_request.agreement_reference,
        },
    )


@transaction.atomic
def sharing_package_create(*, sharing_request: SharingRequest, actor: User) -> SharingPackage:
    """Make the one package of a fully approved request: the customers eligible for
    sharing at this moment (the consent selectors), only the chosen categories' columns,
    downloadable by the requester for ``PACKAGE_DAYS`` days. The customers it contains are
    remembered for Art. 19; the package is audited and the requester told."""
    sharing_request = (
        SharingRequest.objects.select_for_update()
        .select_related("asset", "purpose", "chain", "requester")
        .get(pk=sharing_request.pk)
    )
    if sharing_request.chain.status != ChainStatus.APPROVED:
        raise ApplicationError(_("Only an approved sharing request produces a package."))
    if SharingPackage.objects.filter(request=sharing_request).exists():
        raise ApplicationError(_("This sharing request already has its package."))
    columns = columns_for_categories([c.key for c in sharing_request.categories.all()])
    customer_ids: list[int] = []

    def rows() -> Iterator[dict[str, Any]]:
        eligible = sharing_eligible_customers(sharing_request.asset, sharing_request.purpose)
        for row in eligible.order_by("id").values(*columns).iterator(chunk_size=2000):
            customer_ids.append(row["id"])
            yield row

    content = csv_text(columns, rows())
    now = timezone.now()
    package = SharingPackage(
        request=sharing_request,
        export_id=uuid.uuid4().hex,
        created_at=now,
        expires_at=add_calendar_days(now, PACKAGE_DAYS),
        row_count=len(customer_ids),
        columns=columns,
        content=content,
    )
    history_user_set(package, actor)
    package.save()
    SharingPackageCustomer.objects.bulk_create(
        [SharingPackageCustomer(package=package, customer_id=pk) for pk in customer_ids],
        batch_size=IMPORT_BATCH_SIZE,
    )
    _audit_package_create(actor=actor, package=package)
    notify(
        users=[sharing_request.requester],
        kind="sharing_package_ready",
        context={"sharing_request": sharing_request, "package": package},
        target=sharing_request,
    )
    return package


def _without_rows_of(content: str, keep_ids: set[int]) -> tuple[str, int, int]:
    """The CSV ``content`` with only the rows whose id (first column) is in ``keep_ids``:
    (text, rows kept, rows left out)."""
    reader = csv.reader(io.StringIO(content, newline=""))
    out = io.StringIO(newline="")
    writer = safe_writer(out)
    kept = dropped = 0
    for number, row in enumerate(reader):
        if number == 0 or int(row[0]) in keep_ids:
            writer.writerow(row)
            kept += number > 0
        else:
            dropped += 1
    return out.getvalue(), kept, dropped


@transaction.atomic
def sharing_package_download(*, sharing_request: SharingRequest, actor: User) -> PackageDownload:
    """The requester's download of the package.

    Guarantees: only the requester (anyone else: ``NotAllowed``; the loaders answer 404
    before that); only while the package is within its seven days, not deleted and the
    agreement runs (else ``PackageGone``, whatever the beat job has done yet); a customer
    who withdrew since packaging is left out (a withdrawal takes effect at once, in every
    export); each download is an ``export.download`` audit event with the export id and
    the rows delivered, and a row of the export ledger (``customers.Export``) beside it.
    """
    package = SharingPackage.objects.select_related("request__asset", "request__purpose").get(
        request=sharing_request
    )
    shared = package.request
    if actor.pk != shared.requester_id:
        raise NotAllowed(_("Only the person who asked can download the package."))
    if package.deleted_at:
        raise PackageGone(
            _("This package was deleted on %(moment)s: packages are kept for %(days)s days.")
            % {"moment": datetime_text(package.deleted_at), "days": PACKAGE_DAYS}
        )
    if not package.is_available():
        raise PackageGone(
            _("This package expired on %(moment)s: packages are kept for %(days)s days.")
            % {"moment": datetime_text(package.expires_at), "days": PACKAGE_DAYS}
        )
    if shared.agreement_end < timezone.localdate():
        raise PackageGone(
            _("The agreement ended on %(day)s.") % {"day": date_text(shared.agreement_end)}
        )
    still_eligible = set(
        sharing_eligible_customers(shared.asset, shared.purpose)
        .filter(pk__in=package.members.values("customer_id"))
        .values_list("pk", flat=True)
    )
    content, rows, left_out = package.content, package.row_count, 0
    if len(still_eligible) != package.row_count:
        content, rows, left_out = _without_rows_of(package.content, still_eligible)
    SharingPackage.objects.filter(pk=package.pk).update(download_count=F("download_count") + 1)
    event = audit_record(
        actor=actor,
        action=AuditAction.EXPORT_DOWNLOAD,
        target=package,
        asset_id=shared.asset_id,
        detail={
            "kind": "sharing",
            "export_id": package.export_id,
            "rows": rows,
            "left_out_withdrawn": left_out,
            "columns": package.columns,
            "purpose": shared.purpose.key,
            "recipient": shared.recipient,
        },
    )
    Export.objects.record(
        event=event, package=package, columns=package.columns, left_out_withdrawn=left_out
    )
    return PackageDownload(
        filename=package.filename, content=content, export_id=package.export_id, rows=rows
    )


def sharing_packages_delete_expired(*, now: datetime | None = None) -> int:
    """Beat job: delete the file of every package past its seven days (the list of the
    customers it contained stays, for Art. 19). Idempotent; downloads never wait for it,
    they check the expiry themselves."""
    now = now or timezone.now()
    due = SharingPackage.objects.filter(deleted_at__isnull=True, expires_at__lte=now)
    deleted = 0
    for pk in list(due.values_list("pk", flat=True)):
        with transaction.atomic():
            package = SharingPackage.objects.select_for_update().get(pk=pk)
            if package.deleted_at is not None:
                continue
            package.content = ""
            package.deleted_at = now
            history_user_set(package, None)
            package.save(update_fields=["content", "deleted_at"])
            audit_record(
                actor=None,
                action=AuditAction.SHARING_PACKAGE_DELETE,
                target=package,
                detail={"export_id": package.export_id, "rows": package.row_count},
            )
            deleted += 1
    return deleted
