"""External sharing through the services: the chain, eligibility, the package, Art. 19."""

import csv
import io
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from consent.models import (
    Purpose,
    SharingPackage,
    SharingPackageCustomer,
    SharingRequest,
    SharingWithdrawal,
)
from consent.services.imports import consent_import
from consent.services.packages import sharing_package_download
from consent.services.recipient_deletion import sharing_deletion_confirm
from consent.services.sharing import (
    sharing_request_create,
    sharing_request_decide,
    sharing_request_withdraw,
)
from consent.services.withdrawal_forwarding import sharing_withdrawal_forwarded
from customers.models.catalogue import Classification
from customers.models.exports import Export
from portal.errors import ApplicationError, CoverageRefusal, NotAllowed
from portal.models import ApprovalChain, AuditEvent, Notification
from tests.conftest import approval_needed_recipients
from tests.customers.conftest import consent
from tests.factories import DataAssetFactory

pytestmark = pytest.mark.django_db

SHARING = "third_party_sharing"
JUSTIFICATION = "The logistics partner delivers the spring orders to these customers."
REASON = "Checked the agreement and the consent coverage."


@pytest.fixture
def shared_asset(owner):
    """8 customers. 0-3 agreed to third_party_sharing, 0-1 also to marketing e-mail, 4 only
    to marketing e-mail; collected for essential.service; confirmed internal."""
    asset = DataAssetFactory(
        owner=owner,
        name="Partner list",
        customers=8,
        categories=["user.name", "user.contact.email", "user.contact.phone_number"],
        collected_for=["essential.service"],
        classification=Classification.INTERNAL,
        classification_confirmed=True,
    )
    customers = list(asset.customers.order_by("id"))
    consent(customers[:4], SHARING)
    consent(customers[:2] + [customers[4]])
    return asset


def customers_of(asset):
    return list(asset.customers.order_by("id"))


def share(requester, asset, **overrides) -> SharingRequest:
    values = {
        "actor": requester,
        "asset": asset,
        "purpose": Purpose.objects.get(key="essential.service"),
        "justification": JUSTIFICATION,
        "recipient": "Nordic Logistics AS",
        "recipient_country": "NO",
        "agreement_reference": "DPA-2024-017",
        "agreement_end": timezone.localdate() + timedelta(days=365),
        "categories": ["user.contact.email"],
        "deletion_confirmation_required": True,
    }
    values.update(overrides)
    return sharing_request_create(**values)


def decide(sharing_request, actor, approve=True, **extra):
    return sharing_request_decide(
        sharing_request=SharingRequest.objects.get(pk=sharing_request.pk),
        actor=actor,
        approve=approve,
        reason=REASON,
        **extra,
    )


def approve_all(sharing_request, owner, compliance, legal, **legal_extra) -> SharingPackage:
    decide(sharing_request, owner)
    decide(sharing_request, compliance)
    decide(sharing_request, legal, **legal_extra)
    return SharingPackage.objects.get(request=sharing_request)


def package_rows(package) -> list[dict]:
    return list(csv.DictReader(io.StringIO(package.content)))


@pytest.mark.parametrize("classification", Classification.values)
def test_sharing_needs_owner_compliance_and_legal_whatever_the_class(
    requester, owner, compliance_officer, legal_counsel, shared_asset, classification
):
    shared_asset.classification = classification
    shared_asset.save()
    sharing_request = share(requester, shared_asset)

    steps = list(sharing_request.chain.steps.order_by("position"))
    assert [s.role for s in steps] == ["owner", "compliance", "legal"]
    decide(sharing_request, owner)
    decide(sharing_request, compliance_officer)
    assert not SharingPackage.objects.exists()
    assert SharingRequest.objects.get().status == "pending"

    decide(sharing_request, legal_counsel)

    assert SharingRequest.objects.get().status == "approved"
    assert SharingPackage.objects.filter(request=sharing_request).exists()


