"""Helpers of the access review tests: starting a campaign, and many grants at once."""

from datetime import timedelta

from django.utils import timezone

from customers.models.access import AccessGrant, AccessRequest
from customers.services.access_reviews import ReviewScope, ReviewSettings, review_start
from portal.models import ApprovalChain
from tests.customers.conftest import JUSTIFICATION

REASON = "Still works on the campaign."


def start(actor, *, days=14, outcome="keep", repeat="none", **scope):
    """A campaign started by ``actor``, due ``days`` from now, over ``scope``."""
    return review_start(
        actor=actor,
        settings=ReviewSettings(
            name="Q3 customer data",
            due_at=timezone.now() + timedelta(days=days),
            undecided_outcome=outcome,
            repeat=repeat,
            scope=ReviewScope(**scope),
        ),
    )


def many_grants(holders, asset, purpose) -> list[AccessGrant]:
    """One active view grant on ``asset`` for each of ``holders``, written in bulk (the
    approval journey is tested elsewhere; a page of 500 items needs 500 grants)."""
    chains = ApprovalChain.objects.bulk_create(
        ApprovalChain(kind="access", requester=holder, status="approved", title="t", link="/")
        for holder in holders
    )
    requests = AccessRequest.objects.bulk_create(
        AccessRequest(
            requester=holder,
            asset=asset,
            purpose=purpose,
            justification=JUSTIFICATION,
            classification_at_request=asset.classification,
            eligible_at_request=1,
            total_at_request=1,
            chain=chain,
        )
        for holder, chain in zip(holders, chains, strict=True)
    )
    return AccessGrant.objects.bulk_create(
        AccessGrant(
            user=request.requester,
            asset=asset,
            purpose=purpose,
            level="view",
            request=request,
            expires_at=timezone.now() + timedelta(days=30),
        )
        for request in requests
    )
