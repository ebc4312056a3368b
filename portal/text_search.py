"""Case-insensitive search over text the database keeps in capitals.

A search box matches its text in every row it considers, ignoring case. Django's
``icontains`` writes that on PostgreSQL as ``UPPER(column) LIKE UPPER(pattern)``, so it
capitalises every row's text again for every search: 2.4 to 3.9 ms of the catalogue
search's SQL on the 2,000 assets of the scale data, and 1.7 ms for the thousand accounts a
person's name is looked for in (docs/performance.md). The same ``LIKE`` over text already
in capitals took 1.0 ms.

So a searched model keeps its searched fields in capitals, joined, in one stored
generated column (``capitals_of``: the database computes it on every write, in the same
statement), and a search matches that column (``contains_text``). The result is the
rows ``icontains`` on each field finds, never across two fields: on PostgreSQL the same
function (its ``UPPER``, with the database's collation) on the same text; on SQLite (the
demo), whose ``LIKE`` and ``UPPER`` both ignore the case of ASCII letters only, the same
letters as before.
"""

from collections.abc import Sequence
from functools import reduce
from operator import or_

from django.db.models import F, Q, TextField, Value
from django.db.models.functions import Concat, Upper

# Joins the fields in the generated column: the ASCII unit separator, made to separate
# fields. A search holding it could match across two fields there, so such a search reads
# the fields themselves (``contains_text``).
SEPARATOR = "\x1f"


def capitals_of(*fields: str) -> Upper:
    """The expression of a stored generated column (``models.GeneratedField``) that
    ``contains_text`` searches: ``fields`` (names of the model's non-null text columns, at
    least one) in capitals, in that order, joined by ``SEPARATOR``. Immutable on PostgreSQL
    and SQLite (``UPPER`` and ``||``), as a generated column requires."""
    parts: list[F | Value] = []
    for field in fields:
        parts += [F(field), Value(SEPARATOR)]
    joined = Concat(*parts[:-1], output_field=TextField()) if len(fields) > 1 else parts[0]
    return Upper(joined, output_field=TextField())


def contains_text(column: str, fields: Sequence[str], text: str) -> Q:
    """The rows where one of ``fields`` contains ``text`` (a ``str``) ignoring case, as
    ``Q(<field>__icontains=text) | ...`` finds them, read from ``column``: the name of the
    generated column that keeps ``capitals_of(*fields)``. ``text`` is put in capitals by
    the database (Python's ``str.upper`` differs: "ß" becomes "SS"), and its ``%`` and
    ``_`` are matched literally. Raises nothing.

    A ``text`` holding ``SEPARATOR`` is matched against each field itself instead (slower,
    never across two fields)."""
    if SEPARATOR in text:
        return reduce(or_, (Q(**{f"{field}__icontains": text}) for field in fields))
    return Q(**{f"{column}__contains": Upper(Value(text), output_field=TextField())})
