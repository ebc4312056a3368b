"""Long consent imports through the page run as a background job: progress on a job page,
all or nothing, a bounded error report with the full list as a CSV download."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from consent.models import ConsentImportJob, ConsentRecord, ConsentState
from consent.services import imports
from consent.services.import_jobs import _progress, import_job_run, import_job_submit
from customers.models.catalogue import Customer
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db

HEADER = "customer,purpose,status,source,evidence,notice_version,effective_at\n"
KEYS = ("marketing", "marketing.communications.email", "third_party_sharing", "analytics")


def make_customers(count: int) -> list[int]:
    Customer.objects.bulk_create(
        [Customer(name=f"C {n}", email=f"c{n}@example.org") for n in range(count)],
        batch_size=2000,
    )
    return list(Customer.objects.order_by("pk").values_list("pk", flat=True))


def big_csv(ids: list[int], rows: int, *, last: str | None = None) -> str:
    lines = [HEADER]
    for n in range(rows):
        lines.append(
            f"{ids[n % len(ids)]},{KEYS[(n // len(ids)) % len(KEYS)]},granted,web_form,"
            f"form-{n},v1,2024-01-{1 + n % 28:02d}\n"
        )
    if last is not None:
        lines[-1] = last
    return "".join(lines)


def upload(client, text: str, name: str = "consents.csv"):
    return client.post(
        reverse("consent:consent_import"),
        {"file": SimpleUploadedFile(name, text.encode(), content_type="text/csv")},
    )


@pytest.fixture
def threshold(settings):
    settings.CONSENT_IMPORT_SYNC_MAX_ROWS = 100
    return 100


def job_page(client, job) -> str:
    response = client.get(reverse("consent:import_job", args=[job.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_a_long_import_runs_in_the_background_with_progress_on_its_page(
    client, compliance_officer, threshold, django_capture_on_commit_callbacks
):
    ids = make_customers(400)
    client.force_login(compliance_officer)

    with django_capture_on_commit_callbacks() as queued:
        response = upload(client, big_csv(ids, 1000))

    job = ConsentImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("consent:import_job", args=[job.pk])
    page = job_page(client, job)
    assert "Queued" in page and "0 of 1,000 rows" in page
    assert 'http-equiv="refresh"' in page  # reloads itself, no script (CSP)
    assert not ConsentRecord.objects.exists()
    # While a worker imports, the rows checked so far reach the page through the cache.
    ConsentImportJob.objects.filter(pk=job.pk).update(status="running")
    _progress(job.pk, 400)
    page = job_page(client, job)
    assert "Running" in page and "400 of 1,000 rows" in page and 'http-equiv="refresh"' in page

    for callback in queued:
        callback()

    job.refresh_from_db()
    assert (job.status, job.rows_processed, job.imported) == ("done", 1000, 1000)
    assert ConsentRecord.objects.count() == 1000
    page = job_page(client, job)
    assert "Done" in page and "1,000 of 1,000 rows" in page and "Imported 1,000" in page
    assert 'http-equiv="refresh"' not in page
    assert job.content == b""  # the file is not kept once imported
    actions = list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))
    assert actions[-3:] == [
        "consent_import_job.create",
        "consent.import",
        "consent_import_job.finish",
    ]


def test_one_bad_row_at_the_end_of_a_long_file_imports_nothing(
    client, compliance_officer, threshold, django_capture_on_commit_callbacks, monkeypatch
):
    # Several batches: the first ones are written, then rolled back when the last is bad.
    monkeypatch.setattr(imports, "IMPORT_BATCH_SIZE", 100)
    ids = make_customers(300)
    client.force_login(compliance_officer)
    text = big_csv(ids, 1000, last="424242424,marketing,granted,web_form,x,v1,2024-01-01\n")

    with django_capture_on_commit_callbacks(execute=True):
        upload(client, text)

    job = ConsentImportJob.objects.get()
    assert (job.status, job.error_count, job.imported) == ("rejected", 1, 0)
    assert not ConsentRecord.objects.exists() and not ConsentState.objects.exists()
    page = job_page(client, job)
    assert "Nothing imported" in page and "Unknown customer &#x27;424242424&#x27;." in page
    assert "1001" in page
    finish = AuditEvent.objects.get(action="consent_import_job.finish")
    assert finish.detail["status"] == "rejected"


def test_the_page_shows_the_first_100_errors_and_the_csv_holds_them_all(
    client, compliance_officer, threshold, django_capture_on_commit_callbacks
):
    ids = make_customers(10)
    client.force_login(compliance_officer)
    bad = "".join(f"9999{n},marketing,granted,web_form,x,v1,2024-01-01\n" for n in range(250))

    with django_capture_on_commit_callbacks(execute=True):
        upload(client, big_csv(ids, 10) + bad)

    job = ConsentImportJob.objects.get()
    page = job_page(client, job)
    assert page.count("Unknown customer") == 100
    assert "150 more" in page
    download = client.get(reverse("consent:import_job_errors", args=[job.pk]))
    assert download.status_code == 200
    assert download["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert len(rows) == 250
    assert rows[0] == {"line": "12", "reason": "Unknown customer '99990'."}
    assert AuditEvent.objects.filter(action="consent_import_job.errors_download").count() == 1


def test_a_short_import_with_bad_rows_bounds_its_report_too(client, compliance_officer):
    make_customers(1)
    client.force_login(compliance_officer)
    bad = "".join(f"9999{n},marketing,granted,web_form,x,v1,2024-01-01\n" for n in range(150))

    response = upload(client, HEADER + bad)

    assert response.status_code == 400
    page = response.content.decode()
    assert page.count("Unknown customer") == 100
    job = ConsentImportJob.objects.get()
    assert reverse("consent:import_job_errors", args=[job.pk]) in page


def test_only_compliance_sees_a_job(
    client,
    compliance_officer,
    second_compliance_officer,
    legal_counsel,
    outsider,
    threshold,
    django_capture_on_commit_callbacks,
):
    ids = make_customers(50)
    client.force_login(compliance_officer)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, big_csv(ids, 200, last="1,nonsense,granted,,,v1,2024-01-01\n"))
    job = ConsentImportJob.objects.get()
    paths = [
        reverse("consent:import_job", args=[job.pk]),
        reverse("consent:import_job_errors", args=[job.pk]),
    ]

    assert [client.get(path).status_code for path in paths] == [200, 200]
    client.logout()
    assert all(client.get(path).status_code == 302 for path in paths)  # to the login page
    for user in (legal_counsel, outsider):
        client.force_login(user)
        assert [client.get(path).status_code for path in paths] == [404, 404]
    client.force_login(second_compliance_officer)
    assert [client.get(path).status_code for path in paths] == [200, 200]


def test_the_command_still_imports_a_file(tmp_path):
    ids = make_customers(20)
    path = tmp_path / "consents.csv"
    path.write_text(big_csv(ids, 40))
    out = io.StringIO()

    call_command("import_consents", str(path), stdout=out)

    assert "Imported 40 of 40 rows" in out.getvalue()
    assert not ConsentImportJob.objects.exists()


@pytest.mark.postgres
def test_a_100000_row_import_through_the_page_completes_in_the_background(
    client, compliance_officer, django_capture_on_commit_callbacks
):
    ids = make_customers(25000)
    client.force_login(compliance_officer)
    text = big_csv(ids, 100_000)

    with django_capture_on_commit_callbacks() as queued:
        response = upload(client, text)
    # The request only stores the file: the answer comes before any row is imported.
    assert response.status_code == 302
    assert ConsentImportJob.objects.get().status == "queued"
    assert not ConsentRecord.objects.exists()
    for callback in queued:
        callback()

    job = ConsentImportJob.objects.get()
    assert (job.status, job.rows_total, job.imported) == ("done", 100_000, 100_000)
    assert ConsentRecord.objects.count() == 100_000
    assert "100,000 of 100,000 rows" in job_page(client, job)


def test_a_file_name_with_control_characters_is_stored_without_them(compliance_officer):
    ids = make_customers(2)

    job = import_job_submit(
        actor=compliance_officer,
        file=io.BytesIO(big_csv(ids, 2).encode()),
        name="con\x00sents\t.csv",
    )

    assert (job.status, job.file_name) == ("done", "consents.csv")
    event = AuditEvent.objects.get(action="consent_import_job.create")
    assert event.detail["file"] == "consents.csv"


# --- Jobs whose worker was killed ---------------------------------------------------------

MARGIN = 600


@pytest.fixture
def stale_limits(settings):
    settings.CONSENT_IMPORT_TIME_LIMIT = 3600
    settings.CONSENT_IMPORT_ABANDON_MARGIN = MARGIN
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 7200}


def stranded_job(client, compliance_officer, django_capture_on_commit_callbacks, *, status):
    """A background job whose task never ran to its end: left ``queued`` (message lost) or
    ``running`` (worker killed by the hard time limit, which runs no code of ours)."""
    ids = make_customers(200)
    client.force_login(compliance_officer)
    with django_capture_on_commit_callbacks():  # the task is never run
        upload(client, big_csv(ids, 500))
    job = ConsentImportJob.objects.get()
    if status == "running":
        ConsentImportJob.objects.filter(pk=job.pk).update(
            status="running", started_at=job.created_at
        )
    job.refresh_from_db()
    assert job.status == status and len(job.content) > 0
    return job


@pytest.mark.parametrize(
    ("status", "limit"), [("running", 3600), ("queued", 7200)], ids=["running", "queued"]
)
def test_a_job_whose_worker_died_is_failed_by_the_sweep_and_its_file_emptied(
    client,
    compliance_officer,
    threshold,
    stale_limits,
    django_capture_on_commit_callbacks,
    status,
    limit,
):
    from consent.tasks import fail_abandoned_consent_import_jobs

    with time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False) as clock:
        job = stranded_job(
            client, compliance_officer, django_capture_on_commit_callbacks, status=status
        )

        clock.shift(timedelta(seconds=limit + MARGIN - 1))  # a slow job may still be alive
        assert fail_abandoned_consent_import_jobs() == 0
        job.refresh_from_db()
        assert job.status == status and len(job.content) > 0

        clock.shift(timedelta(seconds=2))
        assert fail_abandoned_consent_import_jobs() == 1

    job.refresh_from_db()
    assert job.status == "failed"
    assert job.content == b""  # the customer keys and evidence are not kept
    assert "nothing was imported" in job.message
    assert job.finished_at == datetime(2026, 3, 2, 9, 0, tzinfo=UTC) + timedelta(
        seconds=limit + MARGIN + 1
    )
    finish = AuditEvent.objects.get(action="consent_import_job.finish")
    assert finish.detail["status"] == "failed"
    client.force_login(compliance_officer)  # the session of the upload has timed out
    page = job_page(client, job)
    assert "Failed: nothing imported" in page and 'http-equiv="refresh"' not in page
    assert not ConsentRecord.objects.exists()
    # Run again, the sweep finds nothing; a late delivery of the task imports nothing.
    assert fail_abandoned_consent_import_jobs() == 0
    assert import_job_run(job_id=job.pk).status == "failed"
    assert not ConsentRecord.objects.exists()


def test_the_job_page_shows_a_dead_job_as_failed_before_the_sweep_has_run(
    client, compliance_officer, threshold, stale_limits, django_capture_on_commit_callbacks
):
    with time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False) as clock:
        job = stranded_job(
            client, compliance_officer, django_capture_on_commit_callbacks, status="running"
        )
        page = job_page(client, job)
        assert "Running" in page and 'http-equiv="refresh"' in page

        clock.shift(timedelta(seconds=3600 + MARGIN + 1))
        client.force_login(compliance_officer)  # the session of the upload has timed out
        page = job_page(client, job)
        listing = client.get(reverse("consent:consent_import")).content.decode()

    assert "Failed: nothing imported" in page and 'http-equiv="refresh"' not in page
    assert "nothing was imported" in page
    assert "Failed: nothing imported" in listing
    # Viewing wrote nothing: the sweep does that, with its audit event.
    job.refresh_from_db()
    assert job.status == "running" and len(job.content) > 0
    assert not AuditEvent.objects.filter(action="consent_import_job.finish").exists()


def test_the_sweep_runs_on_beat(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["consent-import-fail-abandoned-jobs"]
    assert entry["task"] == "consent.tasks.fail_abandoned_consent_import_jobs"


def test_the_import_page_lists_recent_jobs_in_a_fixed_number_of_queries(
    client, compliance_officer, django_assert_max_num_queries
):
    """The recent jobs come in one query, without their stored files: one job and ten cost
    the page the same."""
    ids = make_customers(2)
    client.force_login(compliance_officer)
    bad_last = "nobody@example.org,marketing,granted,2024-01-05"
    upload(client, big_csv(ids, 2, last=bad_last))
    with django_assert_max_num_queries(PAGE_QUERIES):
        assert client.get(reverse("consent:consent_import")).status_code == 200

    for _ in range(9):
        upload(client, big_csv(ids, 2, last=bad_last))
    assert ConsentImportJob.objects.count() == 10
    with django_assert_max_num_queries(PAGE_QUERIES):
        page = client.get(reverse("consent:consent_import")).content.decode()
    for job in ConsentImportJob.objects.all():  # every job is listed, with its link
        assert reverse("consent:import_job", args=[job.pk]) in page


PAGE_QUERIES = 5  # session, user, roles, the recent jobs with their uploaders
