"""Pagination of very long lists."""

from functools import cached_property

from django.core.paginator import Paginator


class CappedPaginator(Paginator):
    """Counts at most ``cap`` rows, then says "more than": an exact count of a broad filter
    on a log of hundreds of thousands of events (120,000 for ``records`` at scale) costs
    more than the page itself. Pages past the cap are not offered; narrowing
    the filters, or the CSV export, reaches every event."""

    cap = 10_000

    @cached_property
    def _counted(self) -> int:
        return self.object_list[: self.cap + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self._counted, self.cap)

    @property
    def capped(self) -> bool:
        return self._counted > self.cap
