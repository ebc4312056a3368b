"""Data subject requests: due dates, extensions, reminders, erasure, objection, access."""

import csv
import io
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.urls import reverse

from consent.models import ConsentRecord, Purpose
from customers import tasks
from customers.models.catalogue import AssetCustomer
from customers.models.subject_requests import DataSubjectRequest, ErasureTask
from customers.services.subject_request_reminders import subject_requests_remind
from customers.services.subject_requests import (
    erasure_task_confirm,
    subject_request_close,
    subject_request_create,
    subject_request_extend,
    subject_request_report,
)
from portal.errors import ApplicationError
from portal.models import AuditEvent, Notification
from tests.customers.test_grants import approved_grant
from tests.factories import CustomerFactory, DataAssetFactory, UserFactory

pytestmark = pytest.mark.django_db

IDENTITY = "Passport checked at the front desk."


@pytest.fixture
def api_client(api_client):
    api_client.default_format = "json"
    return api_client


def register(actor, customer, type="access", **extra):
    return subject_request_create(
        actor=actor,
        type=type,
        customer=customer,
        identity_verification=extra.pop("identity_verification", IDENTITY),
        **extra,
    )


def export_ids(client, grant) -> set[int]:
    response = client.get(f"/api/grants/{grant.pk}/export/")
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    return {int(row["id"]) for row in csv.DictReader(io.StringIO(body))}


@pytest.fixture
def second_owner(db):
    return UserFactory(username="own2", first_name="Dora", last_name="Second")


@pytest.fixture
def shared_customer(confidential_asset, second_owner):
    """A customer who agreed to marketing e-mail, held by two owners' assets."""
    customer = confidential_asset.customers.order_by("id").first()
    DataAssetFactory(owner=second_owner, name="Events", customers=[customer, CustomerFactory()])
    return customer


# --- Due dates and extensions --------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (date(2025, 1, 31), date(2025, 2, 28)),
        (date(2024, 1, 31), date(2024, 2, 29)),
        (date(2025, 3, 15), date(2025, 4, 15)),
        (date(2025, 12, 31), date(2026, 1, 31)),
    ],
)
def test_due_date_is_one_calendar_month_after_receipt(compliance_officer, received, due):
    customer = CustomerFactory()
    with time_machine.travel(date(2026, 3, 1)):
        subject_request = register(compliance_officer, customer, received_on=received)
    assert subject_request.due_on == due


@pytest.mark.parametrize(
    ("registered_utc", "received", "due"),
    [
        # 23:30 UTC on the last day of a month is already the 1st in Oslo.
        (datetime(2025, 1, 31, 23, 30, tzinfo=UTC), date(2025, 2, 1), date(2025, 3, 1)),
        (datetime(2025, 2, 28, 23, 30, tzinfo=UTC), date(2025, 3, 1), date(2025, 4, 1)),
        (datetime(2025, 1, 30, 23, 30, tzinfo=UTC), date(2025, 1, 31), date(2025, 2, 28)),
    ],
)
def test_a_request_registered_today_counts_its_month_from_the_local_date(
    compliance_officer, registered_utc, received, due
):
    with time_machine.travel(registered_utc, tick=False):
        subject_request = register(compliance_officer, CustomerFactory())
    assert (subject_request.received_on, subject_request.due_on) == (received, due)


