import re
import threading

import pytest
from django.core import mail
from django.db import connection

from customers.models.access import AccessGrant, AccessRequest
from customers.models.catalogue import Classification
from customers.services.access import (
    access_request_create,
    access_request_decide,
    access_request_withdraw,
)
from portal.errors import ApplicationError, CoverageRefusal, NotAllowed
from portal.models import AuditEvent, Notification
from tests.conftest import add_to_group, approval_needed_recipients
from tests.customers.conftest import JUSTIFICATION
from tests.factories import DataAssetFactory, UserFactory

pytestmark = pytest.mark.django_db


def ask(actor, asset, purpose, **kwargs):
    kwargs.setdefault("justification", JUSTIFICATION)
    return access_request_create(actor=actor, asset=asset, purpose=purpose, **kwargs)


def decide(access_request, actor, approve=True, reason="Looks justified to me."):
    return access_request_decide(
        access_request=access_request, actor=actor, approve=approve, reason=reason
    )


def roles_of(access_request) -> list[str]:
    return [step.role for step in access_request.chain.steps.order_by("position")]


@pytest.mark.parametrize(
    "classification, confirmed, chain",
    [
        ("public", True, ["owner"]),
        ("internal", True, ["owner"]),
        ("confidential", True, ["owner", "compliance"]),
        ("restricted", True, ["owner", "compliance", "legal"]),
        # Unconfirmed counts as at least confidential (seed promise 5).
        ("public", False, ["owner", "compliance"]),
    ],
)
def test_chain_follows_the_effective_classification(
    requester, owner, email_marketing, classification, confirmed, chain
):
    from tests.customers.conftest import consent

    asset = DataAssetFactory(
        owner=owner,
        customers=2,
        classification=classification,
        classification_confirmed=confirmed,
    )
    consent(asset.customers.all())

    assert roles_of(ask(requester, asset, email_marketing)) == chain


def test_owner_requesting_own_asset_is_replaced_by_compliance(
    owner, confidential_asset, email_marketing
):
    access_request = ask(owner, confidential_asset, email_marketing)

    steps = list(access_request.chain.steps.order_by("position"))
    assert [(s.role, s.replaces_owner) for s in steps] == [
        ("compliance", True),
        ("compliance", False),
    ]
    with pytest.raises(NotAllowed, match="Nobody decides a step of their own request"):
        decide(access_request, owner)


