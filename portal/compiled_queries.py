"""ORM statements compiled once per shape, then run with each call's values.

Django builds and compiles a queryset's SQL anew on every call: a list page's statement of
five joined tables with a dozen conditions costs about a millisecond of Python before the
database sees it, as much as the database takes to answer it. The portal's busiest lists
run the same few statements all day with different values (the reader's id, a page's
chains, the clock an expiry is compared with), so ``CompiledQuery`` builds each once per
*shape* (what changes the SQL's text: the reader's roles, how many ids a list holds,
which page) and, after that, only sends the values. The rule stays written once, as the
queryset ``build`` returns; this module only remembers what Django made of it.

How a value finds its place: ``build`` is called once per shape with each of two sets of
stand-ins (ids below any key, then small positive ids; moments of 2000, then of 2001), both
are compiled, and a parameter that is a value's stand-in in both is marked as that value's
slot. A call then puts its values, adapted as Django adapts them, into those slots. Two
compiles that differ in anything else (a value folded into the text, changed on the way,
or making Django give up on the statement for one set only) make the shape unusable:
``CompiledQueryError`` at its first call, before anything is sent.

With ``settings.COMPILED_QUERIES_CHECK`` (on in the test suite and in ``DEBUG``) every
call also builds and compiles the statement with its real values and compares: a shape
that leaves out something the SQL depends on (a clock read inside ``build``, a setting)
fails the call that differs (``CompiledQueryError``) instead of reading with another
call's statement; a test that makes two such calls shows it.

No well-kept library does this for current Django: django-prepared-queries and
django-prepared-query, the ones that did, stop at Django 2.1 (2018); docs/performance.md
says what it saves.
"""

import copy
import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet
from django.db.models.query import ModelIterable, ValuesListIterable
from django.db.models.sql.compiler import SQLCompiler

from portal.pagination import PagedRows, PagedValues, Row, with_length

# What a call's values may be: ids (ints) and moments (aware datetimes).
Value = int | datetime

# Two sets of stand-ins, each compiled once per shape: a parameter is a value's slot when
# it is that value's stand-in in both; any other parameter that differs between the two
# depends on the values some other way, and the shape is refused. The first ids lie below
# any key (ids start at 1), the second are small and positive (a column Django knows
# cannot hold a negative number compiles with them as it would with a real id).
_STAND_INS = ((-(2**62), datetime(2000, 1, 1, tzinfo=UTC)), (1, datetime(2001, 1, 1, tzinfo=UTC)))


class CompiledQueryError(Exception):
    """A shape's statement cannot be reused for other values, or (with the check on) the
    remembered statement differs from the one Django builds for a call's values."""


@dataclass(frozen=True)
class _Compiled:
    """What one shape compiled to: the SQL, its parameters with the values' slots (the
    position in the call's values, or None for a parameter of the shape), and the compiler
    that read it (its columns and converters); ``sql`` empty for a statement Django knows
    finds nothing (an empty ``IN``)."""

    alias: str
    sql: str
    params: tuple[Any, ...]
    slots: tuple[int | None, ...]
    compiler: SQLCompiler | None
    queryset: QuerySet[Any] | None

    def params_for(self, values: tuple[Value, ...]) -> tuple[Any, ...]:
        """The parameters with ``values`` in their slots, each adapted as Django adapts it
        for this database (a moment: ``adapt_datetimefield_value``)."""
        ops = connections[self.alias].ops
        return tuple(
            param if slot is None else _adapted(values[slot], ops)
            for param, slot in zip(self.params, self.slots, strict=True)
        )


def _adapted(value: Value, ops: Any) -> Any:
    return ops.adapt_datetimefield_value(value) if isinstance(value, datetime) else value


def _kind(value: Any) -> type:
    """``int`` or ``datetime``, the kind of a call's value; ``TypeError`` for any other
    (a ``bool``, a naive moment, text), ``ValueError`` for an int beyond a bigint (which
    SQLite cannot even send: ids typed in a URL are bounded first, ``as_id``)."""
    if type(value) is int:
        if not -(2**63) <= value < 2**63:
            raise ValueError(f"{value} is beyond a bigint.")
        return int
    if isinstance(value, datetime) and value.tzinfo is not None:
        return datetime
    raise TypeError(f"A compiled query's values are ids and aware moments, not {value!r}.")


