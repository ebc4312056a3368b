"""A query's rows streamed from PostgreSQL as it produces them, for a download that writes
rows while the database reads the next ones.

Django's ``iterator(chunk_size=N)`` reads through a server-side cursor: outside a
transaction a ``WITH HOLD`` cursor, which PostgreSQL fills with the whole result before
the first ``FETCH`` while Python waits, and from which Python then fetches N rows at a
time while the server waits: the two never work at once. psycopg's ``Cursor.stream``
sends the statement once and receives its rows in chunks as the server produces them
(libpq's chunked-rows mode, libpq 17 and later): the server reads the next rows while
Python writes the last.
An export of 49,728 customers was read and written in 140 ms instead of 212
(``benchmarks/export.py``; docs/performance.md).

The price: the statement runs until the last row is sent, where Django's ``WITH HOLD``
cursor read the whole result first. A slow download keeps its statement (and snapshot)
open that long; a server ``statement_timeout`` shorter than the slowest download would cut
files short (docs/operations.md).
"""

from collections.abc import Iterator
from contextlib import nullcontext

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.backends.utils import CursorDebugWrapper
from django.db.models import QuerySet
from django.db.models.query import ValuesListIterable

# Rows per chunk the server sends: memory holds one chunk (and the socket's buffers),
# whatever the number of rows.
STREAM_ROWS = 100
# The rows a fallback ``iterator`` reads per fetch.
FETCH_ROWS = 2000
# libpq's chunked-rows mode (``PQsetChunkedRowsMode``) came with version 17.
CHUNKED_ROWS_LIBPQ = 170000


def _statement(queryset: QuerySet) -> tuple[str, tuple] | None:
    """The SQL and parameters psycopg can stream for ``queryset`` with the rows Django
    would give, or ``None`` where Django's own reading must be used: another database than
    PostgreSQL, a libpq older than 17, inside ``transaction.atomic`` (a stream stopped
    early is cancelled, which aborts the transaction without Django knowing), anything but
    a ``values_list()`` of tuples (not ``flat``, not ``named``), columns Django converts
    after reading (a JSON column, for one) or trims (an ``order_by`` column added for
    ``distinct()``). ``("", ())`` when the query can match nothing (``pk__in=[]``)."""
    connection = connections[queryset.db]
    if (
        connection.vendor != "postgresql"
        or connection.in_atomic_block
        or queryset._iterable_class is not ValuesListIterable
    ):
        return None
    from psycopg import pq

    if pq.version() < CHUNKED_ROWS_LIBPQ:
        return None
    compiler = queryset.query.get_compiler(queryset.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return "", ()
    columns = [s[0] for s in compiler.select[: compiler.col_count]]
    if compiler.has_extra_select or compiler.get_converters(columns):
        return None
    return sql, tuple(params)


def streamed_rows(queryset: QuerySet, *, size: int = STREAM_ROWS) -> Iterator[tuple]:
    """The rows of ``queryset`` (a ``values_list()``: tuples in its fields' order), read as
    the database sends them, in chunks of ``size`` rows (an int above 0).

    On PostgreSQL, outside a transaction, one statement through psycopg's
    ``Cursor.stream``; memory stays bounded by a chunk. The statement runs until the last
    row is read: nothing else may use the connection meanwhile (psycopg holds it; another
    query from the same thread would wait for ever), so the caller reads the rows to the
    end or closes the iterator first, as a streamed download does. If the reader stops
    early (a download cancelled), psycopg cancels the statement and empties the
    connection, which stays usable. It is recorded like Django's own statements
    (``connection.queries``, the tests' query counts) but does not pass through
    ``execute_wrapper`` hooks. Elsewhere (see ``_statement``) Django's ``iterator``: the
    same rows.

    Raises what the database raises for the statement, as Django's ``DatabaseError``
    and its subclasses."""
    statement = _statement(queryset)
    if statement is None:
        yield from queryset.iterator(chunk_size=FETCH_ROWS)
        return
    sql, params = statement
    if not sql:
        return
    connection = connections[queryset.db]
    with connection.cursor() as cursor, connection.wrap_database_errors:
        logged = isinstance(cursor, CursorDebugWrapper)
        with (
            cursor.debug_sql(sql, params, use_last_executed_query=True) if logged else nullcontext()
        ):
            yield from cursor.cursor.stream(sql, params, size=size)
