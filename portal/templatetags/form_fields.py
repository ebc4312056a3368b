"""Forms and their fields drawn as crispy-bootstrap5 draws them, written in Python.

``{% load form_fields %}`` then ``{% form_fields form %}`` (what ``{{ form|crispy }}``
writes: the form's errors, then every field) or ``{% form_field form.q %}`` (what
``{{ form.q|as_crispy_field }}`` writes): the wrapper ``div``, the label (with crispy's
required marker), the widget with crispy's classes (its own class name, ``form-control`` or
``form-select``, ``is-invalid`` with errors), the errors block, then the help text; check
boxes and radio buttons of a choice in a ``fieldset`` as crispy's
``radio_checkbox_select.html`` lists them. Only the whitespace between the tags differs; a
test holds every form of the portal to crispy's own output, unbound, empty and refused
(the filter forms and a form of radio buttons and check boxes filled in, too).

Written in Python rather than through crispy's templates: a form is drawn on every view of
its page, and crispy's nested templates cost more than the widgets themselves: a list's
four filter fields took 2.3 ms of the catalogue's 16.7, and the asset page's list of
collection purposes (a check box each) 3.9 ms, against 0.8 written here. The widgets
are Django's own (``BoundField.as_widget``, with its ARIA attributes). What this does not
draw alike is handed to crispy: a single check box, a file input, a multi-part widget, a
form with a crispy ``helper``, a field that shows its initial value in a hidden input, a
formset.
"""

from crispy_forms.templatetags.crispy_forms_filters import (
    as_crispy_field,
    as_crispy_form,
    optgroups,
)
from django import forms, template
from django.conf import settings
from django.forms.boundfield import BoundField
from django.utils import formats
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe

from portal.renderers import html_attrs, html_text

register = template.Library()

# The widgets crispy draws with markup of its own that this does not write.
_CRISPYS_OWN = (forms.CheckboxInput, forms.FileInput, forms.MultiWidget)


@register.simple_tag
def form_fields(form: forms.BaseForm) -> SafeString:
    """``form`` as ``{{ form|crispy }}`` draws it with the Bootstrap 5 pack: the errors that
    belong to no field in an alert, then each field (``form_field``), hidden ones included.
    A form with a crispy ``helper`` and a formset go to crispy whole. Raises nothing of its
    own."""
    if not isinstance(form, forms.BaseForm) or getattr(form, "helper", None) is not None:
        return as_crispy_form(form)
    return mark_safe(  # noqa: S308 (each part escaped where it is written)
        _form_errors(form) + "".join(form_field(field) for field in form)
    )


@register.simple_tag
def form_field(field: BoundField) -> SafeString:
    """``field`` (a bound field) as crispy's Bootstrap 5 pack draws it: the label, the
    widget, the errors and the help text in a ``div.mb-3``, every text escaped. Raises
    nothing of its own (a field this does not draw goes to crispy)."""
    widget = field.field.widget
    if (
        isinstance(widget, _CRISPYS_OWN)
        or getattr(field.form, "helper", None) is not None
        or field.field.show_hidden_initial
    ):
        return as_crispy_field(field)
    if field.is_hidden:
        return mark_safe(str(field))  # noqa: S308 (Django's widget, escaped by it)
    if isinstance(widget, forms.RadioSelect) and field.use_fieldset:
        return _choice_list(field)  # check boxes of a multiple choice too
    if field.use_fieldset or isinstance(widget, forms.RadioSelect):
        return as_crispy_field(field)
    extra = "form-select" if isinstance(widget, forms.Select) else "form-control"
    if field.errors:
        extra += " is-invalid"
    control = field.as_widget(attrs={"class": _widget_class(widget, extra)})
    return format_html(
        '<div id="div_{}" class="mb-3{}">{}{}{}{}</div>',
        field.auto_id,
        _css_classes(field),
        _label(field),
        control,
        _errors(field),
        _help_text(field),
    )


def _form_errors(form: forms.BaseForm) -> str:
    """crispy's ``errors.html``: the non-field errors in a red alert, or nothing."""
    errors = form.non_field_errors()
    if not errors:
        return ""
    items = "".join(format_html("<li>{}</li>", error) for error in errors)
    return f'<div class="alert alert-block alert-danger"><ul class="m-0">{items}</ul></div>'


def _choice_list(field: BoundField) -> SafeString:
    """Radio buttons or check boxes (``RadioSelect``, ``CheckboxSelectMultiple``) as crispy's
    ``field.html`` and ``radio_checkbox_select.html`` draw them: a ``fieldset`` whose
    ``legend`` is the label, each group's name in bold, an input and its label per choice,
    the errors under the last choice, then the help text. Each option's attributes are
    crispy's (``optgroups``), so the ids, ``checked`` and ``required`` are the same."""
    invalid = " is-invalid" if field.errors else ""
    name = html_text(field.html_name)
    groups = optgroups(field)
    parts = []
    for number, (group, options, _index) in enumerate(groups, start=1):
        if group:
            parts.append(f"<strong>{html_text(group)}</strong>")
        for place, option in enumerate(options, start=1):
            last = number == len(groups) and place == len(options)
            parts.append(
                f'<div class="form-check"><input type="{html_text(option["type"])}" '
                f'class="form-check-input{invalid}" name="{name}" '
                f'value="{_unlocalized(option["value"])}"{html_attrs(option["attrs"])}>'
                f'<label for="{html_text(option["attrs"].get("id", ""))}" '
                f'class="form-check-label">{_unlocalized(option["label"])}</label>'
                f"{_errors(field) if last else ''}</div>"
            )
    choices = f"<div>{''.join(parts)}</div>{_help_text(field)}"
    if field.label:
        described = field.aria_describedby
        target = field.id_for_label  # none for a list of choices: each has its own
        opening = format_html(
            '<fieldset{}><legend{} class="form-label{} fs-6">{}{}</legend>',
            format_html(' aria-describedby="{}"', described) if described else "",
            format_html(' for="{}"', target) if target else "",
            " requiredField" if field.field.required else "",
            field.label,
            _required_marker(field),
        )
        choices = f"{opening}{choices}</fieldset>"
    return mark_safe(  # noqa: S308 (each part escaped where it is written)
        f'<div id="div_{html_text(field.auto_id)}" class="mb-3{_css_classes(field)}">'
        f"{choices}</div>"
    )


def _unlocalized(value: object) -> str:
    """``value`` as crispy writes an option's value and label (``|unlocalize``, escaped):
    a number or a date in its plain form, whatever the reader's format."""
    return html_text(formats.localize(value, use_l10n=False))


def _css_classes(field: BoundField) -> SafeString:
    """The field's own classes (``error``, ``required`` when the form names them), after a
    space, escaped; or nothing."""
    css = field.css_classes()
    return format_html(" {}", css) if css else mark_safe("")


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


def _required_marker(field: BoundField) -> SafeString:
    return mark_safe('<span class="asteriskField">*</span>' if field.field.required else "")


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
        _required_marker(field),
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
