"""What an approver reads of a requester's other grants (``other_active_grants_by_user``,
one statement) agrees with the two rules it stands on, read plainly: ``active_grants`` and
``asset_list_for``, for every kind of viewer."""

from datetime import timedelta

import pytest
from django.utils import timezone

from consent.models import Purpose
from customers.models.access import AccessGrant
from customers.models.catalogue import Classification
from customers.selectors.grants import other_active_grants_by_user
from customers.visibility import active_grants, asset_list_for
from tests.customers.conftest import consent
from tests.customers.test_grants import approved_grant
from tests.factories import DataAssetFactory, UserFactory

pytestmark = pytest.mark.django_db

EMAIL = "marketing.communications.email"


def expected(user_ids, viewer, limit):
    """The same answer from the rules read one by one: newest first, visible ones named."""
    visible = set(asset_list_for(viewer).values_list("pk", flat=True))
    answer = {}
    for user_id in user_ids:
        grants = list(active_grants().filter(user_id=user_id).order_by("-created_at", "-id"))
        if not grants:
            continue
        named = [
            (g.asset.name, g.purpose.key, g.expires_at) for g in grants if g.asset_id in visible
        ]
        answer[user_id] = (named if limit is None else named[:limit], len(grants))
    return answer


def read(user_ids, viewer, limit):
    found = other_active_grants_by_user(user_ids, viewer=viewer, limit=limit)
    return {
        user_id: ([(g.asset_name, g.purpose, g.expires_at) for g in o.shown], o.total)
        for user_id, o in found.items()
    }


@pytest.fixture
def people(requester, owner, compliance_officer, legal_counsel, outsider):
    """rita holds grants on open, restricted and restricted-but-owned-by-otto assets, one
    revoked and one expired; oscar holds only restricted grants, one on an asset whose owner
    is otto; nobody else holds any. Created one after another, so newest first is clear."""
    purpose = Purpose.objects.get(key=EMAIL)
    keeper = UserFactory(username="keeper")

    def grant(holder, name, **asset_fields):
        asset = DataAssetFactory(customers=1, name=name, **asset_fields)
        consent(asset.customers.all())
        return approved_grant(holder, asset, purpose)

    restricted = {"classification": Classification.RESTRICTED, "classification_confirmed": True}
    grant(requester, "Open A", owner=keeper)
    grant(requester, "Hidden B", owner=keeper, **restricted)
    grant(requester, "Otto's restricted C", owner=owner, **restricted)
    revoked = grant(requester, "Revoked D", owner=keeper)
    AccessGrant.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    expired = grant(requester, "Expired E", owner=keeper)
    AccessGrant.objects.filter(pk=expired.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    grant(requester, "Open F", owner=keeper)
    grant(outsider, "Hidden G", owner=keeper, **restricted)
    grant(outsider, "Otto's restricted H", owner=owner, **restricted)
    # otto holds a grant of his own on a restricted asset: he sees it through that grant
    grant(owner, "Hidden I", owner=keeper, **restricted)
    return [requester.pk, outsider.pk, owner.pk, compliance_officer.pk, keeper.pk]


@pytest.mark.parametrize("viewer_name", ["own", "comp", "out", "keeper", "inactive"])
def test_every_viewer_reads_what_the_rules_say(people, viewer_name):
    from portal.models import User

    if viewer_name == "inactive":
        viewer = UserFactory(username="gone", is_active=False)
    else:
        viewer = User.objects.get(username=viewer_name)

    for limit in (None, 1, 2, 5):
        assert read(people, viewer, limit) == expected(people, viewer, limit), limit


def test_an_owner_sees_his_own_restricted_asset_and_counts_the_others(people, owner):
    rita, oscar = people[0], people[1]

    found = other_active_grants_by_user(people, viewer=owner, limit=2)

    assert [g.asset_name for g in found[rita].shown] == ["Open F", "Otto's restricted C"]
    assert (found[rita].total, found[rita].more) == (4, 2)
    assert [g.asset_name for g in found[oscar].shown] == ["Otto's restricted H"]
    assert (found[oscar].total, found[oscar].more) == (2, 1)
    assert set(found) == {rita, oscar, owner.pk}


def test_nobody_asked_for_reads_nothing(owner):
    assert other_active_grants_by_user([], viewer=owner) == {}
