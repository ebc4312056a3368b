"""A query's rows streamed from PostgreSQL as it produces them, for a download that writes
rows while the database reads the next ones.

Django's ``iterator(chunk_size=N)`` reads through a server-side cursor: PostgreSQL stops
after each ``FETCH`` of N rows until Python has written them, and Python waits for each
``FETCH``, so the two never work at once. psycopg's ``Cursor.stream`` sends the statement
once and receives its rows in chunks as the server produces them (libpq's chunked-rows
mode, libpq 17 and later): the server reads the next rows while Python writes the last.
An export of 49,728 customers was read and written in 140 ms instead of 212
(``benchmarks/export.py``; docs/performance.md).
"""

from collections.abc import Iterator
from contextlib import nullcontext

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


def _streamable(queryset: QuerySet) -> bool:
    """True when the rows psycopg reads are the queryset's own: PostgreSQL with libpq 17
    or later, a ``values_list()`` of tuples (not ``flat``, not ``named``) whose columns
    Django does not convert after reading (a JSON column, for one, it would)."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql" or queryset._iterable_class is not ValuesListIterable:
        return False
    from psycopg import pq

    if pq.version() < CHUNKED_ROWS_LIBPQ:
        return False
    compiler = queryset.query.get_compiler(queryset.db)
    compiler.pre_sql_setup()
    return not compiler.get_converters([s[0] for s in compiler.select[: compiler.col_count]])


def streamed_rows(queryset: QuerySet, *, size: int = STREAM_ROWS) -> Iterator[tuple]:
    """The rows of ``queryset`` (a ``values_list()``: tuples in its fields' order), read as
    the database sends them, in chunks of ``size`` rows (an int above 0).

    On PostgreSQL one statement through psycopg's ``Cursor.stream``; memory stays bounded
    by a chunk. It is recorded like Django's own statements (``connection.queries``, the
    tests' query counts) but does not pass through ``execute_wrapper`` hooks. If the reader
    stops early (a download cancelled), psycopg cancels the statement and empties the
    connection, which stays usable. Elsewhere (SQLite, an older libpq, columns Django
    converts after reading) Django's ``iterator``, the same rows.

    Raises what the database raises for the statement, as Django's ``DatabaseError``
    and its subclasses."""
    if not _streamable(queryset):
        yield from queryset.iterator(chunk_size=FETCH_ROWS)
        return
    sql, params = queryset.query.sql_with_params()
    connection = connections[queryset.db]
    with connection.cursor() as cursor, connection.wrap_database_errors:
        logged = isinstance(cursor, CursorDebugWrapper)
        with cursor.debug_sql(sql, params) if logged else nullcontext():
            yield from cursor.cursor.stream(sql, params, size=size)
