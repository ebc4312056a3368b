"""Forms are drawn in Python (``{% form_fields %}``, ``{% form_field %}``) with the HTML
crispy-bootstrap5 gives them (``|crispy``, ``|as_crispy_field``): every form of the
portal, empty, filled in and refused, in English and German, is compared whole, and the
lists' filter forms field by field."""

import importlib
import inspect
import re

import pytest
from crispy_forms.templatetags.crispy_forms_filters import as_crispy_field, as_crispy_form
from django import forms
from django.contrib.auth.forms import PasswordChangeForm
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import translation

from consent.forms import RecordAsOfForm
from customers.forms import (
    AssetFilterForm,
    CustomerSearchForm,
    FootprintPeriodForm,
    GrantFilterForm,
)
from incidents.forms import IncidentFilterForm
from incidents.services.reports import incident_report
from portal.forms import AuditFilterForm
from portal.templatetags.form_fields import form_field, form_fields


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
            assert squeezed(form_field(ours[name])) == squeezed(as_crispy_field(crispys[name]))


@pytest.mark.django_db
def test_a_refused_value_shows_its_message_under_a_marked_field(requester):
    form = AssetFilterForm({"classification": "secret"}, user=requester)
    form.is_valid()
    html = form_field(form["classification"])
    assert 'class="select form-select is-invalid" aria-invalid="true"' in html
    assert "Select a valid choice. secret is not one of the available choices." in html
    assert '<div id="id_classification_error" class="invalid-feedback">' in html


def test_the_values_and_labels_are_escaped():
    class Odd(forms.Form):
        q = forms.CharField(label="<Name> & co", required=True)
        kind = forms.ChoiceField(choices=[("a", "A")])

    form = Odd({"q": '"><script>', "kind": "<i>x</i>"})
    form.is_valid()
    html = form_field(form["q"]) + form_field(form["kind"])
    assert "&lt;Name&gt; &amp; co<span" in html
    assert 'value="&quot;&gt;&lt;script&gt;"' in html
    assert "Select a valid choice. &lt;i&gt;x&lt;/i&gt; is not one" in html
    assert "<script>" not in html and "<i>" not in html


def test_fields_with_their_own_markup_are_left_to_crispy():
    class Boxes(forms.Form):
        agree = forms.BooleanField(label="Agree")
        upload = forms.FileField(label="File")
        since = forms.CharField(show_hidden_initial=True, initial="x")

    form = Boxes({"agree": "on", "since": "y"})
    assert 'name="initial-since"' in form_field(form["since"])
    for name in ("agree", "upload", "since"):
        assert str(form_field(form[name])) == str(as_crispy_field(form[name]))
    assert "form-check-input" in form_field(form["agree"])


class Choices(forms.Form):
    """Radio buttons and check boxes, grouped and not, with help text."""

    pick = forms.ChoiceField(
        choices=[("a", "<A>"), ("b", "B & co")], widget=forms.RadioSelect, help_text="One."
    )
    many = forms.MultipleChoiceField(
        choices=[("First", [("1", "One"), ("2", "Two")]), ("Second", [("3", "Three")])],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Several",
    )
    unnamed = forms.MultipleChoiceField(
        choices=[("x", "X")], widget=forms.CheckboxSelectMultiple, label=""
    )
    # Numbers as values and labels: written plain (crispy's ``unlocalize``), not 1,234.
    number = forms.TypedChoiceField(
        choices=[(1234, 1234), (56789, 56789.5)], coerce=int, widget=forms.RadioSelect
    )


@pytest.mark.parametrize(
    "data",
    [None, {}, {"pick": "a", "many": ["1", "3"], "unnamed": ["x"]}, {"pick": "z", "many": ["9"]}],
)
def test_radio_buttons_and_check_boxes_are_listed_as_crispy_lists_them(data):
    ours, crispys = Choices(data), Choices(data)
    for name in ours.fields:
        assert squeezed(form_field(ours[name])) == squeezed(as_crispy_field(crispys[name]))
    chosen = str(form_field(Choices({"pick": "a", "many": ["3"]})["many"]))
    assert 'value="3" id="id_many_1_0" checked>' in chosen
    assert "<strong>Second</strong>" in chosen
    numbers = str(form_field(Choices()["number"]))
    assert 'value="1234"' in numbers and ">56789.5</label>" in numbers


def test_the_tag_is_used_from_a_template():
    html = Template("{% load form_fields %}{% form_field form.q %}").render(
        Context({"form": CustomerSearchForm({"q": "ann"})})
    )
    assert '<label for="id_q" class="form-label">E-mail, name or customer id</label>' in html
    assert 'value="ann"' in html


# The modules whose forms the portal's pages draw with ``{% form_fields %}``.
FORM_MODULES = ["portal.forms", "portal.sso.forms", "customers.forms", "consent.forms"]
FORM_MODULES += ["incidents.forms"]


def portal_forms():
    """Every form class defined in the portal's form modules, and the password page's."""
    found = [PasswordChangeForm]
    for module_name in FORM_MODULES:
        module = importlib.import_module(module_name)
        found += [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, forms.BaseForm)
            and value.__module__ == module_name
        ]
    return found


def arguments(form_class, people):
    """What ``form_class`` needs beyond its data: the person (``user``, the password form's
    first argument), the incident an action is about, the request of a log-in."""
    if form_class is PasswordChangeForm:
        return [people["user"]], {}
    wanted = inspect.signature(form_class.__init__).parameters
    args = []
    kwargs = {"user": people["user"]} if "user" in wanted else {}
    if "incident" in wanted:
        kwargs["incident"] = people["incident"]
    if "request" in wanted:  # the log-in form checks the password it is given
        kwargs["request"] = RequestFactory().post("/accounts/login/")
    return args, kwargs


def odd_values(form):
    """A value each field refuses or must escape."""
    return {name: "<b>x</b>" for name in form.fields}


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("case", ["unbound", "empty", "odd"])
@pytest.mark.parametrize("form_class", portal_forms(), ids=lambda form_class: form_class.__name__)
def test_every_form_is_drawn_as_crispy_draws_it(form_class, case, language, requester):
    people = {"user": requester}
    people["incident"] = incident_report(actor=requester, title="A list", description="Lost.")
    args, kwargs = arguments(form_class, people)
    with translation.override(language):
        probe = form_class(*args, **kwargs)
        data = {"unbound": None, "empty": {}, "odd": odd_values(probe)}[case]
        ours = form_class(*args, data=data, **kwargs)
        crispys = form_class(*args, data=data, **kwargs)
        if data is not None:
            ours.is_valid(), crispys.is_valid()
        assert squeezed(form_fields(ours)) == squeezed(as_crispy_form(crispys))


def test_errors_of_no_field_are_shown_above_the_fields():
    class Period(forms.Form):
        since = forms.CharField()

        def clean(self):
            raise forms.ValidationError("The period <ends> before it starts.")

    ours, crispys = Period({"since": "x"}), Period({"since": "x"})
    ours.is_valid(), crispys.is_valid()
    html = form_fields(ours)
    assert html.startswith('<div class="alert alert-block alert-danger"><ul class="m-0">')
    assert "<li>The period &lt;ends&gt; before it starts.</li>" in html
    assert squeezed(html) == squeezed(as_crispy_form(crispys))


def test_a_form_is_drawn_from_a_template():
    html = Template("{% load form_fields %}{% form_fields form %}").render(
        Context({"form": CustomerSearchForm({"q": "ann"})})
    )
    assert '<div id="div_id_q" class="mb-3">' in html
    assert 'value="ann"' in html