def test_owner_asking_gets_compliance_in_their_place_and_two_different_officers(
    owner, compliance_officer, second_compliance_officer, legal_counsel, shared_asset
):
    sharing_request = share(owner, shared_asset)
    steps = list(sharing_request.chain.steps.order_by("position"))
    assert [(s.role, s.replaces_owner) for s in steps] == [
        ("compliance", True),
        ("compliance", False),
        ("legal", False),
    ]
    decide(sharing_request, compliance_officer)

    with pytest.raises(NotAllowed, match="already decided a step"):
        decide(sharing_request, compliance_officer)

    decide(sharing_request, second_compliance_officer)
    decide(sharing_request, legal_counsel)
    assert SharingRequest.objects.get().status == "approved"


def test_nobody_decides_a_step_of_their_own_sharing_request(
    owner, legal_counsel, compliance_officer, second_compliance_officer, shared_asset
):
    sharing_request = share(legal_counsel, shared_asset)
    decide(sharing_request, owner)
    decide(sharing_request, compliance_officer)

    with pytest.raises(NotAllowed, match="own request"):
        decide(sharing_request, legal_counsel)

    assert SharingRequest.objects.get().status == "pending"
    assert not SharingPackage.objects.exists()


def test_a_compliance_officers_sharing_request_is_put_to_the_other_officers_only(
    api_client, owner, compliance_officer, second_compliance_officer, shared_asset
):
    sharing_request = share(compliance_officer, shared_asset)
    decide(sharing_request, owner)

    # The one approval engine serves sharing too: the requester, a compliance officer, is
    # neither told to decide the compliance step nor shown it as waiting.
    assert approval_needed_recipients(sharing_request, 2) == {second_compliance_officer.username}
    api_client.force_authenticate(second_compliance_officer)
    theirs = api_client.get("/api/sharing-requests/", {"waiting": 1}).json()
    api_client.force_authenticate(compliance_officer)
    own = api_client.get("/api/sharing-requests/", {"waiting": 1}).json()
    assert [r["id"] for r in theirs["results"]] == [sharing_request.pk]
    assert own["count"] == 0


def test_only_the_owner_decides_the_owner_step(requester, outsider, legal_counsel, shared_asset):
    sharing_request = share(requester, shared_asset)

    for person in (outsider, legal_counsel):
        with pytest.raises(NotAllowed, match="This step is for the data owner"):
            decide(sharing_request, person)

    assert sharing_request.chain.steps.get(position=1).status == "open"


def test_package_holds_exactly_the_customers_with_sharing_consent_and_the_chosen_columns(
    requester, owner, compliance_officer, legal_counsel, shared_asset
):
    customers = customers_of(shared_asset)
    sharing_request = share(requester, shared_asset, categories=["user.contact.email"])
    # Withdrawn while the request waits: absent from the package made at approval.
    consent([customers[3]], SHARING, status="withdrawn")

    package = approve_all(sharing_request, owner, compliance_officer, legal_counsel)

    rows = package_rows(package)
    assert package.columns == ["id", "email"]
    assert list(rows[0]) == ["id", "email"]
    assert [int(r["id"]) for r in rows] == [c.pk for c in customers[:3]]
    assert [r["email"] for r in rows] == [c.email for c in customers[:3]]
    assert package.row_count == 3
    assert set(
        SharingPackageCustomer.objects.filter(package=package).values_list("customer", flat=True)
    ) == {c.pk for c in customers[:3]}
    # Seven calendar days in the site's zone: the same wall-clock time a week later.
    oslo = ZoneInfo("Europe/Oslo")
    created, expires = package.created_at.astimezone(oslo), package.expires_at.astimezone(oslo)
    assert expires.replace(tzinfo=None) - created.replace(tzinfo=None) == timedelta(days=7)
    event = AuditEvent.objects.get(action="sharing_package.create")
    assert event.detail["export_id"] == package.export_id
    assert event.detail["rows"] == 3


