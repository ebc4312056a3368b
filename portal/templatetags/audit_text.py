"""The audit log's event detail as readable fields, not raw JSON: the log's page prepares
each row's fields with ``detail_fields`` (``portal/audit_views.py``)."""

from django import template
from django.utils.translation import gettext as _

register = template.Library()


def _plain(value) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_plain(item) for item in value) or _("none")
    if isinstance(value, dict):
        return "; ".join(f"{key.replace('_', ' ')}: {_plain(item)}" for key, item in value.items())
    if value is None or value == "":
        return _("none")
    return str(value)


@register.filter
def detail_fields(detail) -> list[tuple[str, str]]:
    """An event's ``detail`` (the JSON stored with it) as ``(label, text)`` pairs.

    In: a dict (each key a field: ``old_classification`` → label ``Old classification``; a
    list reads as ``a, b``, a nested dict as ``key: value; ...``, empty as ``none``), any
    other JSON value (one pair with the label ``Detail``), or None (no pairs).
    """
    if detail is None or detail == {}:
        return []
    if not isinstance(detail, dict):
        return [(_("Detail"), _plain(detail))]
    return [(key.replace("_", " ").capitalize(), _plain(value)) for key, value in detail.items()]
