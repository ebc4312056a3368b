"""The project's select template (templates/django/forms/widgets/select.html) writes the
same HTML as Django's, options inline."""

import re

from django import forms
from django.conf import settings
from django.forms.renderers import DjangoTemplates


class Pick(forms.Form):
    plain = forms.ChoiceField(choices=[("", "Any"), ("a", "Alpha & co"), ("b", "Beta")])
    grouped = forms.ChoiceField(
        choices=[("Letters", [("x", "X"), ("y", "Y")]), ("Digits", [("1", "One")])]
    )
    many = forms.MultipleChoiceField(choices=[("p", "P"), ("q", "Q"), ("r", "R")])


def squeezed(html: str) -> str:
    return re.sub(r">\s+<", "><", html.strip())


def test_the_same_html_as_djangos_own_select():
    data = {"plain": "a", "grouped": "y", "many": ["p", "r"]}
    ours, djangos = Pick(data), Pick(data, renderer=DjangoTemplates())
    for name in ("plain", "grouped", "many"):
        assert squeezed(str(ours[name])) == squeezed(str(djangos[name]))
    assert '<option value="a" selected>Alpha &amp; co</option>' in str(ours["plain"])
    assert '<optgroup label="Letters">' in str(ours["grouped"])
    # ... and it is the project's template that wrote it.
    template = ours.renderer.get_template("django/forms/widgets/select.html")
    assert template.origin.name == str(
        settings.BASE_DIR / "templates/django/forms/widgets/select.html"
    )
