"""External sharing through its doors: the JSON API, the pages, the beat jobs."""

import csv
import io
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from consent import tasks
from consent.models import SharingPackage, SharingPackageCustomer, SharingRequest
from customers.services.access import access_request_create
from portal.models import ApprovalChain, AuditEvent, Notification
from tests.consent.test_sharing import (
    JUSTIFICATION,
    REASON,
    SHARING,
    approve_all,
    customers_of,
    share,
    shared_asset,  # noqa: F401  (fixture)
)
from tests.customers.conftest import consent
from tests.factories import DataAssetFactory

pytestmark = pytest.mark.django_db


def body(shared, **overrides) -> dict:
    values = {
        "asset": shared.pk,
        "purpose": "essential.service",
        "justification": JUSTIFICATION,
        "recipient": "Pacific Mail Inc.",
        "recipient_country": "US",
        "agreement_reference": "DPA-2024-099",
        "agreement_end": (timezone.localdate() + timedelta(days=200)).isoformat(),
        "categories": ["user.contact.email", "user.name"],
        "deletion_confirmation_required": True,
    }
    values.update(overrides)
    return values


def post(api_client, user, path, data=None):
    api_client.force_authenticate(user)
    return api_client.post(path, data or {}, format="json")


@pytest.fixture
def package(requester, owner, compliance_officer, legal_counsel, shared_asset):  # noqa: F811
    return approve_all(share(requester, shared_asset), owner, compliance_officer, legal_counsel)


def test_api_sharing_request_answers_201_with_coverage_steps_and_the_transfer_flag(
    api_client,
    requester,
    shared_asset,  # noqa: F811
):
    response = post(api_client, requester, "/api/sharing-requests/", body(shared_asset))

    assert response.status_code == 201
    answer = response.json()
    assert answer["status"] == "pending"
    assert answer["coverage"] == {"eligible": 4, "total": 8}
    assert answer["recipient_outside_eu_eea"] is True
    assert answer["categories"] == ["user.contact.email", "user.name"]
    assert [(s["role"], s["status"], s["requirement"]) for s in answer["steps"]] == [
        ("owner", "open", ""),
        ("compliance", "waiting", ""),
        ("legal", "waiting", "transfer_safeguard"),
    ]
    assert answer["package"] is None


@pytest.mark.parametrize(
    "overrides, status, field",
    [
        ({"agreement_reference": ""}, 400, "agreement_reference"),
        ({"agreement_reference": None}, 400, "agreement_reference"),
        ({"agreement_end": "2001-01-01"}, 400, "agreement_end"),
        ({"agreement_end": "next year"}, 400, "agreement_end"),
        ({"categories": ["user.financial.bank_account"]}, 400, "categories"),
        ({"categories": []}, 400, "categories"),
        ({"recipient_country": "ZZ"}, 400, "recipient_country"),
        ({"recipient": ""}, 400, "recipient"),
        ({"purpose": "no.such.purpose"}, 400, "purpose"),
        ({"asset": 999999}, 404, None),
    ],
)
def test_api_bad_sharing_requests_change_nothing(
    api_client,
    requester,
    shared_asset,  # noqa: F811
    overrides,
    status,
    field,
):
    response = post(
        api_client, requester, "/api/sharing-requests/", body(shared_asset, **overrides)
    )

    assert response.status_code == status
    if field:
        assert field in response.json()
    assert not SharingRequest.objects.exists()
    assert not ApprovalChain.objects.exists()


def test_api_nobody_eligible_is_a_400_with_the_reason(api_client, requester, owner):
    asset = DataAssetFactory(owner=owner, customers=2, categories=["user.name"])

    response = post(
        api_client, requester, "/api/sharing-requests/", body(asset, categories=["user.name"])
    )

    assert response.status_code == 400
    assert "agreed to third_party_sharing" in response.json()["detail"]
    assert not SharingRequest.objects.exists()


def test_api_full_chain_and_legal_needs_the_safeguard_for_a_us_recipient(
    api_client,
    requester,
    owner,
    compliance_officer,
    legal_counsel,
    outsider,
    shared_asset,  # noqa: F811
):
    pk = post(api_client, requester, "/api/sharing-requests/", body(shared_asset)).json()["id"]
    path = f"/api/sharing-requests/{pk}/"

    def approve(user) -> int:
        return post(api_client, user, path + "approve/", {"reason": REASON}).status_code

    assert approve(outsider) == 404
    assert approve(compliance_officer) == 403  # the owner's step comes first
    assert approve(requester) == 403
    assert approve(owner) == 200
    assert approve(owner) == 403  # nobody decides two steps of one request
    assert approve(compliance_officer) == 200

    refused = post(api_client, legal_counsel, path + "approve/", {"reason": REASON})
    assert refused.status_code == 400
    assert "transfer_safeguard" in refused.json()
    assert not SharingPackage.objects.exists()

    approved = post(
        api_client,
        legal_counsel,
        path + "approve/",
        {"reason": REASON, "transfer_safeguard": "standard_contractual_clauses"},
    )
    assert approved.status_code == 200
    answer = approved.json()
    assert answer["status"] == "approved"
    assert answer["steps"][2]["inputs"] == {"transfer_safeguard": "standard_contractual_clauses"}
    assert answer["package"]["row_count"] == 4
    assert answer["package"]["columns"] == ["id", "name", "email"]


