"""Nothing people read is left out of a language (docs/languages.md).

Four checks, each of which CI runs:

* every text people read is marked for translation (``portal.i18n_check`` over the project);
* the ``nb`` catalogue holds every marked text (a fresh ``makemessages`` finds nothing new),
  translated, none fuzzy, with valid placeholders (``msgfmt --check``), and its compiled
  ``.mo`` is the ``.po``'s;
* every page of the site, for every demo role, rendered in Norwegian, shows no English
  sentence of the catalogue.
"""

import gettext
import os
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path

import polib
import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import translation

from portal import i18n_check
from tests.languages import CATALOGUES, english_on, english_sentences
from tests.portal import url_sweep
from tests.portal.test_url_sweep import (
    add_access_review,
    add_alerts,
    add_import_job,
    add_sharing_requests,
    client_for,
)

ROOT = Path(__file__).resolve().parents[2]


def gettext_tool(name: str) -> str:
    """The path of a GNU gettext program; under CI its absence fails the test."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"GNU gettext's {name} is needed (apt-get install gettext)")
        pytest.skip(f"GNU gettext's {name} is not installed")
    return path


# --- Everything is marked -----------------------------------------------------------------


def test_every_text_people_read_is_marked_for_translation():
    found = i18n_check.findings()
    assert found == [], "mark these for translation:\n" + "\n".join(map(str, found[:80]))


def _template(text: str, name: str = "templates/x.html") -> list[str]:
    return [finding.text for finding in i18n_check.template_findings(Path(name), text)]


def _python(source: str) -> list[str]:
    return [finding.text for finding in i18n_check.python_findings(Path("x.py"), source)]


def test_the_checker_finds_unmarked_words_in_templates_and_passes_marked_ones():
    assert _template("<p>Request access</p>") == ["Request access"]
    assert _template('<a title="Open the asset" href="/x/">{% translate "Open" %}</a>') == [
        "Open the asset"
    ]
    assert _template('<input type="submit" value="Send it">') == ["Send it"]
    assert _template("{{ reason|default:'No reason given' }}") == ["No reason given"]
    assert _template('{% include "_x.html" with heading="Your grants" css_class="a b" %}') == [
        "Your grants"
    ]
    assert _template("Hello {{ name }}", name="templates/notifications/a-body.txt") == ["Hello"]
    marked = (
        '{% load i18n %}<p>{% translate "Request access" %}</p>'
        "{% blocktranslate trimmed with n=name %}Hello {{ n }}{% endblocktranslate %}"
        "{% comment %}Not shown{% endcomment %}<script>var label = 'Not text';</script>"
        '<p>{{ count }} · CSV — {% now "DATE_FORMAT" %}</p><div class="row gap-2"></div>'
    )
    assert _template(marked) == []


def test_the_checker_finds_unmarked_sentences_and_labels_in_python():
    source = '''
"""A module docstring is not shown."""
import logging
from django import forms
from django.db import models
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)


class Status(models.TextChoices):
    OPEN = "open", "Open"
    SHUT = "shut", _("Shut")


class Form(forms.Form):
    name = forms.CharField(label="Name")
    note = forms.CharField(label=_("Note"))


def f(value):
    """Docstrings are for programmers."""
    logger.warning("Could not queue %s", value)
    if not value:
        raise ValueError("Programmers read this one.")
    if value == 1:
        raise ApplicationError(f"{value} is not a time zone, try again.")
    header = "Bearer realm=scim"  # i18n: not shown (a protocol header)
    return _("All good."), "Nothing is marked here."
'''
    assert _python(source) == [
        "Open",
        "Name",
        "{} is not a time zone, try again.",
        "Nothing is marked here.",
    ]


# --- The catalogues -----------------------------------------------------------------------


@pytest.mark.parametrize("language", sorted(CATALOGUES))
def test_each_language_translates_every_entry_and_none_is_fuzzy(language):
    catalogue = polib.pofile(str(CATALOGUES[language]))
    untranslated = [entry.msgid for entry in catalogue.untranslated_entries()]
    fuzzy = [entry.msgid for entry in catalogue.fuzzy_entries()]
    assert untranslated == [] and fuzzy == [], {"untranslated": untranslated, "fuzzy": fuzzy}
    assert len(catalogue.translated_entries()) > 1000  # the whole portal, not a sample
    check = subprocess.run(
        [gettext_tool("msgfmt"), "--check", "-o", os.devnull, str(CATALOGUES[language])],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr


@pytest.mark.parametrize("language", sorted(CATALOGUES))
def test_the_compiled_catalogue_is_the_committed_one(language, tmp_path):
    compiled = tmp_path / "django.mo"
    subprocess.run(
        [gettext_tool("msgfmt"), "-o", str(compiled), str(CATALOGUES[language])], check=True
    )
    committed = CATALOGUES[language].with_suffix(".mo")
    with compiled.open("rb") as fresh, committed.open("rb") as kept:
        assert gettext.GNUTranslations(kept)._catalog == gettext.GNUTranslations(fresh)._catalog, (
            "run `make messages`: the .mo is older than the .po"
        )


def test_the_catalogue_holds_every_text_the_code_marks(tmp_path):
    """``make messages`` on a copy of the project adds nothing to the committed catalogue."""
    gettext_tool("xgettext")
    copy = tmp_path / "project"
    copy.mkdir()
    ignore = shutil.ignore_patterns(".*", "node_modules", "__pycache__", "*.sqlite3")
    for part in ["manage.py", "templates", "locale", "portal", "customers", "consent", "incidents"]:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, copy / part, ignore=ignore)
        else:
            shutil.copy(source, copy / part)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "nb", "--no-location", "--no-obsolete"],
        cwd=copy,
        env={**os.environ, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "portal.settings"},
        check=True,
        capture_output=True,
    )
    fresh = {entry.msgid for entry in polib.pofile(str(copy / "locale/nb/LC_MESSAGES/django.po"))}
    committed = {entry.msgid for entry in polib.pofile(str(CATALOGUES["nb"]))}
    assert sorted(fresh - committed) == [], "run `make messages` and translate the new texts"
    assert sorted(committed - fresh) == [], "run `make messages`: these texts are gone"


# --- Every page, in Norwegian -------------------------------------------------------------


def pages_for(role: str) -> list[str]:
    """One path per page of the site (not the API, not the admin) that ``role`` may open,
    with the first demo object of its kind."""
    objects = {name: load() for name, load in url_sweep.DEMO_OBJECTS.items()}
    paths = []
    for endpoint in url_sweep.endpoints():
        entry = url_sweep.entry_for(endpoint, url_sweep.EXPECTED)
        if entry is None or entry.get is None or endpoint.namespace in {"admin", "api"}:
            continue
        for path, obj in url_sweep._fillings(endpoint, entry, objects):
            if url_sweep._expected(entry.get, role, obj) == url_sweep.PAGE:
                paths.append(path)
                break
    return paths


@pytest.fixture(scope="module")
def norwegian_demo(django_db_setup, django_db_blocker):
    """The sweep's demo (tests/portal/test_url_sweep.py) as a Norwegian company runs it:
    every person has chosen Norsk bokmål, so the texts stored for them (notifications,
    approval chains' summaries, timeline lines) were written in it, as they would be."""
    with django_db_blocker.unblock(), transaction.atomic(), translation.override("nb"):
        call_command("seed_demo", language="nb", stdout=StringIO())
        add_sharing_requests()
        add_import_job()
        add_alerts()
        add_access_review()
        yield
        transaction.set_rollback(True)


@pytest.mark.parametrize("role", ["anonymous", "alice", "carl", "bob", "olivia", "lena"])
def test_every_page_in_norwegian_shows_no_english_sentence(norwegian_demo, db, role):
    sentences = english_sentences("nb")
    client = client_for(role)
    leaks = {}
    pages = [path for path in pages_for(role) if not path.startswith(("/api/", "/scim/"))]
    for path in pages:
        response = client.get(path, HTTP_ACCEPT_LANGUAGE="nb")
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        assert response["Content-Language"] == "nb", path
        found = english_on(response.content.decode(), sentences)
        if found:
            leaks[path] = found
    assert len(pages) >= (3 if role == "anonymous" else 20)
    assert leaks == {}, leaks
