"""The form renderer (``FORM_RENDERER``): Django's, with selects written in Python.

Django's template for a select includes ``select_option.html`` and ``attrs.html`` once per
option: about 0.1 ms each, so the catalogue's filters (then 300 options) took 70 ms of the
page, and a request form listing a large company's 2,000 assets several hundred ms.
``select_html`` writes the same HTML, escaped the same way, from the same widget context;
every other widget renders through its template as before.
"""

from django.forms.renderers import DjangoTemplates
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

SELECT_TEMPLATE = "django/forms/widgets/select.html"
OPTION_TEMPLATE = "django/forms/widgets/select_option.html"


def _attrs(attrs: dict) -> SafeString:
    """Django's ``attrs.html``: in order, ``False`` left out, ``True`` as a bare name."""
    return mark_safe(
        "".join(
            format_html(" {}", name) if value is True else format_html(' {}="{}"', name, value)
            for name, value in attrs.items()
            if value is not False
        )
    )


def select_html(widget: dict) -> SafeString:
    """``select.html`` for the context of a ``Select`` or ``SelectMultiple``."""
    groups = []
    for group_name, options, _index in widget["optgroups"]:
        rendered = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            ((option["value"], _attrs(option["attrs"]), option["label"]) for option in options),
        )
        if group_name:
            rendered = format_html('<optgroup label="{}">{}</optgroup>', group_name, rendered)
        groups.append(rendered)
    return format_html(
        '<select name="{}"{}>{}</select>',
        widget["name"],
        _attrs(widget["attrs"]),
        mark_safe("".join(groups)),
    )


def _plain_options(widget: dict) -> bool:
    """Every option is Django's plain ``<option>`` (a subclass may give them a template)."""
    return all(
        option["template_name"] == OPTION_TEMPLATE
        for _name, options, _index in widget["optgroups"]
        for option in options
    )


class PortalFormRenderer(DjangoTemplates):
    def render(self, template_name, context, request=None):
        if template_name == SELECT_TEMPLATE and _plain_options(context["widget"]):
            return select_html(context["widget"])
        return super().render(template_name, context, request)