def test_api_deny_ends_the_request_and_withdraw_is_for_the_requester(
    api_client,
    requester,
    owner,
    shared_asset,  # noqa: F811
):
    first = post(api_client, requester, "/api/sharing-requests/", body(shared_asset)).json()
    denied = post(
        api_client, owner, f"/api/sharing-requests/{first['id']}/deny/", {"reason": REASON}
    )
    assert denied.json()["status"] == "denied"

    second = post(
        api_client, requester, "/api/sharing-requests/", body(shared_asset, recipient="Other Co")
    ).json()
    path = f"/api/sharing-requests/{second['id']}/withdraw/"
    assert post(api_client, owner, path).status_code == 403
    assert post(api_client, requester, path).json()["status"] == "withdrawn"


def test_api_package_is_for_the_requester_only(
    api_client, package, requester, owner, compliance_officer, legal_counsel, outsider
):
    path = f"/api/sharing-requests/{package.request_id}/package/"

    for other in (owner, compliance_officer, legal_counsel, outsider):
        api_client.force_authenticate(other)
        assert api_client.get(path).status_code == 404

    api_client.force_authenticate(requester)
    response = api_client.get(path)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["X-Export-Id"] == package.export_id
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 4
    event = AuditEvent.objects.get(action="export.download")
    assert (event.actor, event.detail["export_id"], event.detail["rows"]) == (
        requester,
        package.export_id,
        4,
    )


def test_each_download_is_audited(client, package, requester):
    client.force_login(requester)
    path = reverse("consent:sharing_package", args=[package.request_id])

    assert client.get(path).status_code == 200
    assert client.get(path).status_code == 200

    assert AuditEvent.objects.filter(action="export.download").count() == 2
    package.refresh_from_db()
    assert package.download_count == 2


def test_package_is_gone_after_seven_days_and_the_beat_job_deletes_it(
    api_client, client, package, requester
):
    api_path = f"/api/sharing-requests/{package.request_id}/package/"
    page_path = reverse("consent:sharing_package", args=[package.request_id])
    api_client.force_authenticate(requester)

    with time_machine.travel(package.expires_at + timedelta(seconds=1)):
        client.force_login(requester)
        late = api_client.get(api_path)
        assert late.status_code == 410
        assert "expired" in late.json()["detail"]
        assert client.get(page_path).status_code == 410

        assert tasks.delete_expired_sharing_packages.delay().get() == 1
        assert tasks.delete_expired_sharing_packages.delay().get() == 0

        gone = api_client.get(api_path)
        assert gone.status_code == 410
        assert "deleted" in gone.json()["detail"]

    package.refresh_from_db()
    assert package.content == ""
    assert package.deleted_at is not None
    # The list of customers stays, so a later withdrawal is still forwarded (Art. 19).
    assert SharingPackageCustomer.objects.filter(package=package).count() == 4
    # No copy of the file outlives it in the history table.
    assert "content" not in {f.name for f in SharingPackage.history.model._meta.fields}
    event = AuditEvent.objects.get(action="sharing_package.delete")
    assert (event.actor, event.channel) == (None, "task")


def test_package_is_downloadable_until_its_seventh_day(api_client, package, requester):
    api_client.force_authenticate(requester)

    with time_machine.travel(package.expires_at - timedelta(minutes=1)):
        assert tasks.delete_expired_sharing_packages.delay().get() == 0
        response = api_client.get(f"/api/sharing-requests/{package.request_id}/package/")

    assert response.status_code == 200


def test_withdrawal_after_packaging_appears_to_forward_on_pages_and_api(
    api_client,
    client,
    package,
    requester,
    compliance_officer,
    shared_asset,  # noqa: F811
):
    customer = customers_of(shared_asset)[2]
    consent([customer], SHARING, status="withdrawn")

    api_client.force_authenticate(requester)
    detail = api_client.get(f"/api/sharing-requests/{package.request_id}/").json()
    assert [w["customer"] for w in detail["withdrawals_to_forward"]] == [customer.pk]
    assert detail["withdrawals_to_forward"][0]["forwarded_at"] is None

    for user in (requester, compliance_officer):
        client.force_login(user)
        page = client.get(reverse("consent:sharing_withdrawals"))
        assert f"#{customer.pk}" in page.content.decode()
    assert Notification.objects.filter(kind="sharing_withdrawal", recipient=requester).exists()

    client.force_login(requester)
    withdrawal = detail["withdrawals_to_forward"][0]["id"]
    done = client.post(
        reverse("consent:sharing_withdrawal_forwarded", args=[package.request_id, withdrawal]),
        {"note": "Phoned their DPO on Monday.", "next": "list"},
    )
    assert done.status_code == 302
    page = client.get(reverse("consent:sharing_withdrawals"))
    assert page.context["page"].paginator.count == 0


