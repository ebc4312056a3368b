"""Selects are written in Python by the portal's form renderer (portal/renderers.py), with
the same HTML as Django's templates."""

import re

from django import forms
from django.forms.renderers import DjangoTemplates

from portal.renderers import PortalFormRenderer


class Pick(forms.Form):
    plain = forms.ChoiceField(choices=[("", "Any"), ("a", "Alpha & co"), ("b", 'Beta "B"')])
    grouped = forms.ChoiceField(
        choices=[("Letters & signs", [("x", "X"), ("y", "<Y>")]), ("Digits", [("1", "One")])]
    )
    many = forms.MultipleChoiceField(choices=[("p", "P"), ("q", "Q"), ("r", "R")])
    styled = forms.ChoiceField(
        choices=[("s", "S")],
        required=False,
        widget=forms.Select(attrs={"class": "form-select", "data-x": 'a"b', "disabled": True}),
    )


def squeezed(html: str) -> str:
    """Django's template puts line breaks and indentation between the options."""
    return re.sub(r">\s+<", "><", html.strip())


def test_the_portal_renders_every_form_with_its_renderer():
    assert isinstance(Pick().renderer, PortalFormRenderer)


def test_the_same_html_as_djangos_templates_selected_grouped_multiple_and_escaped():
    data = {"plain": "a", "grouped": "y", "many": ["p", "r"], "styled": "s"}
    ours, djangos = Pick(data), Pick(data, renderer=DjangoTemplates())
    for name in ("plain", "grouped", "many", "styled"):
        assert squeezed(str(ours[name])) == squeezed(str(djangos[name]))
    assert '<option value="a" selected>Alpha &amp; co</option>' in str(ours["plain"])
    assert '<optgroup label="Letters &amp; signs">' in str(ours["grouped"])
    assert "&lt;Y&gt;" in str(ours["grouped"])
    assert '<select name="styled" class="form-select" data-x="a&quot;b" disabled' in str(
        ours["styled"]
    )