def test_a_purpose_that_needs_consent_needs_it_as_well_as_sharing_consent(
    requester, owner, compliance_officer, legal_counsel, shared_asset
):
    customers = customers_of(shared_asset)
    sharing_request = share(
        requester,
        shared_asset,
        purpose=Purpose.objects.get(key="marketing.communications.email"),
        categories=["user.name", "user.contact.email", "user.contact.phone_number"],
    )
    assert (sharing_request.eligible_at_request, sharing_request.total_at_request) == (2, 8)

    package = approve_all(sharing_request, owner, compliance_officer, legal_counsel)

    assert package.columns == ["id", "name", "email", "phone"]
    assert [int(r["id"]) for r in package_rows(package)] == [c.pk for c in customers[:2]]


def test_nobody_eligible_is_refused_at_once_with_the_reason_and_nothing_reaches_an_approver(
    requester, owner
):
    asset = DataAssetFactory(
        owner=owner, name="No sharing consent", customers=3, categories=["user.name"]
    )
    consent(asset.customers.all())  # marketing e-mail only: not sharing

    with pytest.raises(CoverageRefusal) as refusal:
        share(requester, asset, categories=["user.name"])

    assert refusal.value.message == (
        "None of the 3 customers in No sharing consent agreed to third_party_sharing "
        "and may be used for essential.service."
    )
    assert not SharingRequest.objects.exists()
    assert not ApprovalChain.objects.exists()
    assert not Notification.objects.filter(kind="approval_needed").exists()
    assert AuditEvent.objects.filter(action="sharing_request.refused").count() == 1


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"agreement_reference": ""}, "agreement_reference"),
        ({"agreement_reference": "   "}, "agreement_reference"),
        ({"agreement_end": timezone.localdate() - timedelta(days=1)}, "agreement_end"),
        ({"categories": ["user.financial"]}, "categories"),
        ({"categories": ["user.contact.email", "user.not_a_category"]}, "categories"),
        ({"categories": []}, "categories"),
        ({"recipient_country": "XX"}, "recipient_country"),
        ({"recipient_country": "Norway"}, "recipient_country"),
        ({"recipient": "  "}, "recipient"),
        ({"justification": "because"}, "justification"),
    ],
)
def test_bad_sharing_input_is_refused_with_a_message_and_nothing_written(
    requester, shared_asset, overrides, field
):
    with pytest.raises(ApplicationError) as error:
        share(requester, shared_asset, **overrides)

    assert error.value.field == field
    assert error.value.message
    assert not SharingRequest.objects.exists()
    assert not ApprovalChain.objects.exists()


def test_a_narrower_category_of_the_assets_may_be_shared(requester, owner):
    asset = DataAssetFactory(
        owner=owner, customers=2, categories=["user.contact"], collected_for=["essential.service"]
    )
    consent(asset.customers.all(), SHARING)

    sharing_request = share(requester, asset, categories=["user.contact.phone_number"])

    assert [c.key for c in sharing_request.categories.all()] == ["user.contact.phone_number"]


def test_legal_cannot_approve_a_recipient_outside_the_eea_without_the_safeguard(
    requester, owner, compliance_officer, legal_counsel, shared_asset
):
    sharing_request = share(requester, shared_asset, recipient_country="us")
    assert sharing_request.recipient_country == "US"
    legal_step = sharing_request.chain.steps.get(role="legal")
    assert legal_step.requirement == "transfer_safeguard"
    decide(sharing_request, owner)
    decide(sharing_request, compliance_officer)

    with pytest.raises(ApplicationError) as error:
        decide(sharing_request, legal_counsel)
    assert error.value.field == "transfer_safeguard"
    legal_step.refresh_from_db()
    assert legal_step.status == "open"
    assert not SharingPackage.objects.exists()

    decide(sharing_request, legal_counsel, transfer_safeguard="standard_contractual_clauses")

    legal_step.refresh_from_db()
    assert legal_step.inputs == {"transfer_safeguard": "standard_contractual_clauses"}
    assert SharingPackage.objects.filter(request=sharing_request).exists()


