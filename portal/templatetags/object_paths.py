"""Links to an object's page from the rows of a list.

``{% load object_paths %}`` then ``{{ incident.pk|object_path:"incidents:detail" }}``: the
address ``{% url "incidents:detail" incident.pk %}`` gives, written from the pattern's shape
by ``portal.paths.object_path`` instead of matched against the pattern for every row (about
50 µs each). Every list row linking to one object's page uses it; a link taking two ids
keeps ``{% url %}``.
"""

from django import template

from portal.paths import object_path as _object_path

register = template.Library()


@register.filter
def object_path(pk: int, name: str) -> str:
    """The path of URL ``name`` (``"app:name"``) for the object with id ``pk``, as
    ``{% url name pk %}`` writes it (the template escapes it as it escapes that tag's);
    raises ``NoReverseMatch`` as the tag does for an id the pattern refuses (``None``
    included)."""
    return _object_path(name, pk)