def test_extension_to_three_months_in_total_with_a_reason(api_client, compliance_officer):
    with time_machine.travel(date(2025, 2, 3)):
        subject_request = register(
            compliance_officer, CustomerFactory(), received_on=date(2025, 1, 31)
        )
        api_client.force_authenticate(compliance_officer)
        url = f"/api/subject-requests/{subject_request.pk}/extend/"

        first = api_client.post(url, {"months": 1, "reason": "Forty systems to search."})
        second = api_client.post(url, {"months": 1, "reason": "Backups must be checked too."})

    assert first.status_code == 200 and first.json()["due_on"] == "2025-03-31"
    assert second.status_code == 200 and second.json()["due_on"] == "2025-04-30"
    assert second.json()["extension_months"] == 2
    assert AuditEvent.objects.filter(action="subject_request.extend").count() == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"months": 1, "reason": ""}, "reason"),
        ({"months": 1, "reason": "short"}, "reason"),
        ({"months": 3, "reason": "Forty systems to search."}, "months"),
    ],
)
def test_extension_without_reason_or_beyond_three_months_is_refused(
    api_client, compliance_officer, body, field
):
    subject_request = register(compliance_officer, CustomerFactory())
    api_client.force_authenticate(compliance_officer)

    response = api_client.post(f"/api/subject-requests/{subject_request.pk}/extend/", body)

    assert response.status_code == 400 and field in response.json()
    subject_request.refresh_from_db()
    assert (subject_request.extension_months, subject_request.extension_reason) == (0, "")


def test_a_second_extension_beyond_three_months_in_total_is_refused(compliance_officer):
    subject_request = register(compliance_officer, CustomerFactory())
    subject_request_extend(
        actor=compliance_officer,
        subject_request=subject_request,
        months=2,
        reason="Many systems to search.",
    )
    due = DataSubjectRequest.objects.get().due_on

    with pytest.raises(ApplicationError, match="two months at most"):
        subject_request_extend(
            actor=compliance_officer,
            subject_request=subject_request,
            months=1,
            reason="Still searching.",
        )
    assert DataSubjectRequest.objects.get().due_on == due


# --- Bad input -------------------------------------------------------------------------


def test_request_without_identity_verification_is_refused_and_nothing_created(
    api_client, compliance_officer
):
    customer = CustomerFactory()
    api_client.force_authenticate(compliance_officer)

    response = api_client.post(
        "/api/subject-requests/",
        {"type": "erasure", "customer": customer.pk, "identity_verification": " "},
        format="json",
    )

    assert response.status_code == 400
    assert "identity" in response.json()["identity_verification"][0]
    assert not DataSubjectRequest.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="subject_request").exists()


def test_unknown_customer_is_a_clear_400(api_client, compliance_officer):
    api_client.force_authenticate(compliance_officer)

    response = api_client.post(
        "/api/subject-requests/",
        {"type": "access", "customer": 999999, "identity_verification": IDENTITY},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"customer": ["Unknown customer."]}


def test_request_received_in_the_future_is_refused(api_client, compliance_officer):
    api_client.force_authenticate(compliance_officer)
    with time_machine.travel(date(2025, 5, 1)):
        response = api_client.post(
            "/api/subject-requests/",
            {
                "type": "access",
                "customer": CustomerFactory().pk,
                "identity_verification": IDENTITY,
                "received_on": "2025-05-02",
            },
            format="json",
        )
    assert response.status_code == 400 and "received_on" in response.json()
    assert not DataSubjectRequest.objects.exists()


# --- Reminders and escalation ----------------------------------------------------------


def reminders_sent():
    return sorted(
        Notification.objects.filter(kind__startswith="subject_request_due_in").values_list(
            "kind", "recipient__username"
        )
    ) + sorted(
        Notification.objects.filter(kind="subject_request_overdue").values_list(
            "kind", "recipient__username"
        )
    )


def test_reminders_at_7_and_2_days_and_escalation_when_overdue_each_sent_once(
    compliance_officer, second_compliance_officer
):
    with time_machine.travel(date(2025, 3, 1)):
        register(compliance_officer, CustomerFactory(), received_on=date(2025, 3, 1))
    # Due 1 April 2025.
    runs = {
        date(2025, 3, 24): 0,  # 8 days before
        date(2025, 3, 25): 1,  # 7 days before
        date(2025, 3, 26): 0,
        date(2025, 3, 30): 1,  # 2 days before
        date(2025, 4, 1): 0,  # due today: not overdue yet
        date(2025, 4, 2): 1,  # overdue
        date(2025, 4, 9): 0,
    }
    for day, expected in runs.items():
        with time_machine.travel(day):
            assert tasks.remind_subject_request_deadlines.delay().get() == expected, day
            # The beat job running twice in a row sends nothing more.
            assert tasks.remind_subject_request_deadlines.delay().get() == 0, day

    assert reminders_sent() == [
        ("subject_request_due_in_2", "comp"),
        ("subject_request_due_in_7", "comp"),
        ("subject_request_overdue", "comp"),
        ("subject_request_overdue", "comp2"),
    ]
    assert AuditEvent.objects.filter(action="subject_request.overdue", channel="task").count() == 1


