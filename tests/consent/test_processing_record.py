"""The record of processing activities (GDPR Art. 30): the demo's record, a transfer outside
the EEA and the record as of a day, the exports (CSV, XLSX, printable page, API) and who may
read it."""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from consent.models import ProcessingActivity, Purpose, SharingRequest
from consent.processing_record import COLUMNS, processing_record
from consent.services.processing_activities import processing_activity_save
from consent.services.sharing import sharing_request_create, sharing_request_decide
from customers.models.catalogue import DataAsset
from portal.errors import ApplicationError, NotAllowed
from portal.models import AuditEvent, User
from tests.factories import DataAssetFactory

pytestmark = pytest.mark.django_db

# The demo is loaded on 1 March 2026; the sharing request is approved on 10 March.
DEMO_DAY = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
APPROVAL_DAY = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
SECURITY_START = "Access only through justified, approved and time-limited grants"


@pytest.fixture
def demo(db):
    with time_machine.travel(DEMO_DAY):
        call_command("seed_demo", stdout=StringIO())


def user(username: str) -> User:
    return User.objects.get(username=username)


@pytest.fixture
def us_transfer(demo):
    """alice shares the Nordic retail customers who agreed to third-party sharing with a US
    analytics firm; bob, olivia and lena approve on 10 March, lena naming standard
    contractual clauses."""
    with time_machine.travel(APPROVAL_DAY):
        sharing_request = sharing_request_create(
            actor=user("alice"),
            asset=DataAsset.objects.get(name="Nordic retail customers"),
            purpose=Purpose.objects.get(key="essential.service"),
            justification="The analytics firm measures delivery times of the web shop orders.",
            recipient="Acme Analytics Inc",
            recipient_country="US",
            agreement_reference="DPA-2026-003",
            agreement_end=date(2027, 3, 1),
            categories=["user.contact.email"],
        )
        for approver, extra in [
            ("bob", {}),
            ("olivia", {}),
            ("lena", {"transfer_safeguard": "standard_contractual_clauses"}),
        ]:
            sharing_request_decide(
                sharing_request=SharingRequest.objects.get(pk=sharing_request.pk),
                actor=user(approver),
                approve=True,
                reason="Agreement and consent coverage checked.",
                **extra,
            )
    return sharing_request


def rows_by_name(record) -> dict:
    return {row.name: row for row in record.rows}


def test_the_demo_record_has_its_activities_categories_recipients_and_retention(demo):
    with time_machine.travel(DEMO_DAY + timedelta(days=1)):
        record = processing_record()

    rows = rows_by_name(record)
    assert list(rows) == ["Customer service", "E-mail marketing"]
    service, marketing = rows["Customer service"], rows["E-mail marketing"]
    assert service.purposes == ["essential.service"]
    assert service.lawful_bases == ["essential.service: Contract"]
    assert service.data_subjects == ["Customers"]
    assert service.data_categories == [
        "user.contact.email",
        "user.contact.phone_number",
        "user.name",
        "user.workplace",
    ]
    assert service.erasure_limits == [
        "Event attendees 2024: erase by 2025-06-30",
        "Key accounts: no retention date set",
        "Nordic retail customers: no retention date set",
    ]
    # carl's request on the Nordic list still waits for compliance: no grant yet.
    assert service.recipients == [] and service.transfers == []
    assert marketing.lawful_bases == ["marketing.communications.email: Consent"]
    assert marketing.data_categories == ["user.contact.email", "user.name"]
    assert marketing.recipients == ["Internal: Carl Christensen"]
    assert marketing.erasure_limits == ["Newsletter subscribers: no retention date set"]
    assert marketing.security_measures.startswith(SECURITY_START)
    assert [e.label for e in marketing.assets] == ["Newsletter subscribers"]
    # The uncategorised legacy list serves no purpose, so no activity either; the event
    # list is past its retention date.
    assert record.gaps.uncovered_purposes == []
    assert [e.label for e in record.gaps.past_retention] == ["Event attendees 2024"]


def test_an_approved_transfer_outside_the_eea_shows_with_its_safeguard(us_transfer):
    with time_machine.travel(APPROVAL_DAY + timedelta(hours=1)):
        service = rows_by_name(processing_record())["Customer service"]

    assert service.recipients == ["External: Acme Analytics Inc (United States)"]
    assert service.transfers == ["Acme Analytics Inc (United States): Standard contractual clauses"]
    assert [e.url for e in service.sharing] == [us_transfer.get_absolute_url()]


