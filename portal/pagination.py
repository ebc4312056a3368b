"""Pagination of very long lists, and lists read a page at a time."""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar, overload

from django.core.paginator import EmptyPage, Page, Paginator
from django.db.models import Count, QuerySet, Window
from django.db.models.query import ModelIterable, ValuesIterable
from django.http import HttpRequest

Row = TypeVar("Row")


def other_parameters(request: HttpRequest) -> str:
    """The query string of ``request`` without its ``page``, url-encoded: what a list's
    page links keep (its filters) when they change the page (``_pagination.html``'s
    ``query``)."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# The name under which a page's query reads the length of its whole list.
_LIST_LENGTH = "_list_length"

# The furthest first row a page may ask the database for: beyond it the database's offset
# overflows (PostgreSQL's bigint, SQLite's integer), and no list here holds 2 billion rows.
MAX_OFFSET = 2**31


class OneReadPaginator(Paginator):
    """Django's paginator reading a page and the length of its list in one query.

    Django's counts the list (``SELECT COUNT(*)``), then reads the page: two scans of every
    matching row, as a page of 25 out of 961 approvals waiting or 1,725 assets found must
    join and sort them all. Here the page's query also returns the list's length, as
    ``COUNT(*) OVER ()`` (a window over the rows before ``LIMIT``): one scan. The count is
    exact, as Django's.

    Read this way: a ``PagedRows`` (the ids and the length in one query, then ``read`` of
    those ids; a ``PagedValues``: a few columns and the length, then ``read`` of those), a
    queryset of model instances or of ``values()`` dicts. Anything else (a
    list, ``values_list()``, a ``distinct()`` or combined query, orphans) and a page past
    the first with no rows (past the end) fall back to Django's count, so the answers,
    the errors (``PageNotAnInteger``, ``EmptyPage``) and ``get_page``'s corrections are
    Django's own; so does a page whose first row lies past ``MAX_OFFSET`` (a typed
    ``?page=10**20`` would overflow the database's offset). Raises nothing of its own.

    For lists whose page query must read every match anyway (a filter no index orders, a
    sort across a join). A list read in the order of an index (grants, newest first) stops
    after its page, and its count reads only that index: a window would make it read and
    sort every row, so such lists keep Django's paginator.
    """

    _read: tuple[int, list[Any]] | None = None

    def validate_number(self, number: Any) -> int:
        """``number`` as a page number (int >= 1, at most the last page), as Django's
        paginator checks it. The first check of a number reads that page with the list's
        length (one query), so the count it compares with costs nothing more. Raises
        ``PageNotAnInteger`` or ``EmptyPage`` as Django's does."""
        if "count" not in self.__dict__ and self.orphans == 0:
            wanted = _whole_number(number)
            if wanted is not None and wanted >= 1 and (wanted - 1) * self.per_page < MAX_OFFSET:
                self._read_page_and_length(wanted)
        return super().validate_number(number)

    def page(self, number: Any) -> Page:
        """The ``Page`` of ``number``: the rows read with the length when that page was the
        one checked first, Django's slice otherwise. Raises as ``validate_number``."""
        number = self.validate_number(number)
        if self._read is not None and self._read[0] == number:
            return self._get_page(self._read[1], number, self)  # type: ignore[attr-defined]
        return super().page(number)

    def _read_page_and_length(self, number: int) -> None:
        """Read page ``number`` and the list's length in one query, and keep both (the
        length as ``count``); nothing when a page past the first has no rows or the list
        cannot be read so (``page_and_length``)."""
        bottom = (number - 1) * self.per_page
        found = page_and_length(self.object_list, bottom, bottom + self.per_page)
        if found is not None:
            rows, length = found
            self.__dict__["count"] = length  # Paginator.count is a cached_property
            self._read = (number, rows)


def _whole_number(number: Any) -> int | None:
    """``number`` as Django's paginator reads a page number, or None where it refuses it."""
    if isinstance(number, float) and not number.is_integer():
        return None
    try:
        return int(number)
    except (TypeError, ValueError):
        return None


