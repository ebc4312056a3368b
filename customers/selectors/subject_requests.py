"""Data subject requests and erasure tasks as compliance and asset owners see them, and the
Art. 12(3) GDPR due date."""

from datetime import date

from django.contrib.auth.models import AnonymousUser
from django.db.models import Prefetch, QuerySet

from customers.models.catalogue import DataAsset
from portal import roles
from portal.models import User
from portal.site_calendar import add_months


def subject_request_list_for(user: User | AnonymousUser | None) -> QuerySet:
    """Data subject requests ``user`` may see: compliance only (the requests name the
    customer and what they asked for; legal and owners see only their own tasks)."""
    from customers.models.subject_requests import DataSubjectRequest

    if user is None or not user.is_active or not roles.is_compliance(user):
        return DataSubjectRequest.objects.none()
    return DataSubjectRequest.objects.select_related(
        "customer", "verified_by", "closed_by", "created_by"
    ).prefetch_related("purposes", erasure_tasks_with_details())


def erasure_tasks_with_details() -> Prefetch:
    from customers.models.subject_requests import ErasureTask

    return Prefetch(
        "erasure_tasks",
        queryset=ErasureTask.objects.select_related("owner", "confirmed_by")
        .prefetch_related(Prefetch("assets", queryset=DataAsset.objects.order_by("name")))
        .order_by("id"),
    )


def erasure_tasks_of(user: User | AnonymousUser | None) -> QuerySet:
    """The erasure tasks ``user`` must carry out: those on the assets they own, only."""
    from customers.models.subject_requests import ErasureTask

    if user is None or not user.is_authenticated:
        return ErasureTask.objects.none()
    return (
        ErasureTask.objects.filter(owner=user)
        .select_related("request", "request__customer", "owner", "confirmed_by")
        .prefetch_related(Prefetch("assets", queryset=DataAsset.objects.order_by("name")))
        .order_by("confirmed_at", "request__due_on", "id")
    )


def subject_request_due_date(received_on: date, extension_months: int = 0) -> date:
    """One calendar month after receipt, plus the extension (GDPR Art. 12(3)).

    The month is counted to the same day of the next month, or its last day when there is
    no such day (EU Regulation 1182/71): received 31 January, due 28 (or 29) February.
    """
    return add_months(received_on, 1 + extension_months)