def test_the_record_as_of_a_day_before_the_approval_does_not_show_it(us_transfer):
    with time_machine.travel(APPROVAL_DAY + timedelta(days=1)):
        before = rows_by_name(processing_record(as_of=date(2026, 3, 9)))["Customer service"]
        on_the_day = rows_by_name(processing_record(as_of=date(2026, 3, 10)))["Customer service"]
        before_the_demo = processing_record(as_of=date(2026, 2, 28))

    assert before.recipients == []
    assert before.transfers == []
    assert on_the_day.transfers == [
        "Acme Analytics Inc (United States): Standard contractual clauses"
    ]
    assert before_the_demo.rows == []


def test_the_record_as_of_a_day_reads_the_activities_and_assets_as_they_were(
    demo, compliance_officer
):
    activity = ProcessingActivity.objects.get(name="E-mail marketing")
    with time_machine.travel(DEMO_DAY + timedelta(days=5)):
        processing_activity_save(
            actor=user("olivia"),
            activity=activity,
            name="Newsletter",
            purposes=Purpose.objects.filter(key="marketing"),
        )
        asset = DataAsset.objects.get(name="Newsletter subscribers")
        asset.data_categories.add(*DataAsset.objects.get(name="Key accounts").data_categories.all())
    with time_machine.travel(DEMO_DAY + timedelta(days=6)):
        earlier = rows_by_name(processing_record(as_of=date(2026, 3, 2)))
        now = rows_by_name(processing_record())

    assert earlier["E-mail marketing"].purposes == ["marketing.communications.email"]
    assert earlier["E-mail marketing"].data_categories == ["user.contact.email", "user.name"]
    assert "Newsletter" not in earlier
    assert now["Newsletter"].purposes == ["marketing"]
    assert "user.workplace" in now["Newsletter"].data_categories


def test_a_purpose_in_use_without_an_activity_is_a_gap(demo):
    DataAssetFactory(name="Loyalty", collected_for=["personalize"], categories=["user.name"])

    assert processing_record().gaps.uncovered_purposes == ["personalize"]


# --- Exports: the same rows in CSV, XLSX, the page and the API --------------------------------


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def xlsx_rows(response) -> list[dict]:
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    return [{k: v or "" for k, v in zip(header, row, strict=True)} for row in rows]


def test_csv_xlsx_page_and_api_carry_the_same_rows_and_each_export_is_audited(client, us_transfer):
    client.force_login(user("olivia"))
    with time_machine.travel(APPROVAL_DAY + timedelta(days=1)):
        page = client.get(reverse("consent:record"))
        csv_response = client.get(reverse("consent:record_csv"))
        xlsx_response = client.get(reverse("consent:record_xlsx"))
        printed = client.get(reverse("consent:record_print"))
        api = client.get("/api/records-of-processing/")

    assert csv_response["Content-Type"].startswith("text/csv")
    from_csv, from_xlsx = csv_rows(csv_response), xlsx_rows(xlsx_response)
    assert list(from_csv[0]) == COLUMNS
    assert from_xlsx == from_csv
    assert [r["name"] for r in from_csv] == ["Customer service", "E-mail marketing"]
    assert from_csv[0]["transfers"] == (
        "Acme Analytics Inc (United States): Standard contractual clauses"
    )
    page_rows = [row.as_cells() for row in page.context["record"].rows]
    assert page_rows == from_csv
    assert "Acme Analytics Inc (United States): Standard contractual clauses" in printed.text
    api_rows = api.json()["rows"]
    assert [r["name"] for r in api_rows] == ["Customer service", "E-mail marketing"]
    assert api_rows[0]["transfers"] == [from_csv[0]["transfers"]]
    exports = AuditEvent.objects.filter(action="record.export").order_by("pk")
    assert [e.detail["format"] for e in exports] == ["csv", "xlsx", "print", "api"]


def test_the_api_answers_the_record_as_of_a_day(client, us_transfer):
    client.force_login(user("lena"))
    with time_machine.travel(APPROVAL_DAY + timedelta(days=1)):
        answer = client.get("/api/records-of-processing/", {"as_of": "2026-03-09"}).json()

    assert answer["as_of"] == "2026-03-09"
    marketing = answer["rows"][0]
    assert marketing["name"] == "Customer service"
    assert marketing["transfers"] == []
    for field in [
        "purposes",
        "lawful_bases",
        "data_subjects",
        "data_categories",
        "recipients",
        "erasure_limits",
        "security_measures",
    ]:
        assert field in marketing