def test_an_extension_starts_a_new_series_of_reminders_and_a_closed_request_gets_none(
    compliance_officer,
):
    with time_machine.travel(date(2025, 3, 1)):
        subject_request = register(compliance_officer, CustomerFactory())
    with time_machine.travel(date(2025, 3, 25)):
        assert subject_requests_remind() == 1
        subject_request_extend(
            actor=compliance_officer,
            subject_request=subject_request,
            months=1,
            reason="Many systems to search.",
        )
        assert subject_requests_remind() == 0  # due 1 May now
    with time_machine.travel(date(2025, 4, 24)):
        assert subject_requests_remind() == 1
        subject_request_report(actor=compliance_officer, subject_request=subject_request)
        subject_request_close(
            actor=compliance_officer, subject_request=subject_request, response="Report sent."
        )
    with time_machine.travel(date(2025, 5, 10)):
        assert subject_requests_remind() == 0


def test_owners_with_pending_erasure_tasks_are_reminded_too(
    compliance_officer, owner, second_owner, shared_customer
):
    with time_machine.travel(date(2025, 3, 1)):
        subject_request = register(compliance_officer, shared_customer, type="erasure")
        erasure_task_confirm(actor=owner, task=subject_request.erasure_tasks.get(owner=owner))
    with time_machine.travel(date(2025, 4, 2)):
        subject_requests_remind()
    overdue = set(
        Notification.objects.filter(kind="subject_request_overdue").values_list(
            "recipient__username", flat=True
        )
    )
    assert overdue == {"comp", "own2"}


# --- Erasure ---------------------------------------------------------------------------


def test_erasure_closes_only_when_every_owner_confirmed_then_customer_is_nowhere(
    client,
    api_client,
    requester,
    owner,
    second_owner,
    compliance_officer,
    confidential_asset,
    email_marketing,
    shared_customer,
):
    grant = approved_grant(requester, confidential_asset, email_marketing)
    api_client.force_authenticate(requester)
    assert shared_customer.pk in export_ids(api_client, grant)

    api_client.force_authenticate(compliance_officer)
    created = api_client.post(
        "/api/subject-requests/",
        {"type": "erasure", "customer": shared_customer.pk, "identity_verification": IDENTITY},
        format="json",
    )
    assert created.status_code == 201
    body = created.json()
    assert {task["owner"] for task in body["tasks"]} == {"own", "own2"}
    tasks_by_owner = {task["owner"]: task["id"] for task in body["tasks"]}
    confirm = "/api/subject-requests/{}/tasks/{}/confirm/"

    api_client.force_authenticate(owner)
    first = api_client.post(
        confirm.format(body["id"], tasks_by_owner["own"]), {"note": "Deleted from the CRM."}
    )
    assert first.status_code == 200 and first.json()["confirmed"] is True

    # One owner still has to confirm: the request stays open, compliance cannot close it.
    api_client.force_authenticate(compliance_officer)
    refused = api_client.post(
        f"/api/subject-requests/{body['id']}/close/", {"response": "All deleted, we think."}
    )
    assert refused.status_code == 400 and "Dora" in refused.json()["detail"]
    assert DataSubjectRequest.objects.get().status == "open"
    assert AssetCustomer.objects.filter(customer=shared_customer).count() == 2

    api_client.force_authenticate(second_owner)
    second = api_client.post(confirm.format(body["id"], tasks_by_owner["own2"]), {})
    assert second.status_code == 200

    subject_request = DataSubjectRequest.objects.get()
    assert subject_request.status == "closed" and subject_request.closed_at
    assert not AssetCustomer.objects.filter(customer=shared_customer).exists()
    assert (
        AssetCustomer.history.filter(customer_id=shared_customer.pk, history_type="-").count() == 2
    )
    # The catalogue counts one customer fewer in each asset.
    listed = api_client.get("/api/assets/").json()["results"]
    counts = {asset["name"]: asset["customer_count"] for asset in listed}
    assert counts == {"Retail list": 9, "Events": 1}
    # Consent history is evidence: kept.
    assert ConsentRecord.objects.filter(customer=shared_customer).exists()

    api_client.force_authenticate(requester)
    assert shared_customer.pk not in export_ids(api_client, grant)
    records = api_client.get(f"/api/grants/{grant.pk}/records/").json()
    assert shared_customer.pk not in {row["id"] for row in records["results"]}
    client.force_login(requester)
    page = client.get(reverse("customers:grant_records", args=[grant.pk]))
    assert shared_customer.pk not in {row["id"] for row in page.context["page"].object_list}
    assert Notification.objects.filter(kind="subject_request_closed", recipient=compliance_officer)