def test_request_shows_coverage_and_notifies_the_first_deciders_only(
    requester,
    owner,
    compliance_officer,
    confidential_asset,
    email_marketing,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        access_request = ask(requester, confidential_asset, email_marketing)

    assert (access_request.eligible_at_request, access_request.total_at_request) == (4, 10)
    assert access_request.chain.summary == "4 of 10 customers eligible"
    assert [m.to for m in mail.outbox] == [[owner.email]]
    assert "Approval needed" in mail.outbox[0].subject


def test_full_approval_creates_a_grant_with_object_permissions_and_tells_everyone(
    requester,
    owner,
    compliance_officer,
    confidential_asset,
    email_marketing,
    django_capture_on_commit_callbacks,
):
    access_request = ask(requester, confidential_asset, email_marketing, level="export")
    with django_capture_on_commit_callbacks(execute=True):
        decide(access_request, owner)
    assert compliance_officer.email in [m.to[0] for m in mail.outbox]

    with django_capture_on_commit_callbacks(execute=True):
        decide(access_request, compliance_officer)

    grant = AccessGrant.objects.get(request=access_request)
    assert (grant.user, grant.level, grant.purpose) == (requester, "export", email_marketing)
    assert requester.has_perm("customers.view_records", confidential_asset)
    assert requester.has_perm("customers.export_records", confidential_asset)
    assert AuditEvent.objects.filter(action="grant.create", target_id=str(grant.pk)).exists()
    outcomes = Notification.objects.filter(recipient=requester).values_list("kind", flat=True)
    assert {"request_progress", "request_decided", "grant_created"} <= set(outcomes)


def test_a_restricted_asset_needs_legal(
    requester, owner, compliance_officer, legal_counsel, email_marketing
):
    from tests.customers.conftest import consent

    asset = DataAssetFactory(
        owner=owner, customers=3, classification="restricted", classification_confirmed=True
    )
    consent(asset.customers.all())
    access_request = ask(requester, asset, email_marketing)
    decide(access_request, owner)
    decide(access_request, compliance_officer)

    assert not AccessGrant.objects.exists()
    with pytest.raises(NotAllowed, match="This step is for Legal"):
        decide(access_request, UserFactory(username="random"))
    decide(access_request, legal_counsel)
    assert AccessGrant.objects.filter(request=access_request).exists()


def test_nobody_decides_a_step_of_their_own_request(
    owner, compliance_officer, confidential_asset, email_marketing
):
    access_request = ask(compliance_officer, confidential_asset, email_marketing)
    decide(access_request, owner)

    with pytest.raises(NotAllowed, match="own request"):
        decide(access_request, compliance_officer)
    assert access_request.chain.steps.get(position=2).status == "open"


def test_a_compliance_officers_request_waits_for_the_other_compliance_officers_only(
    owner,
    compliance_officer,
    second_compliance_officer,
    legal_counsel,
    confidential_asset,
    email_marketing,
):
    third = add_to_group(UserFactory(username="comp3"), "Compliance")
    access_request = ask(compliance_officer, confidential_asset, email_marketing)
    assert approval_needed_recipients(access_request, 1) == {owner.username}

    decide(access_request, owner)

    # The requester is a member of the deciding group, yet never asked to decide.
    assert approval_needed_recipients(access_request, 2) == {
        second_compliance_officer.username,
        third.username,
    }


def test_compliance_taking_the_owners_step_of_its_own_request_tells_the_others_only(
    compliance_officer, second_compliance_officer, email_marketing
):
    from tests.customers.conftest import consent

    asset = DataAssetFactory(
        owner=compliance_officer,
        customers=2,
        classification="internal",
        classification_confirmed=True,
    )
    consent(asset.customers.all())

    access_request = ask(compliance_officer, asset, email_marketing)

    assert access_request.chain.steps.get(position=1).replaces_owner
    assert approval_needed_recipients(access_request, 1) == {second_compliance_officer.username}


def test_no_person_decides_two_steps_of_one_request(requester, confidential_asset, email_marketing):
    owner = confidential_asset.owner
    add_to_group(owner, "Compliance")
    access_request = ask(requester, confidential_asset, email_marketing)
    decide(access_request, owner)

    with pytest.raises(NotAllowed, match="already decided a step"):
        decide(access_request, owner)
    assert not AccessGrant.objects.exists()


def test_only_the_decider_of_the_open_step_may_decide(
    requester, outsider, compliance_officer, confidential_asset, email_marketing
):
    access_request = ask(requester, confidential_asset, email_marketing)

    # Compliance's step is not open yet; the owner's step is not theirs.
    for person in (outsider, compliance_officer):
        with pytest.raises(NotAllowed, match="This step is for the data owner"):
            decide(access_request, person)


def test_deny_ends_the_request_and_approving_afterwards_is_refused(
    requester, owner, compliance_officer, confidential_asset, email_marketing
):
    access_request = ask(requester, confidential_asset, email_marketing)
    decide(access_request, owner, approve=False, reason="No campaign is planned this quarter.")

    access_request.chain.refresh_from_db()
    assert access_request.chain.status == "denied"
    assert list(access_request.chain.steps.values_list("status", flat=True)) == [
        "denied",
        "cancelled",
    ]
    with pytest.raises(ApplicationError, match="already denied"):
        decide(access_request, compliance_officer)


DECIDED_TWICE = "You already decided a step of this request; another person must decide this one."


def test_approving_twice_is_refused(requester, owner, confidential_asset, email_marketing):
    access_request = ask(requester, confidential_asset, email_marketing)
    decide(access_request, owner)

    # The refusal about deciding twice, word for word: not "This step is for Compliance.",
    # which the owner would also get if the rule against deciding twice were gone.
    with pytest.raises(NotAllowed, match=f"^{re.escape(DECIDED_TWICE)}$"):
        decide(access_request, owner)

    assert access_request.chain.steps.get(position=2).status == "open"


def test_requester_withdraws_while_pending_and_nobody_can_approve_it_after(
    requester, owner, confidential_asset, email_marketing
):
    access_request = ask(requester, confidential_asset, email_marketing)
    with pytest.raises(NotAllowed, match="Only the person who asked can withdraw"):
        access_request_withdraw(access_request=access_request, actor=owner)

    access_request_withdraw(access_request=access_request, actor=requester)

    with pytest.raises(ApplicationError, match="already withdrawn"):
        decide(access_request, owner)
    assert not AccessGrant.objects.exists()


def test_a_decision_needs_a_reason(requester, owner, confidential_asset, email_marketing):
    access_request = ask(requester, confidential_asset, email_marketing)

    with pytest.raises(ApplicationError, match="reason"):
        decide(access_request, owner, reason=" ")
    assert access_request.chain.steps.get(position=1).status == "open"


def test_no_eligible_customer_is_refused_at_once_with_the_reason_and_alternatives(
    requester, owner, email_marketing, confidential_asset, django_capture_on_commit_callbacks
):
    legacy = DataAssetFactory(owner=owner, name="Legacy import", customers=8)

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(CoverageRefusal) as refusal,
    ):
        ask(requester, legacy, email_marketing)

    assert refusal.value.message == (
        "None of the 8 customers in Legacy import agreed to marketing.communications.email."
    )
    assets = refusal.value.extra["alternatives"]["assets"]
    assert {
        "id": confidential_asset.pk,
        "name": "Retail list",
        "eligible": 4,
        "total": 10,
    } in assets
    assert not AccessRequest.objects.exists()
    assert mail.outbox == [] and not Notification.objects.exists()
    assert AuditEvent.objects.filter(action="access_request.refused").count() == 1