def test_others_do_not_see_withdrawals_to_forward(client, package, outsider, shared_asset):  # noqa: F811
    consent([customers_of(shared_asset)[2]], SHARING, status="withdrawn")
    client.force_login(outsider)

    page = client.get(reverse("consent:sharing_withdrawals"))

    assert page.context["page"].paginator.count == 0


def test_sharing_request_is_404_to_an_outsider_on_pages_and_api(
    api_client, client, package, outsider, owner, legal_counsel
):
    api_client.force_authenticate(outsider)
    client.force_login(outsider)
    assert api_client.get(f"/api/sharing-requests/{package.request_id}/").status_code == 404
    detail = reverse("consent:sharing_detail", args=[package.request_id])
    assert client.get(detail).status_code == 404

    for user in (owner, legal_counsel):
        client.force_login(user)
        assert client.get(detail).status_code == 200


def test_sharing_form_creates_a_request_and_shows_categories_without_javascript(
    client,
    requester,
    shared_asset,  # noqa: F811
):
    client.force_login(requester)
    path = reverse("consent:sharing_create")
    preview = client.post(
        path, {"asset": shared_asset.pk, "purpose": "essential.service", "check": "1"}
    )
    assert preview.status_code == 200
    assert list(
        preview.context["form"].fields["categories"].queryset.values_list("key", flat=True)
    ) == [
        "user.contact.email",
        "user.contact.phone_number",
        "user.name",
    ]
    assert preview.context["coverage"].eligible == 4

    response = client.post(
        path,
        {
            **body(shared_asset, recipient_country="DE"),
            "purpose": "essential.service",
            "categories": ["user.contact.email"],
            "deletion_confirmation_required": "on",
        },
    )

    sharing_request = SharingRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("consent:sharing_detail", args=[sharing_request.pk])
    assert sharing_request.recipient_country == "DE"
    detail = client.get(response["Location"]).content.decode()
    assert "Withdraw my sharing request" in detail
    assert 'name="transfer_safeguard"' not in detail


def test_sharing_form_with_a_past_end_date_shows_the_message_and_writes_nothing(
    client,
    requester,
    shared_asset,  # noqa: F811
):
    client.force_login(requester)

    response = client.post(
        reverse("consent:sharing_create"),
        {**body(shared_asset, agreement_end="2001-02-03", recipient_country="DE")},
    )

    assert response.status_code == 400
    assert "ended on 3 Feb 2001" in response.content.decode()
    assert not SharingRequest.objects.exists()


def test_legal_page_decision_needs_the_safeguard_for_a_non_eea_recipient(
    client,
    requester,
    owner,
    compliance_officer,
    legal_counsel,
    shared_asset,  # noqa: F811
):
    from tests.consent.test_sharing import decide

    sharing_request = share(requester, shared_asset, recipient_country="JP")
    decide(sharing_request, owner)
    decide(sharing_request, compliance_officer)
    client.force_login(legal_counsel)
    path = reverse("consent:sharing_decide", args=[sharing_request.pk])

    page = client.get(reverse("consent:sharing_detail", args=[sharing_request.pk]))
    assert "outside the EU/EEA" in page.content.decode()
    assert 'name="transfer_safeguard"' in page.content.decode()
    assert "transfer_safeguard" in page.context["decision_form"].fields

    refused = client.post(path, {"reason": REASON, "decision": "approve"})
    assert refused.status_code == 400
    assert not SharingPackage.objects.exists()

    approved = client.post(
        path, {"reason": REASON, "decision": "approve", "transfer_safeguard": "adequacy_decision"}
    )
    assert approved.status_code == 302
    assert SharingPackage.objects.filter(request=sharing_request).exists()


def test_approvals_page_lists_sharing_and_access_requests_waiting_for_me(
    client,
    requester,
    owner,
    shared_asset,  # noqa: F811
):
    from consent.models import Purpose

    share(requester, shared_asset)
    consent(shared_asset.customers.all())
    access_request_create(
        actor=requester,
        asset=shared_asset,
        purpose=Purpose.objects.get(key="marketing.communications.email"),
        justification=JUSTIFICATION,
    )
    client.force_login(owner)

    page = client.get(reverse("customers:approvals"))

    # One list, oldest first: the sharing request was asked first.
    assert [w.kind for w, _ in page.context["rows"]] == ["sharing", "access"]
    assert "Nordic Logistics AS" in page.content.decode()


