"""Purposes and data categories as people read them: the name first, the key small beside it.

``{% load taxonomy %}``, then ``{{ grant.purpose|purpose_label }}`` or
``{{ "user.contact.email"|category_label }}``: a ``Purpose`` / ``DataCategory`` or a bare
key. An object already holds its name (no query); a bare key is named from the per-process
map of ``consent.taxonomy_names`` (no query per row). A key the taxonomy lacks is printed as
it is. ``purpose_name`` / ``category_name`` give the name alone, as plain text, for a link, a
sentence or an attribute. Names read in the active language (``consent.taxonomy_names``).
"""

import functools

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from consent.taxonomy_names import CATEGORY, PURPOSE, display_name, name_of

register = template.Library()

LABEL = (
    '<span class="taxonomy-name">{}</span> '
    '<small class="taxonomy-key text-body-secondary"><code>{}</code></small>'
)
KEY_ONLY = '<small class="taxonomy-key text-body-secondary"><code>{}</code></small>'


def key_and_name(kind: str, value) -> tuple[str, str | None]:
    """``(key, name)`` of a taxonomy object or a bare key (``name`` ``None`` when unknown),
    the name in the active language (``display_name``).

    ``value``: a ``Purpose`` / ``DataCategory`` (its own ``name``, no query), a row's
    reference holding only the key, or a key (``str``); the last two are named from the
    process's map (``consent.taxonomy_names``).
    """
    if value is None or value == "":
        return "", None
    key = getattr(value, "key", None)
    if key is not None:
        # A row of plain values (portal.pagination.Ref) carries the key alone: name it from
        # the map, as a bare key.
        name = getattr(value, "name", None)
        name = name if name and name != key else name_of(kind, key)
    else:
        key = str(value)
        name = name_of(kind, key)
    if name is None or name == key:
        return key, name
    return key, display_name(kind, name)


def _label(kind: str, value) -> SafeString | str:
    key, name = key_and_name(kind, value)
    if not key:
        return ""
    return _formatted_label(key, name)


@functools.lru_cache(maxsize=4096, typed=True)
def _formatted_label(key: str, name: str | None) -> SafeString:
    # A key and its name (already in the active language) give the same HTML in any
    # language: remembered, as a list prints the same few on every row. ``typed``: a
    # ``SafeString`` is not escaped where a ``str`` of the same text is.
    if name is None or name == key:
        return format_html(KEY_ONLY, key)
    return format_html(LABEL, name, key)


def _name(kind: str, value) -> str:
    key, name = key_and_name(kind, value)
    return name or key


@register.filter
def purpose_label(value) -> SafeString | str:
    """A purpose (``Purpose`` or key) as HTML: its name, then its key small in ``<code>``."""
    return _label(PURPOSE, value)


@register.filter
def category_label(value) -> SafeString | str:
    """A data category (``DataCategory`` or key) as HTML: its name, then its key small."""
    return _label(CATEGORY, value)


@register.filter
def purpose_name(value) -> str:
    """A purpose's name as plain text (its key when the taxonomy lacks it)."""
    return _name(PURPOSE, value)


@register.filter
def category_name(value) -> str:
    """A data category's name as plain text (its key when the taxonomy lacks it)."""
    return _name(CATEGORY, value)


@register.filter
def purpose_basis_label(value: str) -> SafeString | str:
    """``"key: Lawful basis"`` (a row of the record of processing activities) as the
    purpose's label followed by ``: Lawful basis``."""
    key, sep, basis = str(value).partition(": ")
    if not sep:
        return _label(PURPOSE, key)
    return format_html("{}: {}", _label(PURPOSE, key), basis)
