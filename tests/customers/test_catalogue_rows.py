"""The catalogue page's rows (``{% catalogue_row %}``): every value escaped once, the
description cut as before, the owner's link and title, the classification badges and the
customer count written as the reader's language writes numbers."""

from datetime import date

import pytest
from django.template import engines
from django.utils import translation
from django.utils.text import Truncator

from customers.selectors.catalogue import CatalogueRow
from customers.templatetags.catalogue_rows import catalogue_row, description_start
from portal.approval_rows import PersonRow

MARKUP = "<b>&'\""
ESCAPED = "&lt;b&gt;&amp;&#x27;&quot;"

pytestmark = pytest.mark.django_db  # category names come from the taxonomy


def row(**fields):
    values = {
        "pk": 12,
        "name": f"List {MARKUP}",
        "description": f"Shop {MARKUP} " + "x" * 100,
        "owner_id": 4,
        "owner": PersonRow("otto", "Otto", MARKUP),
        "classification": "internal",
        "classification_confirmed": True,
        "customer_count": 12345,
        "source_system": "crm",
        "retention_date": date(2030, 1, 1),
        "data_category_keys": ("user.contact.email", "user.name"),
        "collected_for_keys": (),
    }
    return CatalogueRow(**{**values, **fields})


def test_a_row_escapes_every_value_once():
    with translation.override("en-gb"):
        html = str(catalogue_row(row()))

    assert '<td><a href="/assets/12/">List ' + ESCAPED + "</a>" in html
    # 90 characters of the description, the ellipsis included, escaped after the cut.
    assert '<div class="small text-muted">Shop ' + ESCAPED + " " + "x" * 77 + "…</div>" in html
    assert (
        '<a href="?owner=4" title="Every asset of Otto ' + ESCAPED + '">Otto ' + ESCAPED + "</a>"
    ) in html
    assert MARKUP not in html and "&amp;lt;" not in html  # never raw, never twice


def test_a_confirmed_row_shows_its_class_its_categories_and_the_count():
    with translation.override("en-gb"):
        html = str(catalogue_row(row()))

    assert '<span class="badge badge-classification-internal">Internal</span>' in html
    assert "unconfirmed" not in html
    assert '<code>user.contact.email</code></small>, <span class="taxonomy-name">' in html
    assert '<td class="text-end">12,345</td>' in html


def test_an_unconfirmed_row_without_categories_in_norwegian():
    unconfirmed = row(classification_confirmed=False, data_category_keys=(), customer_count=1234)
    with translation.override("nb"):
        html = str(catalogue_row(unconfirmed))

    assert 'badge-classification-internal">Intern</span>' in html
    assert '<span class="badge text-bg-warning" title="Behandles som minst konfidensiell' in html
    assert "ikke bekreftet</span>" in html
    assert '<td class="small"><span class="text-muted">ingen registrert</span></td>' in html
    assert '<td class="text-end">1\xa0234</td>' in html
    assert 'title="Alle dataressursene til Otto ' + ESCAPED + '"' in html


# The template the tag replaced, word for word: the tag must write the same HTML.
TEMPLATE_ROWS = (
    "{% load i18n taxonomy l10n %}"
    "  {% for asset in rows %}\n"
    "    <tr>\n"
    "      <td><a href=\"{% url 'customers:asset_detail' asset.pk %}\">{{ asset.name }}</a>"
    '<div class="small text-muted">{{ asset.description|truncatechars:90 }}</div></td>\n'
    "      <td>{% blocktranslate trimmed asvar owner_title with owner=asset.owner %}"
    "Every asset of {{ owner }}{% endblocktranslate %}"
    '<a href="?owner={{ asset.owner_id|unlocalize }}" title="{{ owner_title }}">'
    "{{ asset.owner }}</a></td>\n"
    # customers/_classification.html as it was, inlined.
    '      <td><span class="badge badge-classification-{{ asset.classification }}">'
    "{{ asset.get_classification_display }}</span>\n"
    "{% if not asset.classification_confirmed %}{% translate "
    '"Treated as at least confidential until a compliance officer confirms it" '
    "as unconfirmed_title %}"
    '<span class="badge text-bg-warning" title="{{ unconfirmed_title }}">'
    '{% translate "unconfirmed" %}</span>{% endif %}\n</td>\n'
    '      <td class="small">{% for key in asset.data_category_keys %}{{ key|category_label }}'
    "{% if not forloop.last %}, {% endif %}{% empty %}"
    '<span class="text-muted">{% translate "none recorded" %}</span>{% endfor %}</td>\n'
    '      <td class="text-end">{{ asset.customer_count }}</td>\n'
    "    </tr>\n"
    "  {% endfor %}\n"
)
TAG_ROWS = (
    "{% load catalogue_rows %}  {% for asset in rows %}{% catalogue_row asset %}{% endfor %}\n"
)


@pytest.mark.parametrize("language", ["en-gb", "nb"])
def test_the_tag_writes_what_the_template_wrote(language):
    rows = [
        row(),
        row(pk=13, classification="restricted", classification_confirmed=False),
        row(pk=14, data_category_keys=(), description="Short", customer_count=7),
    ]
    engine = engines["django"]
    with translation.override(language):
        expected = engine.from_string(TEMPLATE_ROWS).render({"rows": rows})
        written = engine.from_string(TAG_ROWS).render({"rows": rows})

    assert written == expected


def test_the_asset_page_shows_the_same_badges(client, outsider):
    from tests.factories import DataAssetFactory

    asset = DataAssetFactory(name="Badged", classification="internal")
    client.force_login(outsider)

    page = client.get(f"/assets/{asset.pk}/").content.decode()

    assert '<span class="badge badge-classification-internal">Internal</span>' in page
    assert '<span class="badge text-bg-warning" title="Treated as at least confidential' in page


def test_a_classification_outside_the_choices_reads_as_stored_instead_of_failing_the_page():
    # As Django's get_classification_display gives it on the asset's own page.
    with translation.override("en-gb"):
        html = str(catalogue_row(row(classification="secret<x>")))

    assert '<span class="badge badge-classification-secret&lt;x&gt;">secret&lt;x&gt;</span>' in html


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Short",
        "x" * 90,
        "x" * 91,
        "e\u0301" * 60,  # composes to 60 characters: shown whole
        "x\u0301" * 60,  # 120 code points, 60 characters (nothing composes): shown whole
        "x\u0301" * 100,  # 100 characters: cut
        "Kunden <b>" + "ø" * 95,
    ],
)
def test_the_description_starts_as_django_cuts_it(text):
    assert description_start(text) == Truncator(text).chars(90)