@pytest.mark.parametrize("as_of", ["next year", "2999-01-01", "2026-02-30"])
def test_a_bad_as_of_date_is_a_400_with_the_reason_and_no_export(client, demo, as_of):
    client.force_login(user("olivia"))

    api = client.get("/api/records-of-processing/", {"as_of": as_of})
    download = client.get(reverse("consent:record_csv"), {"as_of": as_of})

    assert api.status_code == 400 and "as_of" in api.json()
    assert download.status_code == 400
    assert not AuditEvent.objects.filter(action="record.export").exists()


@pytest.mark.parametrize("username", ["alice", "bob"])
def test_the_record_does_not_exist_for_employees_and_owners(client, demo, username):
    client.force_login(user(username))

    assert client.get(reverse("consent:record")).status_code == 404
    assert client.get(reverse("consent:record_xlsx")).status_code == 404
    assert client.get("/api/records-of-processing/").status_code == 404


# --- Activities ------------------------------------------------------------------------


def test_only_compliance_names_activities_and_bad_input_changes_nothing(demo):
    essential = Purpose.objects.filter(key="essential.service")
    with pytest.raises(NotAllowed):
        processing_activity_save(actor=user("lena"), name="Billing", purposes=essential)
    with pytest.raises(ApplicationError) as error:
        processing_activity_save(actor=user("olivia"), name="Billing", purposes=[])
    assert error.value.field == "purposes"
    with pytest.raises(ApplicationError) as error:
        processing_activity_save(actor=user("olivia"), name="customer SERVICE", purposes=essential)
    assert error.value.field == "name"
    assert ProcessingActivity.objects.count() == 2


# --- Cost ------------------------------------------------------------------------------


def page_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("consent:record")).status_code == 200
    return len(queries)


def test_the_page_costs_the_same_queries_with_4_or_400_assets(client, compliance_officer):
    # The clock stands still: building 396 assets on a busy machine can take longer than the
    # session's last-seen resolution, whose refresh would add a write to the second count.
    with time_machine.travel(datetime.now(UTC), tick=False):
        processing_activity_save(
            actor=compliance_officer,
            name="Service",
            purposes=Purpose.objects.filter(key="essential"),
        )
        for n in range(4):
            DataAssetFactory(
                name=f"List {n}", collected_for=["essential.service"], categories=["user.name"]
            )
        client.force_login(compliance_officer)
        # The names of the keys are read once per process (consent/taxonomy_names.py).
        page_queries(client)
        few = page_queries(client)
        for n in range(4, 400):
            DataAssetFactory(
                name=f"List {n}", collected_for=["essential.service"], categories=["user.name"]
            )

        many = page_queries(client)

    assert many == few
    assert len(processing_record().rows[0].assets) == 400


def test_compliance_names_an_activity_on_its_page_and_the_record_shows_it(client, demo):
    client.force_login(user("olivia"))
    personalize = Purpose.objects.get(key="personalize")

    refused = client.post(reverse("consent:activity_new"), {"name": "", "purposes": []})
    response = client.post(
        reverse("consent:activity_new"),
        {
            "name": "Recommendations",
            "purposes": [personalize.pk],
            "data_subject_categories": "Customers, web shop visitors",
        },
    )

    assert refused.status_code == 400
    assert response.status_code == 302
    row = rows_by_name(processing_record())["Recommendations"]
    assert row.lawful_bases == ["personalize: Consent"]
    assert row.data_subjects == ["Customers, web shop visitors"]
    assert client.get(reverse("consent:activity_new")).status_code == 200
    client.force_login(user("lena"))
    assert client.get(reverse("consent:activity_new")).status_code == 404


def test_the_gaps_reach_compliances_dashboard_and_nobody_elses(client, compliance_officer, owner):
    DataAssetFactory(
        name="Loyalty", owner=owner, collected_for=["personalize"], categories=["user.name"]
    )

    client.force_login(compliance_officer)
    [card] = [s for s in client.get("/").context["dashboard"].sections if s.key == "record-gaps"]
    client.force_login(owner)
    owner_keys = [s.key for s in client.get("/").context["dashboard"].sections]

    assert card.count == 1 and card.attention
    assert card.context["gaps"].uncovered_purposes == ["personalize"]
    assert "record-gaps" not in owner_keys
