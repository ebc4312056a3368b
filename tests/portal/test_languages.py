"""Languages: the chooser, the saved choice, the page's language and its formats in Norwegian."""

from datetime import date

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from customers.models.catalogue import DataAsset
from tests.factories import DataAssetFactory

pytestmark = pytest.mark.django_db

NO_BREAK_SPACE = "\xa0"


def choose(client, language: str, *, next_page: str = "/"):
    """Press one button of the chooser (the menu's, the sign-in page's or the account
    page's form): a POST of ``language`` and the page to return to."""
    return client.post(reverse("language_choose"), {"language": language, "next": next_page})


def test_an_anonymous_persons_choice_is_a_cookie_the_sign_in_page_follows():
    client = Client()

    answer = choose(client, "nb", next_page=reverse("login"))

    assert answer.status_code == 302 and answer["Location"] == reverse("login")
    cookie = client.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "nb"
    # Like the session's: never readable by scripts, never sent from another site's form.
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    page = client.get(reverse("login"))
    text = page.content.decode()
    assert '<html lang="nb"' in text
    assert '<h1 class="h3 mb-3">Logg inn</h1>' in text
    assert page["Content-Language"] == "nb"


def test_a_signed_in_choice_is_saved_and_followed_without_the_cookie(client, requester):
    client.force_login(requester)

    answer = choose(client, "nb", next_page=reverse("home"))

    assert answer.status_code == 302 and answer["Location"] == reverse("home")
    requester.refresh_from_db()
    assert requester.language == "nb"
    # Another device: signed in, no language cookie, a browser asking for English.
    other_device = Client(HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    other_device.force_login(requester)
    assert settings.LANGUAGE_COOKIE_NAME not in other_device.cookies
    page = other_device.get(reverse("home"))
    text = page.content.decode()
    assert '<html lang="nb"' in text and page["Content-Language"] == "nb"
    assert "Ingenting venter på deg akkurat nå." in text
    assert "Nothing is waiting for you right now." not in text


def test_an_unknown_language_changes_nothing_and_says_so(client, requester):
    client.force_login(requester)

    answer = choose(client, "xx", next_page=reverse("account"))

    assert answer.status_code == 302 and answer["Location"] == reverse("account")
    requester.refresh_from_db()
    assert requester.language == ""
    assert settings.LANGUAGE_COOKIE_NAME not in answer.cookies
    page = client.get(reverse("account")).content.decode()
    assert "That is not a language of the portal; nothing changed." in page
    assert '<html lang="en-gb"' in page


@pytest.mark.parametrize(
    "next_page", ["https://elsewhere.example/", "//elsewhere.example/", "home", ""]
)
def test_the_chooser_never_sends_anyone_to_another_site(next_page):
    answer = choose(Client(), "nb", next_page=next_page)

    assert answer.status_code == 302
    assert answer["Location"] == reverse("home")


@pytest.mark.parametrize(
    ("accept_language", "lang", "heading"),
    [("en-GB,en;q=0.9", "en-gb", "Log in"), ("nb,no;q=0.9", "nb", "Logg inn")],
)
def test_the_page_names_its_language_in_html_lang_and_content_language(
    accept_language, lang, heading
):
    page = Client(HTTP_ACCEPT_LANGUAGE=accept_language).get(reverse("login"))

    text = page.content.decode()
    assert f'<html lang="{lang}"' in text
    assert page["Content-Language"] == lang
    assert f"<title>{heading} · " in text


def test_the_account_pages_language_form_saves_the_choice_and_empty_follows_the_browser(
    client, requester
):
    client.force_login(requester)
    page = client.get(reverse("account")).content.decode()
    assert f'action="{reverse("language_choose")}"' in page
    assert 'name="language"' in page and 'value="nb"' in page

    answer = client.post(
        reverse("language_choose"), {"language": "nb", "next": reverse("account")}, follow=True
    )

    requester.refresh_from_db()
    assert requester.language == "nb"
    text = answer.content.decode()
    assert '<html lang="nb"' in text and "Portalen bruker nå språket du valgte." in text
    assert requester.history.first().history_change_reason == "Language chosen"

    client.cookies.pop(settings.LANGUAGE_COOKIE_NAME, None)
    client.post(reverse("language_choose"), {"language": "", "next": reverse("account")})

    requester.refresh_from_db()
    assert requester.language == ""
    english = client.get(reverse("account"), HTTP_ACCEPT_LANGUAGE="en-GB").content.decode()
    assert '<html lang="en-gb"' in english


@time_machine.travel("2026-11-30 10:00 +01:00", tick=False)
def test_the_dashboard_in_norwegian_writes_dates_and_numbers_the_norwegian_way(client, owner):
    asset = DataAssetFactory(owner=owner, name="Nyhetsbrev", customers=1)
    DataAsset.objects.filter(pk=asset.pk).update(
        retention_date=date(2026, 11, 1), customer_count=1200
    )
    client.force_login(owner)

    page = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="nb")

    text = page.content.decode()
    assert page["Content-Language"] == "nb"
    assert "Over lagringstiden" in text
    assert (
        f"lagringstiden gikk ut 01.11.2026, 1{NO_BREAK_SPACE}200 kunder er fortsatt lagret" in text
    )
    english = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en-GB").content.decode()
    assert "retention ended 1 Nov 2026, 1,200 customers still held" in english