def test_refusal_lists_other_purposes_that_would_work_on_the_asset(
    requester, owner, email_marketing
):
    legacy = DataAssetFactory(owner=owner, customers=3, collected_for=["essential.service"])

    with pytest.raises(CoverageRefusal) as refusal:
        ask(requester, legacy, email_marketing)

    purposes = {row["purpose"]: row for row in refusal.value.extra["alternatives"]["purposes"]}
    assert purposes["essential.service"]["eligible"] == 3


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"justification": "Need it."}, "justification"),
        ({"justification": "aaaaaaaaaaaaaaaaaaaaaaaaaaaa aaaa aaa aaaa"}, "justification"),
        ({"duration_days": 0}, "duration_days"),
        ({"duration_days": 91}, "duration_days"),
        ({"level": "admin"}, "level"),
    ],
)
def test_bad_requests_are_refused_and_create_nothing(
    requester, confidential_asset, email_marketing, kwargs, field
):
    with pytest.raises(ApplicationError) as error:
        ask(requester, confidential_asset, email_marketing, **kwargs)

    assert error.value.field == field
    assert not AccessRequest.objects.exists()


def test_a_second_pending_request_for_the_same_thing_is_refused(
    requester, confidential_asset, email_marketing
):
    ask(requester, confidential_asset, email_marketing)

    with pytest.raises(ApplicationError, match="already have a pending request"):
        ask(requester, confidential_asset, email_marketing)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_compliance_officers_approving_at_once_make_one_decision(
    requester, owner, compliance_officer, second_compliance_officer, email_marketing
):
    from tests.customers.conftest import consent

    asset = DataAssetFactory(
        owner=owner,
        customers=2,
        classification=Classification.CONFIDENTIAL,
        classification_confirmed=True,
    )
    consent(asset.customers.all())
    access_request = ask(requester, asset, email_marketing)
    decide(access_request, owner)
    barrier = threading.Barrier(2)
    outcomes = []

    def approve(officer):
        try:
            barrier.wait(timeout=10)
            decide(AccessRequest.objects.get(pk=access_request.pk), officer)
            outcomes.append("approved")
        except ApplicationError as error:
            outcomes.append(error.message)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=approve, args=(o,))
        for o in (compliance_officer, second_compliance_officer)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes)[0] == "This request is already approved."
    assert outcomes.count("approved") == 1
    assert AccessGrant.objects.filter(request=access_request).count() == 1
    assert access_request.chain.steps.get(position=2).decided_by_id is not None


# Every state change leaves a row-history entry with who and why (bulk changes too).


def test_denying_step_one_leaves_a_cancelled_history_row_on_step_two(
    api_client, requester, owner, confidential_asset, email_marketing
):
    access_request = ask(requester, confidential_asset, email_marketing)
    api_client.force_authenticate(owner)

    response = api_client.post(
        f"/api/access-requests/{access_request.pk}/deny/",
        {"reason": "No campaign is planned this quarter."},
        format="json",
    )

    assert response.status_code == 200
    step_two = access_request.chain.steps.get(position=2)
    assert step_two.status == "cancelled"
    latest = step_two.history.order_by("-history_date", "-history_id").first()
    assert latest.status == "cancelled"
    assert latest.history_user == owner
    assert latest.history_change_reason
    assert "denied" in latest.history_change_reason.lower()
    step_one = access_request.chain.steps.get(position=1).history.first()
    assert step_one.status == "denied" and "No campaign" in step_one.history_change_reason


def test_withdrawing_leaves_a_cancelled_history_row_on_every_open_step(
    api_client, requester, confidential_asset, email_marketing
):
    access_request = ask(requester, confidential_asset, email_marketing)
    api_client.force_authenticate(requester)

    response = api_client.post(f"/api/access-requests/{access_request.pk}/withdraw/")

    assert response.status_code == 200
    for step in access_request.chain.steps.all():
        latest = step.history.order_by("-history_date", "-history_id").first()
        assert (step.status, latest.status) == ("cancelled", "cancelled")
        assert latest.history_user == requester
        assert "withdrawn" in latest.history_change_reason.lower()


def test_an_asset_of_one_customer_reads_in_the_singular(client, requester, owner, email_marketing):
    from tests.customers.conftest import consent

    asset = DataAssetFactory(
        owner=owner,
        name="One customer",
        customers=1,
        categories=["user.contact.email"],
        classification=Classification.CONFIDENTIAL,
        classification_confirmed=True,
    )
    consent(list(asset.customers.all()))

    access_request = ask(requester, asset, email_marketing)

    assert access_request.chain.summary == "1 of 1 customer eligible"
