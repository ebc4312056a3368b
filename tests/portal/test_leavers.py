"""The leaver: deactivating an account ends everything it held, at once, in one
transaction, whichever door the deactivation came through (SCIM, the Django admin); and the
mover: a new department or manager sends the person's grants to their owners."""

import json

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from consent.models import Purpose
from customers.models.access_reviews import AccessReview
from customers.models.catalogue import DataAsset
from customers.services.access import access_request_create
from customers.visibility import active_grants
from portal.approvals import why_not_decider
from portal.identity.leavers import deactivate_account
from portal.identity.scim_tokens import scim_token_create
from portal.models import ApprovalStep, AuditEvent, ChainStatus, Notification, StepStatus
from portal.models import UserSession as Session
from tests.customers.conftest import (  # noqa: F401 (fixtures)
    JUSTIFICATION,
    confidential_asset,
    email_marketing,
)
from tests.customers.test_grants import approved_grant
from tests.factories import DataAssetFactory, UserFactory
from tests.portal.test_admin_audit import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(db):
    return UserFactory(username="root", is_superuser=True, is_staff=True)


@pytest.fixture
def scim(admin_user):
    """A SCIM client with a token an administrator created."""
    _token, raw = scim_token_create(actor=admin_user, name="directory")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.fixture
def leaver_world(
    requester,
    owner,
    compliance_officer,
    confidential_asset,  # noqa: F811 - the imported fixture
    email_marketing,  # noqa: F811 - the imported fixture
):
    """``requester`` (the leaver) holds a grant, a pending request, the open owner step of
    someone else's request, an API token and a signed-in session."""
    grant = approved_grant(requester, confidential_asset, email_marketing)
    service = Purpose.objects.get(key="essential.service")
    pending = access_request_create(
        actor=requester, asset=confidential_asset, purpose=service, justification=JUSTIFICATION
    )
    owned = DataAssetFactory(owner=requester, customers=3, collected_for=["essential.service"])
    colleague = UserFactory(username="colleague")
    waiting = access_request_create(
        actor=colleague, asset=owned, purpose=service, justification=JUSTIFICATION
    )
    token = Token.objects.create(user=requester)
    browser = Client()
    browser.force_login(requester)
    assert browser.get("/").status_code == 200
    return {
        "grant": grant,
        "pending": pending,
        "waiting": waiting,
        "token": token,
        "browser": browser,
    }


def deactivate_by_scim(scim, user, admin_user, client):
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": False}],
    }
    response = scim.patch(
        f"/scim/v2/Users/{user.pk}", json.dumps(body), content_type="application/scim+json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["active"] is False


def deactivate_in_admin(scim, user, admin_user, client):
    client.force_login(admin_user)
    path = f"/admin/portal/user/{user.pk}/change/"
    data = form_data(client, path)
    data.pop("is_active", None)  # the box unticked
    assert client.post(path, data).status_code == 302


@pytest.mark.parametrize("deactivate", [deactivate_by_scim, deactivate_in_admin])
def test_a_leaver_loses_every_grant_request_step_token_and_session_at_once(
    deactivate, leaver_world, requester, compliance_officer, scim, admin_user, client
):
    world = leaver_world
    deactivate(scim, requester, admin_user, client)

    assert not active_grants().filter(user=requester).exists()
    world["grant"].refresh_from_db()
    assert (
        world["grant"].revoked_at is not None
        and "deactivat" in world["grant"].revoke_reason.lower()
    )
    world["pending"].chain.refresh_from_db()
    assert world["pending"].chain.status == ChainStatus.WITHDRAWN
    step = ApprovalStep.objects.get(chain=world["waiting"].chain, position=1)
    assert (step.status, step.role, step.approver_id) == (StepStatus.OPEN, "compliance", None)
    assert why_not_decider(compliance_officer, step) == ""
    assert Notification.objects.filter(
        recipient=compliance_officer, kind="approval_needed", target_id=str(step.chain_id)
    ).exists()
    assert not Token.objects.filter(user=requester).exists()
    api = Client(HTTP_AUTHORIZATION=f"Token {world['token'].key}")
    assert api.get("/api/grants/").status_code in (401, 403)
    assert world["browser"].get("/").status_code == 302  # the session ended: to the login
    # Ended, not only refused: the session row itself is gone.
    assert not Session.objects.filter(session_key=world["browser"].session.session_key).exists()

    events = AuditEvent.objects.filter(action="account.deactivate", target_id=str(requester.pk))
    assert events.count() == 1
    detail = events.get().detail
    assert detail["grants_revoked"] == [world["grant"].pk]
    assert detail["requests_withdrawn"] == [world["pending"].chain_id]
    assert detail["steps_handed_over"] == [world["waiting"].chain_id]
    assert len(detail["api_tokens_deleted"]) == 1 and detail["sessions_ended"] == 1
    assert detail["via"] in ("scim", "admin")


def test_deactivating_twice_changes_nothing_the_second_time(leaver_world, requester):
    first = deactivate_account(requester, reason="Left the company today.", channel="command")
    events = AuditEvent.objects.count()
    second = deactivate_account(requester, reason="Left the company today.", channel="command")
    assert first.changed and not second.changed
    assert AuditEvent.objects.count() == events


def test_a_short_reason_or_unknown_channel_changes_nothing(requester):
    with pytest.raises(Exception, match="10 characters"):
        deactivate_account(requester, reason="gone", channel="command")
    with pytest.raises(Exception, match="channel"):
        deactivate_account(requester, reason="Left the company today.", channel="fax")
    requester.refresh_from_db()
    assert requester.is_active


def test_reactivating_restores_no_grant(scim, leaver_world, requester):
    deactivate_account(requester, reason="Left the company today.", channel="command")
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": True}],
    }
    response = scim.patch(
        f"/scim/v2/Users/{requester.pk}", json.dumps(body), content_type="application/scim+json"
    )
    assert response.status_code == 200 and response.json()["active"] is True
    assert not active_grants().filter(user=requester).exists()
    assert AuditEvent.objects.filter(action="account.reactivate").count() == 1


