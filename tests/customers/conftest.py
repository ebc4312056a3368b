import pytest

from consent.models import Purpose
from consent.services.records import consent_record
from customers.models.catalogue import Classification
from tests.factories import DataAssetFactory

EMAIL_MARKETING = "marketing.communications.email"


def consent(customers, key: str = EMAIL_MARKETING, status: str = "granted", when=None):
    """Record each customer's consent (or withdrawal) the way the portal does."""
    purpose = Purpose.objects.get(key=key)
    for customer in customers:
        consent_record(
            actor=None,
            customer=customer,
            purpose=purpose,
            status=status,
            source="web_form",
            evidence="test",
            effective_at=when,
        )


@pytest.fixture
def email_marketing(db):
    return Purpose.objects.get(key=EMAIL_MARKETING)


@pytest.fixture
def confidential_asset(owner):
    """10 customers, the first 4 agreed to marketing e-mail; confirmed confidential."""
    asset = DataAssetFactory(
        owner=owner,
        name="Retail list",
        customers=10,
        categories=["user.contact.email", "user.name"],
        collected_for=["essential.service"],
        classification=Classification.CONFIDENTIAL,
        classification_confirmed=True,
    )
    consent(list(asset.customers.order_by("id")[:4]))
    return asset


JUSTIFICATION = "Spring campaign to customers who agreed to hear about new products."