def _stand_in(kind: type, position: int, variant: int) -> Value:
    first_id, first_moment = _STAND_INS[variant]
    if kind is int:
        return first_id + position if variant else first_id - position
    return first_moment + timedelta(microseconds=position)


class CompiledQuery:
    """A statement built by ``build(shape, values)`` (a ``values_list()`` queryset, sliced
    or not), compiled once per ``shape`` and kinds of values, then run with each call's
    values.

    ``values`` are what changes from call to call: ids (ints) and moments (aware
    datetimes, such as the clock an expiry is compared with). Each must reach the SQL as
    a parameter of its own, as Django sends a key compared with ``=`` or ``IN`` or a moment
    compared with a ``DateTimeField``. ``build`` must make the statement from ``shape`` and
    ``values`` alone (no clock of its own, no reading of the database, no setting that
    changes between calls): anything else that changes the SQL belongs in ``shape``.

    Remembered per thread (Django's connections are per thread), at most ``max_shapes``
    shapes each, the oldest forgotten first."""

    def __init__(
        self,
        build: Callable[[Any, tuple[Any, ...]], QuerySet[Any, Any]],
        *,
        max_shapes: int = 256,
    ):
        self.build = build
        self.max_shapes = max_shapes
        self._local = threading.local()

    def rows(
        self, shape: Hashable, values: Sequence[Value], *, using: str = "default"
    ) -> list[tuple]:
        """The rows of the statement for ``shape`` and ``values``, as
        ``list(build(shape, values))`` gives them (tuples, every column converted as the ORM
        converts it). Raises ``TypeError`` for a value that is neither an id nor an aware
        moment, ``ValueError`` for an id beyond a bigint, ``CompiledQueryError`` as the
        class says, and the database's errors."""
        run = self._run(shape, values, using)
        if run is None:
            return []
        if run[0].queryset._iterable_class is not ValuesListIterable:  # type: ignore[union-attr]
            raise CompiledQueryError("rows() reads a values_list() of tuples.")
        return list(run[1].results_iter(tuple_expected=True))

    def objects(
        self, shape: Hashable, values: Sequence[Value], *, using: str = "default"
    ) -> list[Any]:
        """The model instances of the statement (``build`` returns a queryset of them) for
        ``shape`` and ``values``, as ``list(build(shape, values))`` gives them: the related
        objects of its ``select_related`` filled, its ``prefetch_related`` lookups run
        after (those statements built as usual). Raises as ``rows``."""
        run = self._run(shape, values, using)
        if run is None:
            return []
        compiled, compiler = run
        queryset = compiled.queryset._chain()  # type: ignore[union-attr]
        if queryset._iterable_class is not ModelIterable:
            raise CompiledQueryError("objects() reads model instances.")
        queryset.query.get_compiler = lambda *args, **kwargs: compiler  # type: ignore[method-assign]
        return list(queryset)

    def sql(
        self, shape: Hashable, values: Sequence[Value], *, using: str = "default"
    ) -> tuple[str, tuple[Any, ...]]:
        """The statement's SQL and parameters for ``shape`` and ``values``, as
        ``build(shape, values).query.sql_with_params()`` gives them, for a statement written
        around it. Raises ``EmptyResultSet`` for one Django knows finds nothing (as
        ``sql_with_params`` does), otherwise as ``rows``."""
        compiled = self._prepared(shape, values, using)
        if not compiled.sql:
            raise EmptyResultSet
        return compiled.sql, compiled.params_for(tuple(values))

    def _prepared(self, shape: Hashable, values: Sequence[Value], using: str) -> _Compiled:
        """The statement compiled for ``shape`` and the kinds of ``values`` (checked against
        a fresh compile with the check on)."""
        values = tuple(values)
        kinds = tuple(_kind(value) for value in values)
        compiled = self._compiled(connections[using].alias, shape, kinds)
        if getattr(settings, "COMPILED_QUERIES_CHECK", False):
            self._check(compiled, shape, values)
        return compiled

    def _run(
        self, shape: Hashable, values: Sequence[Value], using: str
    ) -> tuple[_Compiled, SQLCompiler] | None:
        """The compiled statement for ``shape`` and ``values`` and a compiler that sends it
        with them (on this thread's connection); None for a statement that finds nothing."""
        compiled = self._prepared(shape, values, using)
        if not compiled.sql or compiled.compiler is None:
            return None
        sql, params = compiled.sql, compiled.params_for(tuple(values))
        run = copy.copy(compiled.compiler)
        run.connection = connections[using]
        run.as_sql = lambda *args, **kwargs: (sql, params)  # type: ignore[method-assign]
        return compiled, run

    def _compiled(self, alias: str, shape: Hashable, kinds: tuple[type, ...]) -> _Compiled:
        shapes: dict[tuple, _Compiled] = self._local.__dict__.setdefault("shapes", {})
        key = (alias, shape, kinds)
        compiled = shapes.get(key)
        if compiled is None:
            compiled = _compile(self.build, shape, kinds, alias)
            if len(shapes) >= self.max_shapes:
                del shapes[next(iter(shapes))]  # the least recently used
        else:
            del shapes[key]  # to the end: the most recently used
        shapes[key] = compiled
        return compiled

    def _check(self, compiled: _Compiled, shape: Hashable, values: tuple[Value, ...]) -> None:
        fresh = _sql_of(self.build(shape, values), compiled.alias)
        if fresh != (compiled.sql, compiled.params_for(values)):
            raise CompiledQueryError(
                f"The statement remembered for shape {shape!r} is not the one built for "
                f"values {values!r}: something it depends on is missing from the shape."
            )


