"""Compliance changes an asset's owner and what its data was collected for, in the portal,
with a reason: history, audit event, open owner steps moved; nobody else may (403, or 404
for an asset they cannot see); bad input is a form error that changes nothing."""

import pytest
from django.urls import reverse

from consent.models import LawfulBasis, Purpose
from consent.selectors import coverage_for
from customers.models.catalogue import Classification
from customers.services.access import access_request_create
from portal.approvals import open_steps_for
from portal.models import ApprovalRole, AuditEvent, Notification, StepStatus
from tests.customers.conftest import EMAIL_MARKETING, JUSTIFICATION
from tests.factories import DataAssetFactory, UserFactory

REASON = "The marketing team took over the list from sales in March."


@pytest.fixture
def new_owner(db):
    return UserFactory(username="nora", first_name="Nora", last_name="Nilsen")


@pytest.fixture
def pending_request(requester, confidential_asset, email_marketing):
    return access_request_create(
        actor=requester,
        asset=confidential_asset,
        purpose=email_marketing,
        justification=JUSTIFICATION,
    )


def post_owner(client, asset, username, reason=REASON):
    return client.post(
        reverse("customers:asset_owner", args=[asset.pk]), {"owner": username, "reason": reason}
    )


def post_purposes(client, asset, keys, reason=REASON):
    return client.post(
        reverse("customers:asset_collected_for", args=[asset.pk]),
        {"purposes": keys, "reason": reason},
    )


# --- Owner ---------------------------------------------------------------------------------


def test_compliance_hands_an_asset_to_a_new_owner_with_the_open_step(
    client, compliance_officer, confidential_asset, owner, new_owner, pending_request
):
    client.force_login(compliance_officer)

    response = post_owner(client, confidential_asset, "nora")

    assert response.status_code == 302
    confidential_asset.refresh_from_db()
    assert confidential_asset.owner == new_owner
    last = confidential_asset.history.order_by("-history_id").first()
    assert (last.history_user, last.owner_id) == (compliance_officer, new_owner.pk)
    assert last.history_change_reason == REASON[:100]
    event = AuditEvent.objects.get(action="asset.owner_change")
    assert event.actor == compliance_officer and event.asset_id == confidential_asset.pk
    assert event.detail == {
        "from": "own",
        "to": "nora",
        "reason": REASON,
        "steps_reassigned": 1,
    }
    step = pending_request.chain.steps.get(position=1)
    assert (step.role, step.approver, step.status) == ("owner", new_owner, StepStatus.OPEN)
    assert step.history.order_by("-history_id").first().history_change_reason == REASON[:100]
    assert AuditEvent.objects.filter(action="approval.reassign").count() == 1
    assert Notification.objects.filter(recipient=new_owner, kind="approval_needed").exists()
    assert Notification.objects.filter(recipient=owner, kind="asset_owner_changed").exists()
    # The new owner now decides; the old one no longer can.
    assert [s.chain_id for s in open_steps_for(new_owner)] == [pending_request.chain_id]
    assert list(open_steps_for(owner)) == []


def test_when_the_new_owner_asked_compliance_takes_the_owner_step(
    compliance_officer, confidential_asset, requester, pending_request
):
    from customers.services.stewardship import asset_owner_change

    asset_owner_change(
        actor=compliance_officer, asset=confidential_asset, owner=requester, reason=REASON
    )

    step = pending_request.chain.steps.get(position=1)
    assert (step.role, step.replaces_owner, step.approver) == (
        ApprovalRole.COMPLIANCE,
        True,
        None,
    )


def test_decided_owner_steps_stay_with_who_decided(
    client, compliance_officer, confidential_asset, owner, new_owner, pending_request
):
    from portal.approvals import step_decide

    step_decide(chain=pending_request.chain, actor=owner, approve=True, reason="Fine by me.")
    client.force_login(compliance_officer)

    assert post_owner(client, confidential_asset, "nora").status_code == 302

    step = pending_request.chain.steps.get(position=1)
    assert (step.approver, step.decided_by) == (owner, owner)
    assert AuditEvent.objects.get(action="asset.owner_change").detail["steps_reassigned"] == 0


def test_the_issues_example_a_restricted_asset_goes_to_carl_only_through_compliance(
    client, compliance_officer, owner
):
    restricted = DataAssetFactory(
        owner=owner,
        name="Key accounts",
        classification=Classification.RESTRICTED,
        classification_confirmed=True,
    )
    carl = UserFactory(username="carl")
    detail = reverse("customers:asset_detail", args=[restricted.pk])
    client.force_login(carl)
    assert client.get(detail).status_code == 404
    assert post_owner(client, restricted, "carl").status_code == 404  # cannot see it

    client.force_login(owner)
    assert post_owner(client, restricted, "carl").status_code == 403  # sees it, may not

    client.force_login(compliance_officer)
    assert post_owner(client, restricted, "carl").status_code == 302
    client.force_login(carl)
    assert client.get(detail).status_code == 200