def test_a_mover_s_grants_go_to_their_owners_to_re_confirm(
    scim,
    requester,
    owner,
    compliance_officer,
    confidential_asset,  # noqa: F811 - the imported fixture
    email_marketing,  # noqa: F811 - the imported fixture
):
    grant = approved_grant(requester, confidential_asset, email_marketing)
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {
                "op": "replace",
                "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                "value": "Marketing",
            }
        ],
    }
    response = scim.patch(
        f"/scim/v2/Users/{requester.pk}", json.dumps(body), content_type="application/scim+json"
    )
    assert response.status_code == 200, response.content
    review = AccessReview.objects.get(scope_holder=requester)
    assert review.started_by is None and review.undecided_outcome == "revoke"
    assert [(i.grant_id, i.reviewer_id) for i in review.items.all()] == [(grant.pk, owner.pk)]
    told = Notification.objects.get(recipient=owner, kind="access_review_started")
    assert "changed department or manager" in told.body and "None" not in told.body
    event = AuditEvent.objects.get(action="account.move")
    assert "department" in event.detail["change"] and event.detail["reviews_started"] == [review.pk]
    # The same department again is no move.
    scim.patch(
        f"/scim/v2/Users/{requester.pk}", json.dumps(body), content_type="application/scim+json"
    )
    assert AccessReview.objects.filter(scope_holder=requester).count() == 1


def test_a_request_for_an_asset_the_leaver_owned_goes_to_compliance_not_to_nobody(
    leaver_world, requester, compliance_officer
):
    """The leaver still owns their assets until compliance names a new owner; a request
    made meanwhile must have an owner step someone can decide."""
    deactivate_account(requester, reason="Left the company on 30 November.", channel="command")
    owned = DataAsset.objects.get(pk=leaver_world["waiting"].asset_id)  # as a page loads it

    later = access_request_create(
        actor=UserFactory(username="newcomer"),
        asset=owned,
        purpose=Purpose.objects.get(key="essential.service"),
        justification=JUSTIFICATION,
    )

    step = ApprovalStep.objects.get(chain=later.chain, position=1)
    assert (step.role, step.approver_id, step.replaces_owner) == ("compliance", None, True)
    assert why_not_decider(compliance_officer, step) == ""


def test_a_leaver_s_sessions_are_found_by_their_person_and_nobody_else_s_end(
    requester, owner, django_assert_num_queries
):
    from portal.identity.leavers import sessions_end

    browsers = {}
    for person in (requester, requester, owner):
        browser = Client()
        browser.force_login(person)
        browsers.setdefault(person.username, []).append(browser)
    assert Session.objects.filter(user_id=requester.pk).count() == 2

    # Two statements whatever the number of sessions in the company: no session is decoded.
    with django_assert_num_queries(2):
        assert sessions_end(requester) == 2

    assert all(b.get("/").status_code == 302 for b in browsers[requester.username])
    assert browsers[owner.username][0].get("/").status_code == 200
    assert Session.objects.filter(user_id=owner.pk).count() == 1


def test_ticking_active_again_in_the_admin_is_a_recorded_reactivation(
    scim, leaver_world, requester, admin_user, client
):
    deactivate_in_admin(scim, requester, admin_user, client)
    path = f"/admin/portal/user/{requester.pk}/change/"
    data = form_data(client, path)
    data["is_active"] = "on"

    assert client.post(path, data).status_code == 302

    requester.refresh_from_db()
    assert requester.is_active
    assert not active_grants().filter(user=requester).exists()  # nothing ended comes back
    event = AuditEvent.objects.get(action="account.reactivate", target_id=str(requester.pk))
    assert event.actor == admin_user
    assert event.detail["via"] == "admin"
    assert "Reactivated in the Django admin" in event.detail["reason"]
