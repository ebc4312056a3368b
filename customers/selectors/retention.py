"""Assets past the end of their retention period, for compliance and their owners."""

from datetime import date

from django.db.models import QuerySet
from django.utils import timezone

from customers.models.catalogue import DataAsset
from portal import roles
from portal.models import User


def assets_past_retention(*, today: date | None = None) -> QuerySet[DataAsset]:
    """Assets whose retention date has passed and whose deletion nobody has recorded yet:
    the compliance list at ``/retention/`` and the owners' weekly reminders read this."""
    today = today or timezone.localdate()
    return (
        DataAsset.objects.filter(retention_date__lt=today, retired_at__isnull=True)
        .select_related("owner")
        .order_by("retention_date", "name")
    )


def retention_list_for(user: User, *, today: date | None = None) -> QuerySet[DataAsset]:
    """Past-retention assets ``user`` acts on: all of them for compliance, their own for an
    owner."""
    assets = assets_past_retention(today=today)
    if roles.is_compliance(user):
        return assets
    return assets.filter(owner=user)
