"""Purposes and data categories in forms: by name, grouped by their root, suggestions first.

An ``<option>`` holds no markup, so its label is the name with the key after it
("Marketing Email Communications (marketing.communications.email)"); options are grouped in
an ``<optgroup>`` per root of the taxonomy ("Marketing", "Essential", "User Data"), in key
order, so a parent comes before its children. A form that knows the asset puts a first group,
"Suggested for this asset" (``consent.selectors.suggested_purpose_keys``), and leaves those
out of the groups below. The submitted value stays the key (``to_field_name="key"``): the
API and the POST fields are unchanged, and the field still validates against its queryset.

Django's ``ModelChoiceField`` yields a flat list; ``GroupedChoiceIterator`` yields the
groups Django's select and checkbox widgets (and ``portal.renderers``) already render.
"""

from collections.abc import Iterable, Iterator
from typing import NamedTuple

from django import forms
from django.forms.models import ModelChoiceIterator, ModelChoiceIteratorValue
from django.utils.translation import gettext, gettext_noop

from consent.taxonomy_names import CATEGORY, PURPOSE, display_name, kind_of, name_of
from portal.languages import reads_language_once

# The first group's label, in English here; shown in the active language.
SUGGESTED = gettext_noop("Suggested for this asset")


def option_label(entry) -> str:
    """``"Name (key)"`` for a ``Purpose`` or ``DataCategory``, the name in the active
    language; the key alone when the name says nothing more."""
    if not entry.name or entry.name == entry.key:
        return entry.key
    return f"{display_name(kind_of(entry), entry.name)} ({entry.key})"


def root_key(key: str) -> str:
    """``"marketing.communications.email"`` -> ``"marketing"``."""
    return key.split(".", 1)[0]


class Option(NamedTuple):
    """A purpose or data category as an option reads it: its id, key and name as stored,
    and its model (``instance_type``, as a historical row names it, for ``kind_of``)."""

    pk: int
    key: str
    name: str
    instance_type: type


class GroupedChoiceIterator(ModelChoiceIterator):
    """The field's queryset as optgroups: suggestions first, then one group per root.

    Reads ``field.suggested_keys`` (a set of keys, may be empty) and ``field.taxonomy_kind``
    (``"purpose"`` or ``"category"``, to name a root that is not in the queryset).

    The entries are read as plain values (``Option``), not model instances: an option
    shows only a key and a name, and building the catalogue filter's 85 categories as
    models cost more than writing their options. Each choice's value is the field's
    ``to_field_name`` of the entry (its ``pk`` without one), as Django's iterator gives it.
    """

    def __iter__(self) -> Iterator:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        yield from self._groups()

    @reads_language_once
    def _groups(self) -> list:
        """The groups, every label written in the language read once (the catalogue's 85
        categories read it about ninety times otherwise, ``reads_language_once``)."""
        model = self.queryset.model
        entries = [
            Option(pk, key, name, model)
            for pk, key, name in self.queryset.values_list("pk", "key", "name")
        ]
        suggested_keys = getattr(self.field, "suggested_keys", set())
        suggested = [e for e in entries if e.key in suggested_keys]
        groups = []
        if suggested:
            groups.append((gettext(SUGGESTED), [self.choice(e) for e in suggested]))
        offered = {e.key for e in suggested}
        groups.extend(self._by_root([e for e in entries if e.key not in offered]))
        return groups

    def _by_root(self, entries: Iterable) -> Iterator:
        names = {e.key: e.name for e in entries if "." not in e.key}
        groups: dict[str, list] = {}
        for entry in sorted(entries, key=lambda e: e.key):
            groups.setdefault(root_key(entry.key), []).append(self.choice(entry))
        kind = getattr(self.field, "taxonomy_kind", PURPOSE)
        for root, choices in groups.items():
            name = names.get(root) or name_of(kind, root)
            yield (display_name(kind, name) if name else root, choices)

    def choice(self, obj: Option) -> tuple[ModelChoiceIteratorValue, str]:
        value = getattr(obj, self.field.to_field_name or "pk")
        return (ModelChoiceIteratorValue(value, obj), self.field.label_from_instance(obj))

    def __len__(self) -> int:
        return self.queryset.count() + (1 if self.field.empty_label is not None else 0)


def group_by_name(
    field: forms.ModelChoiceField, *, kind: str = PURPOSE, suggested: Iterable[str] = ()
) -> forms.ModelChoiceField:
    """Show ``field``'s purposes or categories by name, grouped, ``suggested`` keys first.

    ``field``: a ``ModelChoiceField`` or ``ModelMultipleChoiceField`` over ``Purpose`` or
    ``DataCategory`` (its accepted values are untouched). Returns the same field.
    """
    field.taxonomy_kind = kind
    field.suggested_keys = set(suggested)
    field.label_from_instance = option_label
    field.iterator = GroupedChoiceIterator
    # The widget copied the choices when the field was built: give it the grouped ones.
    field.widget.choices = field.choices
    return field


def group_categories(field: forms.ModelChoiceField) -> forms.ModelChoiceField:
    """``group_by_name`` for data categories."""
    return group_by_name(field, kind=CATEGORY)
