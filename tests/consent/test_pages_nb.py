"""The consent pages in Norwegian Bokmål: a reader whose browser asks for nb reads the
pages, the taxonomy's names, refusals and numbers and dates in nb."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from consent.models import ConsentImportJob, ImportJobStatus

pytestmark = pytest.mark.django_db

NB = {"HTTP_ACCEPT_LANGUAGE": "nb"}
HEADER = "customer,purpose,status,source,evidence,notice_version,effective_at\n"


@pytest.fixture(autouse=True)
def _site_language_after():
    """A request leaves its language active in the thread (LocaleMiddleware activates it and
    nothing deactivates it): later tests that call services directly expect the site's."""
    yield
    translation.deactivate()


def text(response) -> str:
    """The page with its no-break spaces read as spaces (nb groups thousands with one)."""
    return response.content.decode().replace("\xa0", " ").replace("&nbsp;", " ")


def test_the_purposes_page_reads_in_norwegian_with_the_taxonomy_names(client, compliance_officer):
    client.force_login(compliance_officer)

    page = text(client.get(reverse("consent:purposes"), **NB))

    assert "Formål og deres behandlingsgrunnlag" in page
    assert "Endre behandlingsgrunnlaget for et formål" in page
    # The taxonomy's names through the same catalogue, the key beside them.
    assert "Markedsføring på e-post" in page and "marketing.communications.email" in page
    assert "Marketing Email Communications" not in page
    assert ">Samtykke<" in page  # the lawful basis' label


def test_an_import_job_page_shows_norwegian_numbers_and_dates(client, compliance_officer):
    client.force_login(compliance_officer)
    with time_machine.travel(datetime(2026, 11, 30, 9, 12, tzinfo=UTC), tick=False):
        job = ConsentImportJob.objects.create(
            created_by=compliance_officer,
            file_name="samtykker.csv",
            size=10,
            sha256="0" * 64,
            status=ImportJobStatus.DONE,
            rows_total=1200,
            rows_processed=1200,
            imported=1150,
            already_recorded=50,
        )

    page = text(client.get(reverse("consent:import_job", args=[job.pk]), **NB))

    assert "Samtykkeimport" in page and "Rader kontrollert" in page
    assert "1 200 av 1 200 rader" in page
    assert "Importerte 1 150 (50 allerede registrert)." in page
    assert "30.11.2026" in page  # 10:12 in Oslo, the site's zone
    assert ">Ferdig<" in page


def test_a_refusal_reads_in_norwegian(client, compliance_officer):
    client.force_login(compliance_officer)

    response = client.get(reverse("consent:record"), {"as_of": "2999-01-01"}, **NB)

    assert response.status_code == 400
    assert "Protokollen kan ikke lages for en dato fram i tid." in text(response)


def test_a_background_import_writes_its_reasons_in_the_uploaders_language(
    client, compliance_officer, settings, django_capture_on_commit_callbacks
):
    settings.CONSENT_IMPORT_SYNC_MAX_ROWS = 2
    compliance_officer.language = "nb"
    compliance_officer.save(update_fields=["language"])
    client.force_login(compliance_officer)
    rows = "".join(
        f"nobody-{n}@example.org,marketing,granted,,,,2024-01-0{n + 1}\n" for n in range(3)
    )
    upload = SimpleUploadedFile("samtykker.csv", (HEADER + rows).encode(), "text/csv")

    with django_capture_on_commit_callbacks() as queued:
        response = client.post(reverse("consent:consent_import"), {"file": upload})
    # The worker has no request, and its own language is the site's: the task reads the
    # uploader's saved language.
    with translation.override("en-gb"):
        for callback in queued:
            callback()

    assert response.status_code == 302
    job = ConsentImportJob.objects.get()
    assert job.status == ImportJobStatus.REJECTED
    assert job.errors[0] == [2, "Ukjent kunde 'nobody-0@example.org'."]