def test_legal_may_deny_a_non_eea_recipient_without_a_safeguard(
    requester, owner, compliance_officer, legal_counsel, shared_asset
):
    sharing_request = share(requester, shared_asset, recipient_country="IN")
    decide(sharing_request, owner)
    decide(sharing_request, compliance_officer)

    decide(sharing_request, legal_counsel, approve=False)

    assert SharingRequest.objects.get().status == "denied"
    assert not SharingPackage.objects.exists()


@pytest.mark.parametrize("country", ["NO", "DE", "GR", "IS"])
def test_a_recipient_in_the_eea_needs_no_safeguard(
    requester, owner, compliance_officer, legal_counsel, shared_asset, country
):
    sharing_request = share(requester, shared_asset, recipient_country=country)

    approve_all(sharing_request, owner, compliance_officer, legal_counsel)

    assert sharing_request.chain.steps.get(role="legal").requirement == ""


def test_nothing_is_approved_after_the_agreement_ended(
    requester, owner, compliance_officer, legal_counsel, shared_asset
):
    sharing_request = share(
        requester, shared_asset, agreement_end=timezone.localdate() + timedelta(days=2)
    )
    decide(sharing_request, owner)

    with (
        time_machine.travel(timezone.now() + timedelta(days=4)),
        pytest.raises(ApplicationError, match="ended"),
    ):
        decide(sharing_request, compliance_officer)

    assert sharing_request.chain.steps.get(position=2).status == "open"


def test_the_requester_withdraws_a_pending_sharing_request(requester, outsider, shared_asset):
    sharing_request = share(requester, shared_asset)

    with pytest.raises(NotAllowed, match="Only the person who asked can withdraw"):
        sharing_request_withdraw(sharing_request=sharing_request, actor=outsider)
    sharing_request_withdraw(sharing_request=sharing_request, actor=requester)

    assert SharingRequest.objects.get().status == "withdrawn"


@pytest.fixture
def package(requester, owner, compliance_officer, legal_counsel, shared_asset):
    sharing_request = share(requester, shared_asset)
    return approve_all(sharing_request, owner, compliance_officer, legal_counsel)


def test_withdrawal_after_packaging_is_to_forward_and_notifies_requester_and_compliance(
    package, requester, compliance_officer, second_compliance_officer, owner, shared_asset
):
    customer = customers_of(shared_asset)[1]

    consent([customer], SHARING, status="withdrawn")

    withdrawal = SharingWithdrawal.objects.get()
    assert (withdrawal.package, withdrawal.customer, withdrawal.forwarded_at) == (
        package,
        customer,
        None,
    )
    told = Notification.objects.filter(kind="sharing_withdrawal")
    assert set(told.values_list("recipient__username", flat=True)) == {
        requester.username,
        compliance_officer.username,
        second_compliance_officer.username,
    }
    assert f"#{customer.pk}" in told.first().body
    assert AuditEvent.objects.filter(action="sharing.withdrawal_to_forward").count() == 1


def test_withdrawal_is_forwarded_once_until_marked_done(package, requester, shared_asset):
    customer = customers_of(shared_asset)[1]
    consent([customer], SHARING, status="withdrawn")
    consent([customer], SHARING, status="granted")
    consent([customer], SHARING, status="withdrawn")
    assert SharingWithdrawal.objects.count() == 1

    sharing_withdrawal_forwarded(
        withdrawal=SharingWithdrawal.objects.get(), actor=requester, note="E-mailed their DPO."
    )
    consent([customer], SHARING, status="granted")
    consent([customer], SHARING, status="withdrawn")

    assert SharingWithdrawal.objects.filter(forwarded_at__isnull=True).count() == 1


