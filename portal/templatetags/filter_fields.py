"""The fields of the lists' filter bars (catalogue, audit log, incidents, grants, searches).

``{% load filter_fields %}`` then ``{% filter_field form.q %}``: the same HTML as
``{{ form.q|as_crispy_field }}`` with the Bootstrap 5 pack (crispy-bootstrap5's
``field.html``): the wrapper ``div``, the label (with crispy's required marker), the widget
with crispy's classes (its own class name, ``form-control`` or ``form-select``,
``is-invalid`` with errors), the errors block, then the help text. Only the whitespace
between the tags differs; a test holds every filter form of the lists to that. Non-field
errors are the template's to show, as with crispy's filter.

Written in Python rather than through crispy's template: a list's filter bar is drawn on
every page turn and every search, and crispy's nested templates took 2.3 ms of the
catalogue's 16.7 (four fields), more than the widgets themselves. The widgets are Django's
own (``BoundField.as_widget``, with its ARIA attributes). A field this tag does not draw
alike (check boxes, radio buttons, files, multi-part widgets, a form with a crispy
``helper``, a fieldset, a field that shows its initial value in a hidden input) is handed
to crispy.
"""

from crispy_forms.templatetags.crispy_forms_filters import as_crispy_field
from django import forms, template
from django.conf import settings
from django.forms.boundfield import BoundField
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

# The widgets crispy draws with its general branch (a control or a select): everything but
# these, which have their own markup in crispy's template.
_OWN_MARKUP = (forms.CheckboxInput, forms.RadioSelect, forms.FileInput, forms.MultiWidget)


@register.simple_tag
def filter_field(field: BoundField) -> SafeString:
    """``field`` (a bound field of a filter form) as crispy's Bootstrap 5 pack draws it:
    the label, the widget, the errors and the help text in a ``div.mb-3``, every text
    escaped. Raises nothing of its own (a field this does not draw goes to crispy)."""
    widget = field.field.widget
    if (
        isinstance(widget, _OWN_MARKUP)
        or getattr(field.form, "helper", None) is not None
        or field.use_fieldset
        or field.field.show_hidden_initial
    ):
        return as_crispy_field(field)
    if field.is_hidden:
        return mark_safe(str(field))  # noqa: S308 (Django's widget, escaped by it)
    extra = "form-select" if isinstance(widget, forms.Select) else "form-control"
    if field.errors:
        extra += " is-invalid"
    control = field.as_widget(attrs={"class": _widget_class(widget, extra)})
    css = field.css_classes()
    return format_html(
        '<div id="div_{}" class="mb-3{}">{}{}{}{}</div>',
        field.auto_id,
        f" {css}" if css else "",
        _label(field),
        control,
        _errors(field),
        _help_text(field),
    )


def _widget_class(widget: forms.Widget, extra: str) -> str:
    """The ``class`` crispy's ``crispy_field`` gives ``widget``: its own classes, the
    widget's class name in lower case (through ``CRISPY_CLASS_CONVERTERS``), then each of
    ``extra`` not already there."""
    name = widget.__class__.__name__.lower()
    name = getattr(settings, "CRISPY_CLASS_CONVERTERS", {}).get(name, name)
    css = widget.attrs.get("class", "")
    if not css:
        css = name
    elif css.find(name) == -1:
        css += f" {name}"
    for part in extra.split():
        if part not in css.split():
            css += f" {part}"
    return css


def _label(field: BoundField) -> SafeString:
    if not field.label:
        return mark_safe("")
    required = field.field.required
    target = format_html(' for="{}"', field.id_for_label) if field.id_for_label else ""
    return format_html(
        '<label{} class="form-label{}">{}{}</label>',
        target,
        " requiredField" if required else "",
        field.label,
        mark_safe('<span class="asteriskField">*</span>') if required else "",
    )


def _errors(field: BoundField) -> SafeString:
    if not field.errors:
        return mark_safe("")
    auto_id = conditional_escape(field.auto_id)
    lines = "".join(
        f'<p id="error_{number}_{auto_id}"><strong>{conditional_escape(error)}</strong></p>'
        for number, error in enumerate(field.errors, start=1)
    )
    field_id = conditional_escape(field.errors.field_id)
    return mark_safe(f'<div id="{field_id}_error" class="invalid-feedback">{lines}</div>')  # noqa: S308


def _help_text(field: BoundField) -> SafeString:
    if not field.help_text:
        return mark_safe("")
    # As crispy writes it: help text is trusted markup from the form's code (``|safe``).
    help_text = mark_safe(field.help_text)  # noqa: S308
    if field.auto_id:
        return format_html(
            '<div id="{}_helptext" class="form-text">{}</div>', field.auto_id, help_text
        )
    return format_html('<div class="form-text">{}</div>', help_text)
