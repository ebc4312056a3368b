"""The incident pages in Norwegian Bokmål: the report form, the breach clock and a refusal,
for a browser that asks for nb (Accept-Language)."""

import html as html_lib
import re
from datetime import UTC, datetime, timedelta

import polib
import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from incidents.models import Incident
from incidents.services.reports import incident_acknowledge
from incidents.services.triage import incident_triage

pytestmark = pytest.mark.django_db

NB = {"HTTP_ACCEPT_LANGUAGE": "nb"}
# Saturday 29 March 2025, 10:00 in Oslo: the 72 hours end on 1 April, 11:00 CEST.
AWARE = datetime(2025, 3, 29, 9, 0, tzinfo=UTC)


def test_the_report_form_and_its_thanks_speak_norwegian(client, carl, responders):
    client.force_login(carl)

    page = client.get(reverse("incidents:report"), **NB).content.decode()

    assert "Meld fra om mulig feil bruk av opplysninger" in page
    assert "du trenger ikke være sikker" in page
    assert "Hold navnet mitt konfidensielt" in page
    assert "Send meldingen" in page
    assert "Report suspected mishandling" not in page

    response = client.post(
        reverse("incidents:report"),
        {"title": "Mistet PC", "description": "Glemt på toget.", "discovered_at": ""},
        follow=True,
        **NB,
    )
    reference = Incident.objects.get().reference
    text = response.content.decode()
    assert f"Takk. Meldingen din har referanse {reference}" in text
    assert "Hva skjer nå" in text


def test_the_breach_clock_reads_in_norwegian_with_norwegian_dates_and_decimals(
    client, report, responders, deliver
):
    with time_machine.travel(AWARE + timedelta(minutes=30), tick=False):
        incident = report(discovered_at=AWARE)
        deliver(incident_acknowledge, actor=responders[0], incident=incident)
        deliver(
            incident_triage,
            actor=responders[0],
            incident=incident,
            personal_data_breach=True,
            breach_reason="Names and phone numbers reached an outside recipient.",
        )
    comp = responders[0]
    comp.time_zone = "Europe/Oslo"
    comp.save()
    client.force_login(comp)

    with time_machine.travel(AWARE + timedelta(hours=30), tick=False):
        page = client.get(reverse("incidents:detail", args=[incident.pk]), **NB).content.decode()

    assert "Frister" in page
    assert "Brudd på personopplysningssikkerheten" in page
    assert "42,0 timer igjen" in page  # a Norwegian decimal comma
    assert "01.04.2025" in page  # the due date in the Norwegian date format
    assert "hours left" not in page


def test_a_refused_triage_says_why_in_norwegian(client, report, responders):
    incident = report()
    client.force_login(responders[0])

    response = client.post(
        reverse("incidents:triage", args=[incident.pk]), {"status": "closed"}, **NB
    )

    text = response.content.decode()
    assert response.status_code == 400
    assert "Bekreft mottak først; avviket kan ikke gå rett fra meldt til lukket." in text
    assert "Ingenting ble endret; se meldingen ved skjemaet." in text


# --- Every incident page in nb: no English sentence of the catalogue left -----------------


def _english_sentences() -> set[str]:
    """The catalogue's English sentences (three words or more, no placeholder) whose
    Norwegian differs: none may show on a page rendered in nb."""
    catalogue = polib.pofile(str(settings.BASE_DIR / "locale" / "nb" / "LC_MESSAGES" / "django.po"))
    return {
        entry.msgid
        for entry in catalogue
        if len(entry.msgid.split()) >= 3
        and "%" not in entry.msgid
        and "<" not in entry.msgid
        and entry.msgstr != entry.msgid
    }


def _visible_text(html: str) -> str:
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_every_incident_page_reads_norwegian_to_a_norwegian_reader(
    client, report, responders, deliver, asset, carl
):
    with translation.override("nb"), time_machine.travel(AWARE, tick=False):
        incident = report(discovered_at=AWARE, assets=[asset])
        deliver(incident_acknowledge, actor=responders[0], incident=incident)
        deliver(
            incident_triage,
            actor=responders[0],
            incident=incident,
            personal_data_breach=True,
            breach_reason="Navn og telefonnumre kom til en utenforstående mottaker.",
        )
    english = _english_sentences()
    pages = {
        carl: [
            reverse("incidents:report"),
            reverse("incidents:mine"),
            reverse("incidents:detail", args=[incident.pk]),
        ],
        responders[0]: [
            reverse("incidents:list"),
            reverse("incidents:detail", args=[incident.pk]),
            reverse("incidents:alert_list"),
        ],
    }
    for person, urls in pages.items():
        client.force_login(person)
        for url in urls:
            response = client.get(url, **NB)
            assert response.status_code == 200, url
            text = _visible_text(response.content.decode())
            assert [sentence for sentence in english if sentence in text] == [], url


def test_lines_stored_in_english_by_the_jobs_and_the_seed_read_norwegian_in_nb():
    from incidents.templatetags.incident_texts import stored_text

    with translation.override("nb"):
        assert stored_text("Compliance and Legal notified (3 people).") == (
            "Compliance og Juridisk er varslet (3 personer)."
        )
        assert stored_text("Reported by confidential reporter") == (
            "Meldt av en konfidensiell melder"
        )
        assert stored_text("A note of my own, 50% sure.") == "A note of my own, 50% sure."
    with translation.override("en-gb"):
        assert stored_text("Compliance and Legal notified (3 people).") == (
            "Compliance and Legal notified (3 people)."
        )


def test_a_persons_note_on_the_timeline_is_shown_as_written_in_norwegian(
    client, report, responders
):
    """The timeline is evidence: a note that happens to look like a portal line ("... due
    ...") is never rewritten for a Norwegian reader."""
    from incidents.services.triage import incident_note_add

    incident = report()
    note = "Backup restore is due tomorrow; reported by phone to the DPO."
    incident_note_add(actor=responders[0], incident=incident, text=note)
    client.force_login(responders[0])

    page = client.get(reverse("incidents:detail", args=[incident.pk]), **NB)

    assert note in html_lib.unescape(page.content.decode())