def test_an_erasure_of_a_customer_added_to_a_new_asset_meanwhile_waits_for_its_owner(
    compliance_officer, owner, second_owner, confidential_asset
):
    customer = confidential_asset.customers.first()
    subject_request = register(compliance_officer, customer, type="erasure")
    late = DataAssetFactory(owner=second_owner, name="Late list", customers=[customer])

    erasure_task_confirm(actor=owner, task=subject_request.erasure_tasks.get())

    subject_request.refresh_from_db()
    assert subject_request.status == "open"
    new_task = subject_request.erasure_tasks.get(owner=second_owner)
    assert list(new_task.assets.all()) == [late]
    erasure_task_confirm(actor=second_owner, task=new_task)
    assert DataSubjectRequest.objects.get().status == "closed"
    assert not AssetCustomer.objects.filter(customer=customer).exists()


def test_confirming_someone_elses_erasure_task_is_404_and_changes_nothing(
    api_client, client, compliance_officer, owner, second_owner, shared_customer
):
    subject_request = register(compliance_officer, shared_customer, type="erasure")
    task = subject_request.erasure_tasks.get(owner=owner)
    url = f"/api/subject-requests/{subject_request.pk}/tasks/{task.pk}/confirm/"

    for intruder in (second_owner, compliance_officer):
        api_client.force_authenticate(intruder)
        assert api_client.post(url, {}).status_code == 404
        client.force_login(intruder)
        page = reverse("customers:erasure_task_confirm", args=[task.pk])
        assert client.post(page).status_code == 404
    # The right task id under another request is 404 too.
    other = register(compliance_officer, CustomerFactory(), type="access")
    api_client.force_authenticate(owner)
    wrong = f"/api/subject-requests/{other.pk}/tasks/{task.pk}/confirm/"
    assert api_client.post(wrong, {}).status_code == 404

    assert not ErasureTask.objects.filter(confirmed_at__isnull=False).exists()


def test_owner_confirms_own_task_on_the_erasure_tasks_page(
    client, compliance_officer, owner, second_owner, shared_customer
):
    subject_request = register(compliance_officer, shared_customer, type="erasure")
    task = subject_request.erasure_tasks.get(owner=owner)
    client.force_login(owner)

    page = client.get(reverse("customers:erasure_task_list"))
    assert page.status_code == 200 and list(page.context["page"].object_list) == [task]
    response = client.post(
        reverse("customers:erasure_task_confirm", args=[task.pk]), {"note": "Deleted in CRM."}
    )

    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.confirmed_by, task.note) == (owner, "Deleted in CRM.")
    again = client.post(reverse("customers:erasure_task_confirm", args=[task.pk]), follow=True)
    assert "already confirmed" in again.content.decode()