def test_the_error_pages_and_json_errors_speak_norwegian(client, requester):
    client.force_login(requester)

    page = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="nb")
    api = client.get("/api/no-such-endpoint/", HTTP_ACCEPT_LANGUAGE="nb")

    assert page.status_code == 404
    assert "Det finnes ingenting her, eller ingenting du har tilgang til å se." in (
        page.content.decode()
    )
    assert api.status_code == 404 and api.json() == {"detail": "Ikke funnet."}


def test_a_row_whose_value_is_outside_its_choices_shows_the_value_as_a_model_would():
    from portal.approval_rows import StepRow

    step = StepRow(1, "auditor", "escalated", False, None, None, None, "", "", {})
    with translation.override("nb"):
        assert (step.get_role_display(), step.get_status_display()) == ("auditor", "escalated")
        assert (
            StepRow(1, "owner", "open", False, None, None, None, "", "", {}).get_role_display()
            == "Dataeier"
        )


def test_texts_remembered_per_language_are_built_once_each_and_again_after_catalogues_change(
    settings,
):
    from portal.languages import per_language

    built = []

    @per_language
    def greeting(name: str) -> str:
        built.append((translation.get_language(), name))
        return translation.gettext("Search") + " " + name

    for language in ("en-gb", "nb", "en-gb", "nb"):
        with translation.override(language):
            greeting("Eve")
    with translation.override("nb"):
        assert greeting("Eve") == "Søk Eve"
    assert built == [("en-gb", "Eve"), ("nb", "Eve")]

    settings.LOCALE_PATHS = [*settings.LOCALE_PATHS]  # as a test that changes the catalogues
    with translation.override("nb"):
        greeting("Eve")
    assert built[-1] == ("nb", "Eve") and len(built) == 3


def test_a_row_written_with_the_language_read_once_speaks_it_and_leaves_no_trace():
    from portal.languages import active_language, per_language, reads_language_once

    @per_language
    def search() -> str:
        return translation.gettext("Search")

    @reads_language_once
    def row() -> tuple[str, str, str | None]:
        # Another row written inside keeps the outer reading (``inner`` is the same text).
        inner = reads_language_once(search)()
        return search(), inner, active_language()

    with translation.override("nb"):
        assert row() == ("Søk", "Søk", "nb")
    with translation.override("en-gb"):
        # Nothing of the Norwegian row is left: the next row reads its own language.
        assert row() == ("Search", "Search", "en-gb")
        assert search() == "Search" and active_language() == "en-gb"
    with translation.override("nb"):
        assert search() == "Søk"


def test_a_row_reads_the_language_at_its_start_and_only_then():
    from portal.languages import per_language, reads_language_once

    @per_language
    def search() -> str:
        return translation.gettext("Search")

    @reads_language_once
    def row_that_switches() -> tuple[str, str]:
        # What a row must not do: its texts stay in the language it started in (the
        # reading is taken once), while Django's own lookup follows the switch.
        with translation.override("en-gb"):
            return search(), translation.gettext("Search")

    with translation.override("nb"):
        assert row_that_switches() == ("Søk", "Search")
        assert search() == "Søk"
    with translation.override("en-gb"):
        assert search() == "Search"


def test_a_row_that_fails_leaves_the_language_reading_behind_it():
    from portal.languages import active_language, reads_language_once

    @reads_language_once
    def failing_row() -> None:
        raise RuntimeError("a row that fails")

    @reads_language_once
    def failing_row_that_switches() -> None:
        with translation.override("en-gb"):
            raise RuntimeError(active_language())  # the reading taken at the start

    with translation.override("nb"), pytest.raises(RuntimeError, match="^nb$"):
        failing_row_that_switches()
    with translation.override("nb"), pytest.raises(RuntimeError):
        failing_row()
    with translation.override("en-gb"):
        assert active_language() == "en-gb"  # no Norwegian reading left behind