def _sql_of(queryset: QuerySet[Any], alias: str) -> tuple[str, tuple[Any, ...]]:
    """``queryset``'s SQL and parameters as Django would send them; ``("", ())`` for a
    statement Django knows finds nothing."""
    try:
        sql, params = queryset.query.get_compiler(alias).as_sql()
    except EmptyResultSet:
        return "", ()
    return sql, tuple(params)


def _compile(
    build: Callable[[Any, tuple[Any, ...]], QuerySet[Any, Any]],
    shape: Hashable,
    kinds: tuple[type, ...],
    alias: str,
) -> _Compiled:
    """The statement ``build`` makes for ``shape``, compiled with each set of stand-ins
    for values of ``kinds``, with each value's slot. Raises ``CompiledQueryError`` when the
    two differ in anything but the stand-ins' places (a value that is not a parameter of
    its own, folded into the text, changed on the way, or making Django give up on the
    statement for one set and not the other)."""
    ops = connections[alias].ops
    compiled = []
    for variant in range(len(_STAND_INS)):
        stand_ins = tuple(_stand_in(kind, position, variant) for position, kind in enumerate(kinds))
        queryset = build(shape, stand_ins)
        compiler = queryset.query.get_compiler(alias)
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:
            sql, params = "", ()
        adapted = [_adapted(stand_in, ops) for stand_in in stand_ins]
        compiled.append((sql, tuple(params), adapted, compiler, queryset))
    (sql, params, adapted, compiler, queryset), (other_sql, other_params, other_adapted, *_) = (
        compiled
    )
    refused = CompiledQueryError(
        "A value of a compiled query does not reach its SQL as a parameter of its own."
    )
    if sql != other_sql or len(params) != len(other_params):
        raise refused
    if not sql:
        return _Compiled(alias, "", (), (), None, None)
    slots = []
    for param, other in zip(params, other_params, strict=True):
        slot = _slot(param, adapted)
        if slot is None or slot != _slot(other, other_adapted):
            if type(param) is not type(other) or param != other:
                raise refused
            slot = None
        slots.append(slot)
    if set(range(len(kinds))) - set(slots):
        raise refused
    return _Compiled(alias, sql, params, tuple(slots), compiler, queryset)


def _slot(param: Any, adapted: list[Any]) -> int | None:
    """The position of the stand-in ``param`` is (as adapted for the database), or None.
    ``CompiledQueryError`` for a parameter holding a stand-in inside it (a list)."""
    if isinstance(param, list | tuple):
        if any(_slot(item, adapted) is not None for item in param):
            raise CompiledQueryError("A compiled query's values must be parameters of their own.")
        return None
    for position, stand_in in enumerate(adapted):
        if type(param) is type(stand_in) and param == stand_in:
            return position
    return None