def test_erasure_of_a_customer_in_no_asset_is_closed_by_compliance(compliance_officer):
    subject_request = register(compliance_officer, CustomerFactory(), type="erasure")
    assert not subject_request.erasure_tasks.exists()
    subject_request_close(
        actor=compliance_officer, subject_request=subject_request, response="We hold nothing."
    )
    assert DataSubjectRequest.objects.get().status == "closed"


# --- Objection -------------------------------------------------------------------------


def test_objection_to_marketing_removes_the_customer_from_the_next_marketing_export_at_once(
    api_client, requester, compliance_officer, confidential_asset, email_marketing
):
    grant = approved_grant(requester, confidential_asset, email_marketing)
    customer = confidential_asset.customers.order_by("id").first()
    api_client.force_authenticate(requester)
    assert customer.pk in export_ids(api_client, grant)

    api_client.force_authenticate(compliance_officer)
    response = api_client.post(
        "/api/subject-requests/",
        {
            "type": "objection",
            "customer": customer.pk,
            "identity_verification": IDENTITY,
            "purposes": ["marketing"],
        },
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["status"] == "closed"
    record = ConsentRecord.objects.filter(customer=customer).order_by("-id").first()
    assert (record.purpose_id, record.status) == (
        Purpose.objects.get(key="marketing").pk,
        "withdrawn",
    )
    assert record.evidence == f"DSR-{response.json()['id']}"
    api_client.force_authenticate(requester)
    remaining = export_ids(api_client, grant)
    assert customer.pk not in remaining and len(remaining) == 3


@pytest.mark.parametrize(
    ("purposes", "message"),
    [([], "Name the purposes"), (["essential.service"], "contract")],
)
def test_objection_without_purposes_or_to_a_contract_purpose_is_refused(
    api_client, compliance_officer, purposes, message
):
    customer = CustomerFactory()
    api_client.force_authenticate(compliance_officer)
    response = api_client.post(
        "/api/subject-requests/",
        {
            "type": "objection",
            "customer": customer.pk,
            "identity_verification": IDENTITY,
            "purposes": purposes,
        },
        format="json",
    )
    assert response.status_code == 400 and message in response.json()["purposes"][0]
    assert not DataSubjectRequest.objects.exists()
    assert not ConsentRecord.objects.filter(customer=customer).exists()


# --- Access ----------------------------------------------------------------------------


def test_access_request_is_answered_with_a_report_of_everything_held(
    client, api_client, requester, compliance_officer, confidential_asset, email_marketing
):
    customer = confidential_asset.customers.order_by("id").first()
    grant = approved_grant(requester, confidential_asset, email_marketing)
    api_client.force_authenticate(requester)
    export_ids(api_client, grant)
    subject_request = register(compliance_officer, customer)
    api_client.force_authenticate(compliance_officer)
    close_url = f"/api/subject-requests/{subject_request.pk}/close/"

    early = api_client.post(close_url, {"response": "Sent you the report."})
    assert early.status_code == 400 and "report" in early.json()["detail"]

    client.force_login(compliance_officer)
    download = client.get(reverse("customers:subject_request_report", args=[subject_request.pk]))
    assert download.status_code == 200
    assert "attachment" in download["Content-Disposition"]
    report = download.json()
    assert report["customer"]["email"] == customer.email
    assert [a["name"] for a in report["assets"]] == ["Retail list"]
    assert [c["purpose"] for c in report["current_consents"]] == [email_marketing.key]
    assert [g["id"] for g in report["grants"]] == [grant.pk]
    assert [e["included"] for e in report["exports"]] == [True]

    answered = api_client.post(close_url, {"response": "Sent you the report."})
    assert answered.status_code == 200 and answered.json()["status"] == "closed"
    assert AuditEvent.objects.filter(action="subject_request.report").count() == 1


# --- Who sees what ---------------------------------------------------------------------


def test_only_compliance_sees_subject_requests(
    api_client, client, compliance_officer, legal_counsel, owner, outsider
):
    subject_request = register(compliance_officer, CustomerFactory())
    pages = [
        reverse("customers:subject_request_list"),
        reverse("customers:subject_request_detail", args=[subject_request.pk]),
        reverse("customers:subject_request_create"),
        reverse("customers:subject_request_report", args=[subject_request.pk]),
    ]
    api = [
        "/api/subject-requests/",
        f"/api/subject-requests/{subject_request.pk}/",
        f"/api/subject-requests/{subject_request.pk}/report/",
    ]
    for user in (legal_counsel, owner, outsider):
        client.force_login(user)
        api_client.force_authenticate(user)
        for url in pages:
            assert client.get(url).status_code == 404, (user, url)
        for url in api:
            assert api_client.get(url).status_code == 404, (user, url)
        created = api_client.post(
            "/api/subject-requests/",
            {
                "type": "access",
                "customer": subject_request.customer_id,
                "identity_verification": IDENTITY,
            },
            format="json",
        )
        assert created.status_code == 404
        extend = f"/api/subject-requests/{subject_request.pk}/extend/"
        assert api_client.post(extend, {"months": 1, "reason": "Many systems."}).status_code == 404

    client.force_login(compliance_officer)
    api_client.force_authenticate(compliance_officer)
    for url in pages:
        assert client.get(url).status_code == 200, url
    for url in api:
        assert api_client.get(url).status_code == 200, url
    assert DataSubjectRequest.objects.count() == 1


def test_compliance_registers_a_request_on_the_page(client, compliance_officer):
    customer = CustomerFactory()
    client.force_login(compliance_officer)
    url = reverse("customers:subject_request_create")

    missing = client.post(url, {"type": "access", "customer": customer.pk, "received_via": "email"})
    assert missing.status_code == 400 and not DataSubjectRequest.objects.exists()
    unknown = client.post(
        url,
        {
            "type": "access",
            "customer": 987654,
            "identity_verification": IDENTITY,
            "received_via": "email",
        },
    )
    assert unknown.status_code == 400 and "Unknown customer" in unknown.content.decode()

    response = client.post(
        url,
        {
            "type": "access",
            "customer": customer.pk,
            "identity_verification": IDENTITY,
            "received_via": "email",
        },
    )
    subject_request = DataSubjectRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "customers:subject_request_detail", args=[subject_request.pk]
    )


