"""Writes to data assets: creating one, its customers (memberships), its cached customer count and
its classification (confidential until a compliance officer confirms otherwise)."""

from collections.abc import Iterable
from datetime import date

from django.db import connection, transaction
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from simple_history.utils import bulk_create_with_history

from consent.coverage_cache import coverage_changed
from customers import policies
from customers.models.catalogue import AssetCustomer, Classification, Customer, DataAsset
from portal.audit import audit_record
from portal.audit_actions import AuditAction
from portal.errors import ApplicationError
from portal.history import change_reason, history_paused, save_with_history
from portal.input_limits import require_visible_text
from portal.models import User
from portal.reasons import clean_reason


@transaction.atomic
def asset_create(
    *,
    actor: User,
    name: str,
    owner: User,
    description: str = "",
    source_system: str = "",
    retention_date: date | None = None,
    data_categories: Iterable = (),
    collected_for: Iterable = (),
    customers: Iterable[Customer] = (),
    # A fixed text, kept in English and translated where the history is shown.
    reason: str = gettext_noop("Registered in the catalogue"),
) -> DataAsset:
    """Register a data asset. It is ``confidential`` and unconfirmed whatever the caller
    says: only a compliance officer can confirm it or lower the class afterwards.

    The asset's history starts with one row, the creation, holding its data categories
    and collection purposes, with ``actor`` and ``reason`` (cut to 100 characters):
    setting the many-to-many fields would otherwise add a "changed" row each, with no
    reason and no visible change."""
    require_visible_text(name, field="name", what=_("The asset's name"))
    if DataAsset.objects.filter(name=name).exists():
        raise ApplicationError(
            _("An asset called %(name)r already exists.") % {"name": name}, field="name"
        )
    asset = DataAsset(
        name=name,
        description=description,
        owner=owner,
        source_system=source_system,
        retention_date=retention_date,
        classification=Classification.CONFIDENTIAL,
        classification_confirmed=False,
    )
    with history_paused(asset):
        asset.save()
        asset.data_categories.set(list(data_categories))
        asset.collected_for.set(list(collected_for))
    # One history row with the many-to-many values (simple-history copies them into the row
    # it writes), marked as the creation it is.
    save_with_history(asset, actor=actor, reason=reason)
    creation = asset.history.latest()
    creation.history_type = "+"
    creation.save(update_fields=["history_type"])
    asset_add_customers(asset=asset, actor=actor, customers=customers)
    return asset


@transaction.atomic
def asset_add_customers(*, asset: DataAsset, actor: User, customers: Iterable[Customer]) -> int:
    """Add customers to an asset in batches, with history; present ones are left alone."""
    _lock_assets([asset.pk])
    present = set(AssetCustomer.objects.filter(asset=asset).values_list("customer_id", flat=True))
    rows = [
        AssetCustomer(asset=asset, customer=customer)
        for customer in customers
        if customer.pk not in present
    ]
    bulk_create_with_history(rows, AssetCustomer, batch_size=2000, default_user=actor)
    _memberships_changed([asset.pk])
    asset.refresh_from_db(fields=["customer_count"])
    return len(rows)


def _lock_assets(asset_ids: Iterable[int]) -> None:
    """Serialise membership changes per asset (in id order: no deadlock between two
    changes of several assets), so each recount sees every change committed before it."""
    list(
        DataAsset.objects.select_for_update()
        .filter(pk__in=set(asset_ids))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _memberships_changed(asset_ids: Iterable[int]) -> None:
    """After customers were added to or removed from these (locked) assets."""
    asset_customer_counts_refresh(asset_ids)
    coverage_changed()


def asset_customer_counts_refresh(asset_ids: Iterable[int] | None = None) -> None:
    """Store the number of customers of these assets (all with ``None``), counted in one
    statement: every service that adds or removes memberships calls it in its transaction,
    after locking the assets (``seed_scale`` writes the counts with the rows it loads)."""
    counted = (
        AssetCustomer.objects.filter(asset=OuterRef("pk"))
        .order_by()
        .values("asset")
        .annotate(n=Count("pk"))
        .values("n")
    )
    assets = (
        DataAsset.objects.all()
        if asset_ids is None
        else DataAsset.objects.filter(pk__in=set(asset_ids))
    )
    assets.update(customer_count=Coalesce(Subquery(counted, output_field=IntegerField()), 0))


@transaction.atomic
def asset_classify(*, asset: DataAsset, actor: User, classification: str, reason: str) -> DataAsset:
    """Confirm or change an asset's classification.

    Only a member of Compliance may, always with a written reason; the change and its reason
    are in the asset's history with who made it.
    """
    policies.require_may_manage_asset(actor, _("confirm or change a classification"))
    if classification not in Classification.values:
        raise ApplicationError(
            _("Unknown classification %(classification)r.") % {"classification": classification},
            field="classification",
        )
    reason = clean_reason(reason, what=_("the reason for this classification"))
    # Lock the row: two officers classifying at once must not interleave their writes.
    asset = DataAsset.objects.select_for_update().get(pk=asset.pk)
    before = {"classification": asset.classification, "confirmed": asset.classification_confirmed}
    asset.classification = classification
    asset.classification_confirmed = True
    asset.classification_reason = reason
    asset.classified_by = actor
    asset.classified_at = timezone.now()
    save_with_history(asset, actor=actor, reason=reason)
    audit_record(
        actor=actor,
        action=AuditAction.ASSET_CLASSIFICATION_CHANGE,
        target=asset,
        detail={"from": before, "to": classification, "reason": reason},
    )
    return asset


def memberships_remove(*, memberships: QuerySet[AssetCustomer], actor: User, reason: str) -> int:
    """Remove customers from assets, leaving one removal row in the membership history for
    each (who, when, why): the footprint and the asset's history still show that the asset
    held them, and until when. Two statements per 2,000 rows, whatever the size.

    The assets are locked before their rows are read, and only the locked assets' rows are
    removed in a round; a membership another transaction committed meanwhile in a further
    asset is taken in the next round, under that asset's lock (each count stays exact)."""
    removed = 0
    while asset_ids := sorted(
        set(memberships.order_by().values_list("asset_id", flat=True).distinct())
    ):
        _lock_assets(asset_ids)
        rows = list(memberships.filter(asset_id__in=asset_ids).select_for_update())
        _delete_with_history(rows, actor=actor, reason=reason)
        _memberships_changed(asset_ids)
        removed += len(rows)
    return removed


def _delete_with_history(rows: list[AssetCustomer], *, actor: User | None, reason: str) -> None:
    now = timezone.now()
    History = AssetCustomer.history.model
    History.objects.bulk_create(
        [
            History(
                id=row.pk,
                asset_id=row.asset_id,
                customer_id=row.customer_id,
                added_at=row.added_at,
                history_date=now,
                history_type="-",
                history_user=actor if getattr(actor, "is_authenticated", False) else None,
                history_change_reason=change_reason(reason),
            )
            for row in rows
        ],
        batch_size=2000,
    )
    # Raw DELETE: the ORM's delete() would make simple-history write a second removal row
    # per membership, one query each, without the reason.
    table = connection.ops.quote_name(AssetCustomer._meta.db_table)
    ids = [row.pk for row in rows]
    with connection.cursor() as cursor:
        for start in range(0, len(ids), 2000):
            chunk = ids[start : start + 2000]
            placeholders = ", ".join(["%s"] * len(chunk))
            cursor.execute(f"DELETE FROM {table} WHERE id IN ({placeholders})", chunk)  # noqa: S608
