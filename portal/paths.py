"""The address of an object's page, for lists that link every row to one.

``reverse()`` matches the URL pattern's converters against its arguments on every call,
about 50 µs: a catalogue page of 25 rows spent 1.25 ms on its links alone. A pattern
that takes one whole number is reversed once (with a placeholder) and then filled in.
"""

from functools import lru_cache

from django.urls import get_resolver, get_script_prefix, get_urlconf, reverse

# A number no page of the portal is ever about, standing in for the id while reversing.
_PLACEHOLDER = "7318264059"


def object_path(name: str, pk: int) -> str:
    """The path of URL ``name`` (``"app:name"``) for the object with id ``pk``, as
    ``reverse(name, args=[pk])`` gives it, for a pattern taking one ``<int:...>`` argument.

    Anything but a whole number is handed to ``reverse`` itself, with its errors
    (``NoReverseMatch``). The shape is kept per URL configuration and script prefix (what
    ``reverse`` reads besides its arguments here: the portal's paths carry no language
    prefix), so a test that changes either, or a prefix set per request by the server, gets
    its own; the last 512 shapes are kept."""
    if type(pk) is not int or pk < 0:
        return reverse(name, args=[pk])
    shape = _shape(get_resolver(get_urlconf()), get_script_prefix(), name)
    if shape is None:
        return reverse(name, args=[pk])
    return f"{shape[0]}{pk}{shape[1]}"


@lru_cache(maxsize=512)
def _shape(resolver: object, prefix: str, name: str) -> tuple[str, str] | None:
    """The text before and after the id in the path of ``name`` (``resolver`` and
    ``prefix`` only key the cache: ``reverse`` reads them itself), or None when the path
    does not hold the placeholder exactly once."""
    parts = reverse(name, args=[int(_PLACEHOLDER)]).split(_PLACEHOLDER)
    return (parts[0], parts[1]) if len(parts) == 2 else None
