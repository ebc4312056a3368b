"""The records page's rows are written in Python (``{% record_rows %}``) exactly as the
template's two loops wrote them: numbers in the reader's format, markup escaped, in
English and German."""

import datetime

import pytest
from django.template import Context, Template
from django.utils import translation

LOOPS = Template(
    "{% for row in rows %}<tr>{% for value in row.values %}<td>{{ value }}</td>"
    "{% endfor %}</tr>{% endfor %}"
)
TAG = Template("{% load record_rows %}{% record_rows rows %}")

ROWS = [
    {"id": 12345, "name": "Ola <b>Nordmann</b>", "email": "ola@example.no", "phone": None},
    {"id": 7, "name": 'Smith & Sons "Ltd"', "email": "", "phone": "+47 22 00 00 00"},
    {"id": 3, "created_at": datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC)},
    {"id": 4, "score": 1234.5},
]


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("separator", [True, False])
def test_the_rows_are_the_loops_own_html(language, separator, settings):
    settings.USE_THOUSAND_SEPARATOR = separator
    with translation.override(language):
        assert TAG.render(Context({"rows": ROWS})) == LOOPS.render(Context({"rows": ROWS}))


def test_values_are_escaped_and_nothing_is_dropped():
    html = TAG.render(Context({"rows": ROWS[:2]}))
    assert "<td>Ola &lt;b&gt;Nordmann&lt;/b&gt;</td>" in html
    assert "<td>Smith &amp; Sons &quot;Ltd&quot;</td>" in html
    assert "<td>None</td>" in html and "<td></td>" in html
    assert html.count("<tr>") == 2 and html.count("<td>") == 8


def test_no_rows_write_nothing():
    assert TAG.render(Context({"rows": []})) == ""
