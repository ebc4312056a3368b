"""Views whose statements may keep one plan for every value.

The portal plans each run of a prepared statement for its own values
(``plan_cache_mode=force_custom_plan``, ``portal.environment.with_prepared_statements``):
its values are skewed, and PostgreSQL's default would keep a plan made for no value. But a
page whose every statement finds rows by their ids or by the reader gets the same plan
whatever the values, and planning its joins again on every view is pure cost: the
approvals page's five-table join of requests took 1.2 ms to plan and 0.6 to run
(docs/performance.md).

Such a view runs in one transaction with ``SET LOCAL plan_cache_mode = auto``
(PostgreSQL's default, for that transaction only, so a connection and a pooler in
transaction mode go back to planning each run when it ends): after five runs of a prepared
statement on a connection, PostgreSQL keeps a generic plan when that looks no dearer
(PostgreSQL's documentation, ``PREPARE``, "Notes", and ``plan_cache_mode``).

Only for a view that reads, and whose statements cost the same for any value: never one
reading a search word, an asset's customers or an audit filter. An audit log filtered on a
rare action took 6.8 ms planned for its value and 47 ms with the plan kept.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps

from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse


def plans_can_be_kept() -> bool:
    """Whether the default connection prepares statements: PostgreSQL with the parameters
    sent apart (``DATABASE_PREPARE_THRESHOLD`` set). Without, every statement is planned
    for its values anyway (an unnamed statement is), and there is nothing to keep."""
    options = connection.settings_dict.get("OPTIONS") or {}
    return connection.vendor == "postgresql" and bool(options.get("server_side_binding"))


@contextmanager
def plans_kept() -> Iterator[None]:
    """Within: one transaction on the default connection in which PostgreSQL may keep a
    prepared statement's generic plan (``plan_cache_mode`` ``auto``); the connection plans
    each run again when it ends, whether the block returns or raises. Nothing is changed
    where no statement is prepared (``plans_can_be_kept``), nor inside a transaction
    already open (``ATOMIC_REQUESTS``, a caller's ``atomic``, a test's): there the block
    would be a savepoint, and ``SET LOCAL`` would last until the outer transaction ends.
    Raises what the block raises, and Django's ``DatabaseError`` if the setting cannot be
    made."""
    if not plans_can_be_kept() or connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL plan_cache_mode = auto")
        yield


def keeps_plans(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A view decorator: ``view`` (a function view that only reads, its statements finding
    rows by id or by the reader) runs and renders inside ``plans_kept``."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        with plans_kept():
            response = view(request, *args, **kwargs)
            render = getattr(response, "render", None)
            if callable(render) and not getattr(response, "is_rendered", True):
                render()  # a TemplateResponse: its template's statements in here too
            return response

    return wrapped