class CompiledList:
    """A list that ``build(shape, values)`` makes (an ordered queryset), whose pages (a
    few columns and the list's length, as ``PagedValues`` reads them) are statements
    compiled once per shape, columns and page (``CompiledQuery``)."""

    def __init__(self, build: Callable[[Any, tuple[Any, ...]], QuerySet[Any, Any]]):
        self.build = build
        self._pages = CompiledQuery(self._page)

    def _page(self, shape: Any, values: tuple[Value, ...]) -> QuerySet[Any]:
        list_shape, fields, bottom, top = shape
        return with_length(self.build(list_shape, values), fields)[bottom:top]

    def page_rows(
        self,
        shape: Hashable,
        values: tuple[Value, ...],
        fields: tuple[str, ...],
        bottom: int,
        top: int,
    ) -> list[tuple]:
        """The values of ``fields`` (names, as ``values_list`` takes them) of the rows
        ``bottom:top`` (0-based, ``top`` excluded) of the list for ``shape`` and ``values``,
        each tuple followed by the list's length (``portal.pagination.with_length``), in
        one compiled statement. Raises as ``CompiledQuery.rows``."""
        return self._pages.rows((shape, fields, bottom, top), values)

    def paged_values(
        self,
        shape: Hashable,
        values: Sequence[Value],
        read: Callable[[list[tuple]], list[Row]],
        *,
        fields: tuple[str, ...],
    ) -> "CompiledPagedValues[Row]":
        """The list for ``shape`` and ``values`` (ids and aware moments) as a
        ``PagedValues`` (``read`` builds the rows from the tuples of ``fields``): its pages
        read by compiled statements, its queryset built only for what else a reader asks
        of it (``len()`` before a page, a slice by the API). Raises nothing itself; reading
        raises as ``CompiledQuery.rows``."""
        return CompiledPagedValues(self, shape, tuple(values), read, fields=fields)

    def paged_rows(
        self,
        shape: Hashable,
        values: Sequence[Value],
        read: Callable[[QuerySet[Any]], list[Row]],
        *,
        read_ids: Callable[[list[int]], list[Row]],
    ) -> "CompiledPagedRows[Row]":
        """The list for ``shape`` and ``values`` (ids and aware moments) as a ``PagedRows``
        read by id: a page's ids and the list's length by a compiled statement, then
        ``read_ids`` of those ids (ints, in the list's order; it returns the rows); ``read``
        of a slice of the queryset for what else a reader asks (a slice by the API), the
        queryset built only then. Raises nothing itself; reading raises as
        ``CompiledQuery.rows``."""
        return CompiledPagedRows(self, shape, tuple(values), read, read_ids=read_ids)


class _CompiledPages:
    """What the compiled lists share: the queryset built when first asked for, the
    page's statement compiled."""

    listing: CompiledList
    shape: Hashable
    values: tuple[Value, ...]

    def _bind(self, listing: CompiledList, shape: Hashable, values: tuple[Value, ...]) -> None:
        # PagedRows' state, without the queryset: it is built when first asked for.
        self._count = None
        self.listing, self.shape, self.values = listing, shape, values

    @cached_property
    def queryset(self) -> QuerySet[Any]:
        return self.listing.build(self.shape, self.values)

    def _page_rows(self, fields: tuple[str, ...], bottom: int, top: int) -> list[tuple] | None:
        return self.listing.page_rows(self.shape, self.values, fields, bottom, top)


class CompiledPagedValues(_CompiledPages, PagedValues[Row]):  # type: ignore[misc]
    """A ``PagedValues`` over a ``CompiledList``: see ``CompiledList.paged_values``."""

    def __init__(
        self,
        listing: CompiledList,
        shape: Hashable,
        values: tuple[Value, ...],
        read: Callable[[list[tuple]], list[Row]],
        *,
        fields: tuple[str, ...],
    ):
        self._bind(listing, shape, values)
        self.read, self.by_id = self._read, False
        self.fields, self.read_values = fields, read


class CompiledPagedRows(_CompiledPages, PagedRows[Row]):  # type: ignore[misc]
    """A ``PagedRows`` over a ``CompiledList``: see ``CompiledList.paged_rows``."""

    def __init__(
        self,
        listing: CompiledList,
        shape: Hashable,
        values: tuple[Value, ...],
        read: Callable[[QuerySet[Any]], list[Row]],
        *,
        read_ids: Callable[[list[int]], list[Row]],
    ):
        self._bind(listing, shape, values)
        self.read, self.by_id, self.read_ids = read, True, read_ids

    def _read_ids(self, ids: list[Any]) -> list[Row]:
        return self.read_ids(ids)