@pytest.mark.parametrize(
    ("username", "reason", "field", "message"),
    [
        ("nobody", REASON, "owner", "No active user has this username."),
        ("gone", REASON, "owner", "No active user has this username."),
        ("own", REASON, "owner", "already owns"),
        ("nora", "", "reason", "This field is required."),
        ("nora", "Because.", "reason", "Give the reason"),
    ],
)
def test_bad_owner_input_is_a_form_error_and_changes_nothing(
    client,
    compliance_officer,
    confidential_asset,
    owner,
    new_owner,
    username,
    reason,
    field,
    message,
):
    UserFactory(username="gone", is_active=False)
    client.force_login(compliance_officer)

    response = post_owner(client, confidential_asset, username, reason)

    assert response.status_code == 400
    errors = response.context["owner_form"].errors
    assert message in " ".join(errors[field])
    confidential_asset.refresh_from_db()
    assert confidential_asset.owner == owner
    assert not AuditEvent.objects.filter(action="asset.owner_change").exists()


def test_only_compliance_changes_an_owner(
    client, confidential_asset, owner, legal_counsel, outsider, new_owner
):
    for user in (owner, legal_counsel, outsider):
        client.force_login(user)
        assert post_owner(client, confidential_asset, "nora").status_code == 403
    assert (
        client.get(reverse("customers:asset_owner", args=[confidential_asset.pk])).status_code
        == 405
    )
    confidential_asset.refresh_from_db()
    assert confidential_asset.owner == owner


def test_the_asset_page_offers_compliance_the_owner_and_purposes_forms(
    client, compliance_officer, confidential_asset, outsider
):
    detail = reverse("customers:asset_detail", args=[confidential_asset.pk])
    client.force_login(compliance_officer)
    page = client.get(detail).content.decode()
    assert reverse("customers:asset_owner", args=[confidential_asset.pk]) in page
    assert reverse("customers:asset_collected_for", args=[confidential_asset.pk]) in page
    client.force_login(outsider)
    page = client.get(detail).content.decode()
    assert reverse("customers:asset_owner", args=[confidential_asset.pk]) not in page


# --- Collection purposes -------------------------------------------------------------------


def test_compliance_records_what_an_asset_was_collected_for(
    client, compliance_officer, confidential_asset, email_marketing
):
    legitimate = Purpose.objects.get(key=EMAIL_MARKETING)
    legitimate.lawful_basis = LawfulBasis.LEGITIMATE_INTEREST
    legitimate.save()
    assert coverage_for(confidential_asset, legitimate).eligible == 4
    client.force_login(compliance_officer)

    response = post_purposes(client, confidential_asset, ["essential.service", EMAIL_MARKETING])

    assert response.status_code == 302
    assert set(confidential_asset.collected_for.values_list("key", flat=True)) == {
        "essential.service",
        EMAIL_MARKETING,
    }
    # Every customer is eligible now: the change is the one the issue says must be audited.
    assert coverage_for(confidential_asset, legitimate).eligible == 10
    event = AuditEvent.objects.get(action="asset.collection_purposes_change")
    assert event.actor == compliance_officer
    assert event.detail == {
        "from": ["essential.service"],
        "to": ["essential.service", EMAIL_MARKETING],
        "reason": REASON,
    }
    last = confidential_asset.history.order_by("-history_id").first()
    assert last.history_user == compliance_officer
    assert last.history_change_reason == REASON[:100]


def test_a_change_of_collection_purposes_is_one_history_row_with_its_reason(
    client, compliance_officer, confidential_asset, email_marketing
):
    client.force_login(compliance_officer)
    before = confidential_asset.history.count()

    # One purpose taken away, one added: two many-to-many signals, one change.
    response = post_purposes(client, confidential_asset, [EMAIL_MARKETING])

    assert response.status_code == 302
    rows = list(confidential_asset.history.order_by("-history_id")[:2])
    assert confidential_asset.history.count() == before + 1
    change = rows[0]
    assert (change.history_type, change.history_user) == ("~", compliance_officer)
    assert change.history_change_reason == REASON
    assert [row.purpose.key for row in change.collected_for.all()] == [EMAIL_MARKETING]
    # The row before it still shows the purposes as they were.
    assert [row.purpose.key for row in rows[1].collected_for.all()] == ["essential.service"]


@pytest.mark.parametrize(
    ("keys", "reason", "field", "message"),
    [
        (["no.such.purpose"], REASON, "purposes", "Unknown purpose"),
        (["essential.service"], REASON, "purposes", "already"),
        ([EMAIL_MARKETING], "", "reason", "This field is required."),
        ([EMAIL_MARKETING], "x" * 2001, "reason", "at most 2000"),
    ],
)
def test_bad_purposes_input_is_a_form_error_and_changes_nothing(
    client, compliance_officer, confidential_asset, keys, reason, field, message
):
    client.force_login(compliance_officer)

    response = post_purposes(client, confidential_asset, keys, reason)

    assert response.status_code == 400
    assert message in " ".join(response.context["purposes_form"].errors[field])
    assert list(confidential_asset.collected_for.values_list("key", flat=True)) == [
        "essential.service"
    ]
    assert not AuditEvent.objects.filter(action="asset.collection_purposes_change").exists()


def test_only_compliance_records_collection_purposes(
    client, confidential_asset, owner, legal_counsel, outsider
):
    for user in (owner, legal_counsel, outsider):
        client.force_login(user)
        response = post_purposes(client, confidential_asset, [EMAIL_MARKETING])
        assert response.status_code == 403
    assert list(confidential_asset.collected_for.values_list("key", flat=True)) == [
        "essential.service"
    ]
