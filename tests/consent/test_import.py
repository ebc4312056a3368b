"""CSV import: all or nothing, every bad row reported, idempotent."""

import hashlib
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from consent.models import ConsentRecord, ConsentState
from consent.services import imports
from consent.services.imports import ImportRejected, consent_import
from portal.errors import NotAllowed
from portal.models import AuditEvent
from tests.factories import CustomerFactory, DataAssetFactory

pytestmark = pytest.mark.django_db

HEADER = "customer,purpose,status,source,evidence,notice_version,effective_at\n"


@pytest.fixture
def people(db):
    return CustomerFactory.create_batch(3)


def good_csv(people) -> str:
    a, b, c = people
    return HEADER + (
        f"{a.pk},marketing.communications.email,granted,web_form,form-1,v1,2024-01-05\n"
        f"{b.email},marketing,granted,,form-2,v1,2024-01-06T10:00:00Z\n"
        f"{a.pk},marketing.communications.email,withdrawn,email,mail-9,v1,2024-02-01\n"
        f"{c.pk},third_party_sharing,granted,contract,K-7,v2,2024-03-01 09:30\n"
    )


def run_import(text: str, actor=None):
    return consent_import(actor=actor, file=io.BytesIO(text.encode()), name="c.csv")


def test_a_good_csv_imports_every_row(people):
    report = run_import(good_csv(people))

    assert (report.rows, report.imported, report.already_recorded) == (4, 4, 0)
    assert ConsentRecord.objects.count() == 4
    a, b, c = people
    states = dict(ConsentState.objects.values_list("customer_id", "status"))
    assert states == {a.pk: "withdrawn", b.pk: "granted", c.pk: "granted"}
    assert ConsentRecord.objects.get(customer=b).source == "import"


