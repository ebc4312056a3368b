from datetime import UTC, datetime, timedelta

import pytest

from consent.models import LawfulBasis, Purpose
from consent.services.records import consent_record

T0 = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


def at(days: int) -> datetime:
    """A fixed past moment, ``days`` after 1 January 2024."""
    return T0 + timedelta(days=days)


def purpose(key: str) -> Purpose:
    return Purpose.objects.get(key=key)


@pytest.fixture
def record(compliance_officer):
    """Record consent through the service, as the compliance officer."""

    def _record(customer, key, status, when, **extra):
        return consent_record(
            actor=compliance_officer,
            customer=customer,
            purpose=purpose(key),
            status=status,
            source=extra.pop("source", "web_form"),
            evidence=extra.pop("evidence", "form-1"),
            notice_version=extra.pop("notice_version", "v1"),
            effective_at=when,
            **extra,
        )

    return _record


@pytest.fixture
def legitimate_interest_purpose(db):
    analytics = purpose("analytics.reporting")
    analytics.lawful_basis = LawfulBasis.LEGITIMATE_INTEREST
    analytics.save()
    return analytics