def page_and_length(object_list: Any, bottom: int, top: int) -> tuple[list[Any], int] | None:
    """The rows ``bottom:top`` of ``object_list`` and its length, from one query over it:
    ``([], 0)`` when the first page has no row (an empty list); None when a later slice is
    empty or ``object_list`` cannot be read so (see ``OneReadPaginator``)."""
    if isinstance(object_list, PagedRows):
        return object_list.page_and_length(bottom, top)
    if not isinstance(object_list, QuerySet) or not _window_countable(object_list):
        return None
    iterable = object_list._iterable_class
    if iterable not in (ModelIterable, ValuesIterable):
        return None  # values_list() tuples have no room for the length
    rows = list(object_list.annotate(**{_LIST_LENGTH: Window(Count("*"))})[bottom:top])
    if not rows:
        return _nothing_from(bottom)
    lengths = [
        (row.__dict__ if iterable is ModelIterable else row).pop(_LIST_LENGTH) for row in rows
    ]
    return rows, lengths[0]


def with_length(queryset: QuerySet[Any], fields: tuple[str, ...]) -> QuerySet[Any]:
    """``queryset``'s ``fields`` (``values_list``), each row followed by the length of the
    whole list (``COUNT(*) OVER ()``, counted before any slice): a page and its count in
    one statement. ``queryset`` (ordered, not sliced) must be countable by a window
    (``_window_countable``): after ``distinct()`` the count would be wrong. Returns a
    lazy ``values_list`` queryset; raises nothing."""
    return queryset.annotate(**{_LIST_LENGTH: Window(Count("*"))}).values_list(
        *fields, _LIST_LENGTH
    )


def _nothing_from(bottom: int) -> tuple[list[Any], int] | None:
    """What a page read with its list's length knows when it found no row: from the first
    row on, that the list is empty (``([], 0)``: no second scan to count nothing, as a
    grant whose customers all withdrew or a search that matches nothing would cost); past
    it, nothing (``None``: the list may end before ``bottom``, Django's count decides)."""
    return ([], 0) if bottom == 0 else None


def _window_countable(queryset: QuerySet[Any]) -> bool:
    """A window over the rows counts the list: not so after DISTINCT (applied after the
    window), for a UNION, for a queryset already cut, nor when it filters on a window of
    its own (Django then wraps the query, and the count would be taken before that
    filter)."""
    query = queryset.query
    return not (
        query.distinct or query.combinator or query.is_sliced or query.where.contains_over_clause
    )


class CappedPaginator(Paginator):
    """Counts at most ``cap`` rows, then says "more than": an exact count of a broad filter
    on a log of hundreds of thousands of events (120,000 for ``records`` at scale) costs
    more than the page itself. Pages past the cap are not offered; narrowing
    the filters, or the CSV export, reaches every event."""

    cap = 10_000

    @cached_property
    def _counted(self) -> int:
        # Always handed a queryset (the audit log's page and API, the undelivered
        # notifications', a customer search's matches: no DISTINCT), whose slice counts
        # in the database. How many rows there are up to the cap does not depend on their
        # order: without it, PostgreSQL counts from the index the filter reads (the events
        # of an action: 2.2 ms instead of 5.6, by walking every event newest first and
        # testing its action).
        return self.object_list.order_by()[: self.cap + 1].count()  # type: ignore[attr-defined]

    @cached_property
    def count(self) -> int:
        return min(self._counted, self.cap)

    @property
    def capped(self) -> bool:
        return self._counted > self.cap


class SortedUpToCapPaginator(CappedPaginator):
    """A ``CappedPaginator`` over matches sorted by something no index orders (a search's
    customers by name): up to ``cap`` matches they are sorted and paged as the list asks;
    past it (``capped``), the pages follow ``indexed_order`` instead (``("id",)``), which
    the database reads in index order until a page is full (the planner chooses that
    read where the matches are many; a few matches scattered among millions are
    gathered from their own index and sorted), and the count says "more than ``cap``".

    Sorting the matches reads every one of them: "Ltd" is in 4,928 of 100,000 names, and
    the page of 25 cost a heap read of each (4 to 5 ms; at ten million customers, half a
    second). Counting up to the cap reads at most ``cap + 1`` matches, and a page in index
    order stops when it is full. Raises what Django's paginator raises."""

    def __init__(
        self, object_list: QuerySet[Any], per_page: int, *, cap: int, indexed_order: tuple
    ):
        super().__init__(object_list, per_page)
        self.cap = cap
        self.indexed_order = indexed_order

    def page(self, number: Any) -> Page:
        """The ``Page`` of ``number``, in the list's order, or in ``indexed_order`` when more
        than ``cap`` match. Raises as ``Paginator.page``."""
        number = self.validate_number(number)
        if self.capped:
            self.object_list = self.object_list.order_by(*self.indexed_order)  # type: ignore[attr-defined]
        page = super().page(number)
        page.object_list = list(page.object_list)  # read here, not from the template
        return page


