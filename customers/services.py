"""Every write to customers and data assets."""

from collections.abc import Iterable
from datetime import date

from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from customers.models import AssetCustomer, Classification, Customer, DataAsset
from portal import roles
from portal.audit import audit_record
from portal.errors import ApplicationError

MIN_REASON_LENGTH = 10


class NotAllowed(ApplicationError):
    """The actor may not take this action (a 403, not a 400)."""


@transaction.atomic
def asset_create(
    *,
    actor,
    name: str,
    owner,
    description: str = "",
    source_system: str = "",
    retention_date: date | None = None,
    data_categories: Iterable = (),
    collected_for: Iterable = (),
    customers: Iterable[Customer] = (),
) -> DataAsset:
    """Register a data asset. It is ``confidential`` and unconfirmed whatever the caller
    says: only a compliance officer can confirm it or lower the class afterwards."""
    if DataAsset.objects.filter(name=name).exists():
        raise ApplicationError(f"An asset called {name!r} already exists.", field="name")
    asset = DataAsset(
        name=name,
        description=description,
        owner=owner,
        source_system=source_system,
        retention_date=retention_date,
        classification=Classification.CONFIDENTIAL,
        classification_confirmed=False,
    )
    asset._history_user = actor
    asset.save()
    asset.data_categories.set(list(data_categories))
    asset.collected_for.set(list(collected_for))
    asset_add_customers(asset=asset, actor=actor, customers=customers)
    return asset


def asset_add_customers(*, asset: DataAsset, actor, customers: Iterable[Customer]) -> int:
    """Add customers to an asset in batches, with history; present ones are left alone."""
    present = set(AssetCustomer.objects.filter(asset=asset).values_list("customer_id", flat=True))
    rows = [
        AssetCustomer(asset=asset, customer=customer)
        for customer in customers
        if customer.pk not in present
    ]
    bulk_create_with_history(rows, AssetCustomer, batch_size=2000, default_user=actor)
    return len(rows)


@transaction.atomic
def asset_classify(*, asset: DataAsset, actor, classification: str, reason: str) -> DataAsset:
    """Confirm or change an asset's classification.

    Only a member of Compliance may, always with a written reason; the change and its reason
    are in the asset's history with who made it.
    """
    if not roles.is_compliance(actor):
        raise NotAllowed("Only a compliance officer can confirm or change a classification.")
    if classification not in Classification.values:
        raise ApplicationError(
            f"Unknown classification {classification!r}.", field="classification"
        )
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise ApplicationError(
            "Give the reason for this classification (a sentence, at least "
            f"{MIN_REASON_LENGTH} characters).",
            field="reason",
        )
    # Lock the row: two officers classifying at once must not interleave their writes.
    asset = DataAsset.objects.select_for_update().get(pk=asset.pk)
    before = {"classification": asset.classification, "confirmed": asset.classification_confirmed}
    asset.classification = classification
    asset.classification_confirmed = True
    asset.classification_reason = reason
    asset.classified_by = actor
    asset.classified_at = timezone.now()
    asset._history_user = actor
    asset._change_reason = reason
    asset.save()
    audit_record(
        actor=actor,
        action="asset.classification_change",
        target=asset,
        detail={"from": before, "to": classification, "reason": reason},
    )
    return asset
