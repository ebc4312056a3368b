"""The form renderer (``FORM_RENDERER``): Django's, with selects written in Python.

Django's template for a select includes ``select_option.html`` and ``attrs.html`` once per
option: about 0.1 ms each, so the catalogue's filters (then 300 options) took 70 ms of the
page, and a request form listing a large company's 2,000 assets several hundred ms.
``select_html`` writes the same HTML, escaped the same way, from the same widget context;
every other widget renders through its template as before.
"""

from html import escape
from typing import Any

from django.forms.renderers import DjangoTemplates
from django.utils.functional import Promise
from django.utils.safestring import SafeString, mark_safe

SELECT_TEMPLATE = "django/forms/widgets/select.html"
OPTION_TEMPLATE = "django/forms/widgets/select_option.html"


def html_text(value: Any) -> str:
    """``value`` as Django's ``conditional_escape`` writes it into HTML: safe HTML as it is,
    anything else (a lazy text evaluated first) as escaped text. ``html.escape`` itself,
    without ``format_html``'s lazy-text wrappers, which cost more than the escaping on a
    select of 2,000 options."""
    if isinstance(value, Promise):
        value = str(value)
    if hasattr(value, "__html__"):
        return value.__html__()
    return escape(str(value))


def html_attrs(attrs: dict) -> str:
    """Django's ``attrs.html``: in order, ``False`` left out, ``True`` as a bare name."""
    return "".join(
        f" {html_text(name)}" if value is True else f' {html_text(name)}="{html_text(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def select_html(widget: dict) -> SafeString:
    """``select.html`` for the context of a ``Select`` or ``SelectMultiple``."""
    groups = []
    for group_name, options, _index in widget["optgroups"]:
        rendered = "".join(
            f'<option value="{html_text(option["value"])}"{html_attrs(option["attrs"])}>'
            f"{html_text(option['label'])}</option>"
            for option in options
        )
        if group_name:
            rendered = f'<optgroup label="{html_text(group_name)}">{rendered}</optgroup>'
        groups.append(rendered)
    opening = f'<select name="{html_text(widget["name"])}"{html_attrs(widget["attrs"])}>'
    return mark_safe(f"{opening}{''.join(groups)}</select>")


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