def test_an_import_writes_one_audit_event_with_the_row_count_and_the_file_hash(people):
    text = good_csv(people)
    run_import(text)

    event = AuditEvent.objects.get(action="consent.import")
    assert event.detail["rows"] == 4
    assert event.detail["sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert not AuditEvent.objects.filter(action="consent.record").exists()


def test_reimporting_the_same_file_does_not_double_the_current_state(people):
    run_import(good_csv(people))
    states = list(ConsentState.objects.order_by("pk").values())

    report = run_import(good_csv(people))

    assert (report.imported, report.already_recorded) == (0, 4)
    assert ConsentRecord.objects.count() == 4
    assert list(ConsentState.objects.order_by("pk").values()) == states


def test_a_csv_with_one_bad_row_imports_nothing_and_reports_that_row(people):
    lines = good_csv(people).splitlines()
    lines.insert(3, f"{people[0].pk},marketing.nonsense,granted,web_form,x,v1,2024-01-01")

    with pytest.raises(ImportRejected) as rejected:
        run_import("\n".join(lines))

    assert rejected.value.report.errors == [(4, "Unknown purpose 'marketing.nonsense'.")]
    assert not ConsentRecord.objects.exists()
    assert not ConsentState.objects.exists()
    assert not AuditEvent.objects.filter(action="consent.import").exists()


def test_every_bad_row_is_reported_with_its_line_and_reason(people):
    a = people[0]
    text = HEADER + (
        "999999,marketing,granted,web_form,,v1,2024-01-01\n"
        "nobody@example.org,marketing,granted,web_form,,v1,2024-01-01\n"
        # Surrounding spaces are trimmed (every field the same way): only the key counts.
        f"{a.pk}, marketing.communications.email;x ,granted,web_form,,v1,2024-01-01\n"
        f"{a.pk},marketing,perhaps,web_form,,v1,2024-01-01\n"
        f"{a.pk},marketing,granted,web_form,,v1,01/02/2024\n"
        f"{a.pk},marketing,granted,web_form,,v1,2999-01-01\n"
        f"{a.pk},marketing,granted,web_form,,v1,2024-01-01\n"
        f"{a.pk},marketing,granted,web_form,,v1,2024-01-01\n"
        f"{a.pk},marketing,granted,web_form\n"
    )

    with pytest.raises(ImportRejected) as rejected:
        run_import(text)

    errors = dict(rejected.value.report.errors)
    assert errors[2] == "Unknown customer '999999'."
    assert errors[3] == "Unknown customer 'nobody@example.org'."
    assert errors[4] == "Unknown purpose 'marketing.communications.email;x'."
    assert errors[5].startswith("Bad status 'perhaps'")
    assert errors[6].startswith("Bad date '01/02/2024'")
    assert "in the future" in errors[7]
    assert errors[9] == "Duplicate of line 8."
    assert errors[10] == "Fewer columns than the header names."
    assert 8 not in errors
    assert not ConsentRecord.objects.exists()


def test_a_file_with_a_wrong_header_is_rejected_as_a_whole(people):
    with pytest.raises(ImportRejected) as rejected:
        run_import("client,purpose,status\n1,marketing,granted\n")
    [(line, reason)] = rejected.value.report.errors
    assert line == 1 and "missing column(s) customer, effective_at" in reason


def test_a_large_file_is_imported_in_batches(monkeypatch, owner):
    monkeypatch.setattr(imports, "IMPORT_BATCH_SIZE", 25)
    asset = DataAssetFactory(owner=owner, customers=120)
    rows = [
        f"{pk},marketing,granted,web_form,,v1,2024-01-{1 + pk % 28:02d}"
        for pk in asset.customers.values_list("pk", flat=True)
    ]
    report = run_import(HEADER + "\n".join(rows) + "\n")

    assert report.imported == 120
    assert ConsentState.objects.filter(status="granted").count() == 120


def test_only_compliance_or_the_system_may_import(people, requester, compliance_officer):
    with pytest.raises(NotAllowed, match="Only a compliance officer can record consent"):
        run_import(good_csv(people), actor=requester)
    assert not ConsentRecord.objects.exists()

    run_import(good_csv(people), actor=compliance_officer)
    assert ConsentRecord.objects.filter(recorded_by=compliance_officer).count() == 4


def test_import_command_imports_a_good_file(people, tmp_path):
    path = tmp_path / "consents.csv"
    path.write_text(good_csv(people))
    out = io.StringIO()

    call_command("import_consents", str(path), stdout=out)

    assert "Imported 4 of 4 rows" in out.getvalue()
    assert ConsentRecord.objects.count() == 4
    assert AuditEvent.objects.get(action="consent.import").channel == "command"


def test_import_command_lists_bad_rows_and_fails(people, tmp_path):
    path = tmp_path / "consents.csv"
    path.write_text(HEADER + "42424242,marketing,granted,web_form,,v1,2024-01-01\n")
    err = io.StringIO()

    with pytest.raises(CommandError, match="Nothing imported: 1 bad row"):
        call_command("import_consents", str(path), stderr=err)

    assert "line 2: Unknown customer '42424242'." in err.getvalue()
    assert not ConsentRecord.objects.exists()


def upload(client, text: str):
    return client.post(
        reverse("consent:consent_import"),
        {"file": SimpleUploadedFile("consents.csv", text.encode(), content_type="text/csv")},
    )


def test_compliance_uploads_a_csv_on_the_import_page(client, compliance_officer, people):
    client.force_login(compliance_officer)
    assert client.get(reverse("consent:consent_import")).status_code == 200

    response = upload(client, good_csv(people))

    assert response.status_code == 302
    assert ConsentRecord.objects.count() == 4


def test_the_import_page_shows_the_bad_rows_and_imports_nothing(client, compliance_officer, people):
    client.force_login(compliance_officer)

    response = upload(client, good_csv(people) + "77777777,marketing,granted,,,v1,2024-01-01\n")

    assert response.status_code == 400
    assert "Unknown customer &#x27;77777777&#x27;." in response.content.decode()
    assert not ConsentRecord.objects.exists()


def test_the_import_page_is_refused_to_anyone_but_compliance(client, legal_counsel, people):
    client.force_login(legal_counsel)

    assert client.get(reverse("consent:consent_import")).status_code == 403
    assert upload(client, good_csv(people)).status_code == 403
    assert not ConsentRecord.objects.exists()


def test_a_file_missing_a_header_column_names_it_on_the_import_page(
    client, compliance_officer, people
):
    client.force_login(compliance_officer)

    response = upload(client, "customer,purpose,effective_at\n1,marketing,2024-01-01\n")

    html = response.content.decode()
    assert response.status_code == 400
    assert "the file's first line, its header, was refused" in html
    assert "missing column(s) status" in html
    assert "out of 0" not in html
    assert not ConsentRecord.objects.exists()