class OpenEndedPaginator(CappedPaginator):
    """A ``CappedPaginator`` whose pages go on past the cap, for API clients that walk a
    whole list by its ``next`` links: past the cap a page reads one row more than it shows
    to know whether another follows, and a page past the end is empty (``EmptyPage``).
    Under the cap it is Django's paginator with an exact count."""

    def validate_number(self, number: Any) -> int:
        """``number`` as a page number (int ≥ 1); past the cap any such number whose first
        row lies within ``MAX_OFFSET`` is valid. Raises ``PageNotAnInteger`` or
        ``EmptyPage`` as Django's paginator does."""
        try:
            return super().validate_number(number)
        except EmptyPage:
            if self.capped and 1 <= int(number) <= MAX_OFFSET // self.per_page:
                return int(number)
            raise

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        if not self.capped:
            return super().page(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        if not rows:
            raise EmptyPage(self.error_messages["no_results"])
        return OpenEndedPage(rows[: self.per_page], number, self, more=len(rows) > self.per_page)


class OpenEndedPage(Page):
    """A page of an ``OpenEndedPaginator`` past its cap: ``more`` says a page follows."""

    def __init__(self, object_list: list[Any], number: int, paginator: Paginator, *, more: bool):
        super().__init__(object_list, number, paginator)
        self.more = more

    def has_next(self) -> bool:
        return self.more


class PagedRows(Sequence[Row]):
    """A list that ``Paginator`` (Django's, or the API's) reads a page at a time.

    ``queryset`` (ordered) says which objects and in what order; ``len()`` is one count of
    it; a slice hands ``read`` that slice of the queryset, still lazy, and returns what it
    builds (plain rows, a few fields read as values): the page's cost does not grow with
    the list, and no model instance is built only to print a few fields.

    ``by_id``: ``read`` needs nothing of ``queryset`` but its model and its order (no
    annotation, no ``select_related``), so once ``OneReadPaginator`` has the ids of a page,
    the rows are read by id alone rather than through the list's filters again, which the
    ids have passed: a catalogue search's visibility rule and five-column match made the
    second statement take longer to plan (2 ms) than to run. The rows are then as they are
    a moment after the ids were found, as a page read after its count always was. Such a
    list must be ordered by its own fields (``ValueError`` otherwise: a programming error),
    which the second statement repeats.
    """

    def __init__(
        self,
        queryset: QuerySet[Any],
        read: Callable[[QuerySet[Any]], list[Row]],
        *,
        by_id: bool = False,
    ):
        names = [name for name in queryset.query.order_by if isinstance(name, str)]
        if by_id and (
            not names
            or len(names) != len(queryset.query.order_by)
            or any(name.lstrip("-") in queryset.query.annotations for name in names)
        ):
            raise ValueError("A list read by id is ordered by its own fields, named in order_by.")
        self.queryset = queryset
        self.read = read
        self.by_id = by_id
        self._count: int | None = None

    def __len__(self) -> int:
        if self._count is None:
            self._count = self.queryset.count()
        return self._count

    def page_and_length(self, bottom: int, top: int) -> tuple[list[Row], int] | None:
        """The rows ``bottom:top`` and the length of the list: the ids of the slice with
        ``COUNT(*) OVER ()`` in one query (every matching row scanned once), then ``read``
        of those ids. ``([], 0)`` for an empty list; None when a later slice is empty or
        the queryset cannot be counted by a window (``distinct()``, a union)."""
        found = self._page_values(("pk",), bottom, top)
        if not found:
            return None if found is None else ([], 0)
        return self._read_ids([pk for (pk,) in found]), len(self)

    def _read_ids(self, ids: list[Any]) -> list[Row]:
        """The rows of the page whose ids are ``ids`` (in the list's order)."""
        if self.by_id:
            model = self.queryset.model
            ordering = self.queryset.query.order_by
            page = model._default_manager.filter(pk__in=ids).order_by(*ordering)
        else:
            page = self.queryset.filter(pk__in=ids)
        return self.read(page)

    def _page_values(self, fields: tuple[str, ...], bottom: int, top: int) -> list[tuple] | None:
        """The values of ``fields`` of the rows ``bottom:top``, read with the list's length
        (kept for ``len()``) in one query: ``[]`` for an empty list, None when a later slice
        is empty or the queryset cannot be counted by a window."""
        found = self._page_rows(fields, bottom, top)
        if found is None:
            return None
        if not found:
            empty = _nothing_from(bottom)
            if empty is not None:
                self._count = 0
            return None if empty is None else []
        self._count = found[0][-1]
        return [row[:-1] for row in found]

    def _page_rows(self, fields: tuple[str, ...], bottom: int, top: int) -> list[tuple] | None:
        """The statement of ``_page_values``: the rows ``bottom:top`` of ``with_length``;
        None when the queryset cannot be counted by a window."""
        if not _window_countable(self.queryset):
            return None
        return list(with_length(self.queryset, fields)[bottom:top])

    def _read(self, part: QuerySet[Any]) -> list[Row]:
        """The rows of ``part``, a slice of the queryset."""
        return self.read(part)

    def __iter__(self) -> Iterator[Row]:
        # Every row in one read, not Sequence's default of one read per index.
        return iter(self[:])

    @overload
    def __getitem__(self, index: int) -> Row: ...

    @overload
    def __getitem__(self, index: slice) -> list[Row]: ...

    def __getitem__(self, index: int | slice) -> Row | list[Row]:
        if isinstance(index, slice):
            return self._read(self.queryset[index])
        if index < 0:
            index += len(self)
        rows = self._read(self.queryset[index : index + 1]) if index >= 0 else []
        if not rows:
            raise IndexError("No row at this position.")
        return rows[0]


class PagedValues(PagedRows[Row]):
    """A list in the order and of the length of ``queryset``, whose rows ``read`` builds
    from a few of its columns (``fields``, as in ``values_list``), handed to it as a list
    of tuples. The page's values and the list's length are one statement, and nothing of
    the rows is read again: what ``read`` needs beyond them it reads by those values.

    For a list whose rule is decided on another table than its rows, or whose rows need
    only a few columns of the list's own statement:

    - a grant's records are the customers whose consent states (grouped per customer) say
      they are eligible: the page's customer ids and the number eligible come from the
      states (or, for another lawful basis, the asset's memberships) without the customer
      table, then ``read`` reads the page's 50 customers by id. Counting them with
      their rows fetched the row of every eligible customer: a records page of a
      10,000-customer asset, 3,792 of them eligible, took 26 ms in the database against 9
      (docs/performance.md);
    - the approvals list reads the page's steps (id, role, their chain's kind) with the
      count, where it read the steps' ids, then the steps by id.

    The rows are as they are a moment after the values were read, as a page read after its
    count always was (a customer erased in between is missing from the page, not from the
    count)."""

    def __init__(
        self,
        queryset: QuerySet[Any],
        read: Callable[[list[tuple]], list[Row]],
        *,
        fields: tuple[str, ...],
    ):
        super().__init__(queryset, self._read)
        self.fields = fields
        self.read_values = read

    def page_and_length(self, bottom: int, top: int) -> tuple[list[Row], int] | None:
        """The rows of ``bottom:top`` and the length of the list, as
        ``PagedRows.page_and_length`` answers."""
        found = self._page_values(self.fields, bottom, top)
        if not found:
            return None if found is None else ([], 0)
        return self.read_values(found), len(self)

    def _read(self, part: QuerySet[Any]) -> list[Row]:
        return self.read_values(list(part.values_list(*self.fields)))


@dataclass(frozen=True)
class Ref:
    """A related object as a row names it: its id and, as ``str()``, its text."""

    pk: int
    text: str

    @property
    def name(self) -> str:
        return self.text

    @property
    def key(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text
