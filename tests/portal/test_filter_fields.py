"""The lists' filter bars draw their fields in Python (``{% filter_field %}``) with the HTML
crispy-bootstrap5 gives them (``|as_crispy_field``): every filter form of the lists, empty,
filled in and refused, in English and German, is compared field by field."""

import re

import pytest
from crispy_forms.templatetags.crispy_forms_filters import as_crispy_field
from django import forms
from django.template import Context, Template
from django.utils import translation

from consent.forms import RecordAsOfForm
from customers.forms import (
    AssetFilterForm,
    CustomerSearchForm,
    FootprintPeriodForm,
    GrantFilterForm,
)
from incidents.forms import IncidentFilterForm
from portal.forms import AuditFilterForm
from portal.templatetags.filter_fields import filter_field


def squeezed(html: str) -> str:
    """Crispy's template puts line breaks and indentation between and inside the tags."""
    html = re.sub(r"\s+", " ", str(html))
    return re.sub(r" ?([<>]) ?", r"\1", html).strip()


# (form, data): nothing asked, a valid filter, and values each form refuses.
CASES = [
    (AssetFilterForm, None),
    (AssetFilterForm, {"q": "retail", "classification": "internal", "confirmed": "yes"}),
    (AssetFilterForm, {"q": "x" * 201, "classification": "secret", "category": "nope"}),
    (GrantFilterForm, {"q": "ann", "status": "active"}),
    (GrantFilterForm, {"status": "sometimes", "user": "abc"}),
    (FootprintPeriodForm, {"since": "2026-01-01", "until": "2026-02-01"}),
    (FootprintPeriodForm, {"since": "2026-03-01", "until": "not a day"}),
    (CustomerSearchForm, {"q": "<b>ann</b>"}),
    (AuditFilterForm, {"actor": "ann", "asset": "12", "date_from": "2026-01-01"}),
    (AuditFilterForm, {"asset": "-3", "date_from": "2026-02-01", "date_to": "2026-01-01"}),
    (IncidentFilterForm, {"status": "nope", "overdue": "yes"}),
    (RecordAsOfForm, {"as_of": "2999-01-01"}),
]


def build(form_class, data, user):
    if form_class in (AssetFilterForm, GrantFilterForm):
        return form_class(data, user=user)
    return form_class(data)


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize(("form_class", "data"), CASES)
def test_every_filter_field_is_drawn_as_crispy_draws_it(form_class, data, language, requester):
    with translation.override(language):
        ours, crispys = build(form_class, data, requester), build(form_class, data, requester)
        if data:
            ours.is_valid(), crispys.is_valid()
        for name in ours.fields:
            assert squeezed(filter_field(ours[name])) == squeezed(as_crispy_field(crispys[name]))


@pytest.mark.django_db
def test_a_refused_value_shows_its_message_under_a_marked_field(requester):
    form = AssetFilterForm({"classification": "secret"}, user=requester)
    form.is_valid()
    html = filter_field(form["classification"])
    assert 'class="select form-select is-invalid" aria-invalid="true"' in html
    assert "Select a valid choice. secret is not one of the available choices." in html
    assert '<div id="id_classification_error" class="invalid-feedback">' in html


def test_the_values_and_labels_are_escaped():
    class Odd(forms.Form):
        q = forms.CharField(label="<Name> & co", required=True)
        kind = forms.ChoiceField(choices=[("a", "A")])

    form = Odd({"q": '"><script>', "kind": "<i>x</i>"})
    form.is_valid()
    html = filter_field(form["q"]) + filter_field(form["kind"])
    assert "&lt;Name&gt; &amp; co<span" in html
    assert 'value="&quot;&gt;&lt;script&gt;"' in html
    assert "Select a valid choice. &lt;i&gt;x&lt;/i&gt; is not one" in html
    assert "<script>" not in html and "<i>" not in html


def test_fields_with_their_own_markup_are_left_to_crispy():
    class Boxes(forms.Form):
        agree = forms.BooleanField(label="Agree")
        pick = forms.ChoiceField(choices=[("a", "A")], widget=forms.RadioSelect)
        since = forms.CharField(show_hidden_initial=True, initial="x")

    form = Boxes({"agree": "on", "pick": "a", "since": "y"})
    assert 'name="initial-since"' in filter_field(form["since"])
    for name in ("agree", "pick", "since"):
        assert str(filter_field(form[name])) == str(as_crispy_field(form[name]))
    assert "form-check-input" in filter_field(form["agree"])


def test_the_tag_is_used_from_a_template():
    html = Template("{% load filter_fields %}{% filter_field form.q %}").render(
        Context({"form": CustomerSearchForm({"q": "ann"})})
    )
    assert '<label for="id_q" class="form-label">E-mail, name or customer id</label>' in html
    assert 'value="ann"' in html