def test_beat_runs_the_sharing_jobs():
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {
        "consent.tasks.delete_expired_sharing_packages",
        "consent.tasks.remind_sharing_deletion_confirmation",
    } <= scheduled


def test_deletion_reminders_go_daily_from_the_agreement_end_until_compliance_records_it(
    client,
    requester,
    owner,
    compliance_officer,
    legal_counsel,
    shared_asset,  # noqa: F811
):
    end = timezone.localdate() + timedelta(days=30)
    sharing_request = share(requester, shared_asset, agreement_end=end)
    approve_all(sharing_request, owner, compliance_officer, legal_counsel)
    share(
        requester,
        shared_asset,
        recipient="No Deletion Needed Ltd",
        agreement_end=end,
        deletion_confirmation_required=False,
    )
    reminders = Notification.objects.filter(kind="sharing_deletion_due")

    with time_machine.travel(timezone.now() + timedelta(days=29)):
        assert tasks.remind_sharing_deletion_confirmation.delay().get() == 0
    with time_machine.travel(timezone.now() + timedelta(days=30, hours=1)):
        assert tasks.remind_sharing_deletion_confirmation.delay().get() == 1
        assert tasks.remind_sharing_deletion_confirmation.delay().get() == 0
    with time_machine.travel(timezone.now() + timedelta(days=31, hours=1)):
        assert tasks.remind_sharing_deletion_confirmation.delay().get() == 1
        client.force_login(compliance_officer)
        client.post(
            reverse("consent:sharing_deletion", args=[sharing_request.pk]),
            {"evidence": "Recipient's letter of 4 May, file D-17."},
        )
    with time_machine.travel(timezone.now() + timedelta(days=32, hours=1)):
        assert tasks.remind_sharing_deletion_confirmation.delay().get() == 0

    assert list(reminders.values_list("recipient", flat=True)) == [requester.pk, requester.pk]
    assert SharingRequest.objects.get(pk=sharing_request.pk).deletion_confirmed_at is not None
    client.force_login(requester)
    status = client.get(reverse("consent:sharing_deletions")).context["rows"]
    assert [s for _, s in status] == ["confirmed"]


def test_requester_cannot_record_the_deletion(client, package, requester):
    client.force_login(requester)

    response = client.post(
        reverse("consent:sharing_deletion", args=[package.request_id]),
        {"evidence": "I say it is deleted."},
    )

    assert response.status_code == 403
    assert SharingRequest.objects.get().deletion_confirmed_at is None


def make_sharing_requests(count, requester, owner, compliance, legal, *, approved=False):
    for n in range(count):
        asset = DataAssetFactory(
            owner=owner,
            name=f"Share {n:03d}",
            customers=1,
            categories=["user.contact.email"],
            collected_for=["essential.service"],
        )
        consent(asset.customers.all(), SHARING)
        sharing_request = share(requester, asset)
        if approved:
            approve_all(sharing_request, owner, compliance, legal)
            consent(asset.customers.all(), SHARING, status="withdrawn")


@pytest.mark.parametrize("count", [3, 30])
def test_sharing_lists_run_constant_queries(
    api_client,
    client,
    requester,
    owner,
    compliance_officer,
    legal_counsel,
    count,
    django_assert_max_num_queries,
):
    make_sharing_requests(count, requester, owner, compliance_officer, legal_counsel, approved=True)

    client.force_login(requester)
    for name in (
        "consent:sharing_list",
        "consent:sharing_withdrawals",
        "consent:sharing_deletions",
    ):
        with django_assert_max_num_queries(12):
            assert client.get(reverse(name)).status_code == 200
    api_client.force_authenticate(requester)
    with django_assert_max_num_queries(10):
        answer = api_client.get("/api/sharing-requests/").json()
    assert answer["count"] == count
    assert all(len(r["withdrawals_to_forward"]) == 1 for r in answer["results"])


@pytest.mark.parametrize("count", [3, 30])
def test_approvals_page_with_sharing_requests_runs_constant_queries(
    api_client,
    client,
    requester,
    owner,
    compliance_officer,
    legal_counsel,
    count,
    django_assert_max_num_queries,
):
    make_sharing_requests(count, requester, owner, compliance_officer, legal_counsel)

    client.force_login(owner)
    with django_assert_max_num_queries(16):
        page = client.get(reverse("customers:approvals"))
    assert len(page.context["rows"]) == min(count, 25)  # 25 a page
    assert page.context["page"].paginator.count == count
    api_client.force_authenticate(owner)
    with django_assert_max_num_queries(10):
        waiting = api_client.get("/api/sharing-requests/", {"waiting": 1}).json()
    assert waiting["count"] == count