def test_withdrawals_that_leave_sharing_consent_in_place_forward_nothing(package, shared_asset):
    customers = customers_of(shared_asset)

    consent([customers[0]], status="withdrawn")  # marketing e-mail: not what was shared for
    consent([customers[5]], SHARING, status="withdrawn")  # never in the package
    consent(
        [customers[2]],
        SHARING,
        status="withdrawn",
        when=timezone.now() - timedelta(days=30),  # older than the grant: not current
    )

    assert not SharingWithdrawal.objects.exists()
    assert not Notification.objects.filter(kind="sharing_withdrawal").exists()


def test_withdrawals_imported_from_a_file_are_forwarded_too(
    package, compliance_officer, shared_asset
):
    customer = customers_of(shared_asset)[0]
    when = timezone.now().strftime("%Y-%m-%dT%H:%M:%S.%f%z")
    file = io.BytesIO(
        f"customer,purpose,status,source,effective_at\n{customer.pk},{SHARING},withdrawn,"
        f"email,{when}\n".encode()
    )

    consent_import(actor=compliance_officer, file=file, name="withdrawals.csv")

    assert list(SharingWithdrawal.objects.values_list("customer", flat=True)) == [customer.pk]


def test_only_the_requester_or_compliance_marks_a_withdrawal_forwarded(
    package, owner, compliance_officer, shared_asset
):
    consent([customers_of(shared_asset)[0]], SHARING, status="withdrawn")
    withdrawal = SharingWithdrawal.objects.get()

    with pytest.raises(
        NotAllowed, match="Only the requester or compliance can mark a withdrawal forwarded"
    ):
        sharing_withdrawal_forwarded(withdrawal=withdrawal, actor=owner, note="Told.")
    with pytest.raises(ApplicationError, match="how"):
        sharing_withdrawal_forwarded(withdrawal=withdrawal, actor=compliance_officer, note="")
    sharing_withdrawal_forwarded(
        withdrawal=withdrawal, actor=compliance_officer, note="Letter sent 3 May."
    )

    withdrawal.refresh_from_db()
    assert (withdrawal.forwarded_by, withdrawal.note) == (compliance_officer, "Letter sent 3 May.")


def test_download_leaves_out_a_customer_who_withdrew_after_packaging(
    package, requester, shared_asset
):
    customers = customers_of(shared_asset)
    consent([customers[0]], SHARING, status="withdrawn")

    download = sharing_package_download(sharing_request=package.request, actor=requester)

    ids = [int(r["id"]) for r in csv.DictReader(io.StringIO(download.content))]
    assert ids == [c.pk for c in customers[1:4]]
    assert download.rows == 3
    event = AuditEvent.objects.get(action="export.download")
    assert event.detail["rows"] == 3
    assert event.detail["left_out_withdrawn"] == 1
    [export] = Export.objects.all()
    assert (export.package, export.grant, export.audit_event) == (package, None, event)
    assert (export.export_id, export.rows, export.left_out_withdrawn) == (package.export_id, 3, 1)
    assert (export.actor, export.asset, export.customers_recorded) == (
        requester,
        shared_asset,
        False,
    )


def test_only_compliance_records_the_recipients_deletion(package, requester, compliance_officer):
    with pytest.raises(
        NotAllowed, match="Only a compliance officer records a recipient's deletion"
    ):
        sharing_deletion_confirm(
            sharing_request=package.request, actor=requester, evidence="Their letter."
        )
    with pytest.raises(ApplicationError, match="Say where the recipient's confirmation is kept"):
        sharing_deletion_confirm(
            sharing_request=package.request, actor=compliance_officer, evidence=""
        )

    sharing_deletion_confirm(
        sharing_request=package.request, actor=compliance_officer, evidence="Letter 2025-01-04"
    )

    shared = SharingRequest.objects.get()
    assert shared.deletion_confirmed_by == compliance_officer
    assert AuditEvent.objects.filter(action="sharing_request.deletion_confirmed").exists()