def test_extend_and_close_pages_refuse_bad_input_with_a_message(client, compliance_officer):
    subject_request = register(compliance_officer, CustomerFactory())
    client.force_login(compliance_officer)

    extend = client.post(
        reverse("customers:subject_request_extend", args=[subject_request.pk]),
        {"months": 1, "reason": ""},
    )
    close = client.post(
        reverse("customers:subject_request_close", args=[subject_request.pk]),
        {"response": "Report sent to the customer."},
    )

    assert extend.status_code == 400 and close.status_code == 400
    assert "report" in close.content.decode()
    assert DataSubjectRequest.objects.get().status == "open"


@pytest.mark.parametrize("count", [3, 20])
def test_subject_request_lists_run_constant_queries(
    client,
    api_client,
    compliance_officer,
    owner,
    second_owner,
    count,
    django_assert_max_num_queries,
):
    for n in range(count):
        customer = CustomerFactory()
        DataAssetFactory(owner=owner, name=f"A{n}", customers=[customer])
        DataAssetFactory(owner=second_owner, name=f"B{n}", customers=[customer])
        register(compliance_officer, customer, type="erasure")

    client.force_login(compliance_officer)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("customers:subject_request_list")).status_code == 200
    api_client.force_authenticate(compliance_officer)
    with django_assert_max_num_queries(10):
        body = api_client.get("/api/subject-requests/").json()
    assert body["count"] == count
    client.force_login(owner)
    with django_assert_max_num_queries(10):
        page = client.get(reverse("customers:erasure_task_list"))
    assert len(page.context["page"].object_list) == count
    api_client.force_authenticate(owner)
    with django_assert_max_num_queries(8):
        assert api_client.get("/api/erasure-tasks/").json()["count"] == count
