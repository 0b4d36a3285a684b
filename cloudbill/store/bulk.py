"""Bulk inserts straight through the driver's executemany.

SQLAlchemy's per-row parameter processing costs more than SQLite's insert itself when a
settlement writes a million fee records. Here each column's own bind processor (the same one
SQLAlchemy would apply, e.g. UtcDateTime's) is looked up once per call and applied to plain
tuples, so what is stored is exactly what an ordinary insert would store. On PostgreSQL the rows
go by COPY, its bulk path (several times faster than an INSERT a row, even pipelined), in the
caller's transaction; its errors are raised as SQLAlchemy's, as an INSERT's would be.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

Processor = Callable[[Any], Any] | None


def _processors(conn: Connection, table: Table, columns: Sequence[str]) -> list[Processor]:
    dialect = conn.dialect
    return [table.c[name].type._cached_bind_processor(dialect) for name in columns]


def insert_tuples(
    conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """INSERT rows (tuples in `columns` order); returns how many were written."""
    processors = _processors(conn, table, columns)
    # Instants repeat across rows (the hour, `now`): convert each distinct value once.
    memo: list[dict[Any, Any]] = [{} for _ in columns]

    def convert(index: int, value: Any) -> Any:
        processor = processors[index]
        if processor is None or value is None:
            return value
        cache = memo[index]
        if value not in cache:
            cache[value] = processor(value)
        return cache[value]

    indexes = range(len(columns))
    prepared = [tuple(convert(i, row[i]) for i in indexes) for row in rows]
    _write(conn, table, columns, prepared)
    return len(prepared)


# Rows a bulk insert prepares at a time: a million fee records as one list of tuples would
# hold a few hundred MB at once; slices of this size hold a few MB.
SLICE_ROWS = 50_000


def insert_columns(
    conn: Connection, table: Table, columns: Sequence[str], values: Sequence[Sequence[Any]]
) -> int:
    """INSERT rows given as columns (values[i] is column i, all of one length: lists, or numpy
    arrays, whose slices become Python values as they are written); returns how many were
    written. Each column is converted only where its type needs it, each distinct value once:
    column-wise settlement hands its fee records over this way."""
    processors = _processors(conn, table, columns)
    memos: list[dict[Any, Any]] = [{None: None} for _ in columns]  # the hour, `now`: few
    total = len(values[0]) if values else 0
    for start in range(0, total, SLICE_ROWS):
        converted = []
        for processor, memo, column in zip(processors, memos, values, strict=True):
            part = column[start : start + SLICE_ROWS]
            part = part.tolist() if hasattr(part, "tolist") else part
            if processor is not None:
                for value in part:
                    if value not in memo:
                        memo[value] = processor(value)
                part = [memo[value] for value in part]
            converted.append(part)
        _write(conn, table, columns, list(zip(*converted, strict=True)))
    return total


def _write(conn: Connection, table: Table, columns: Sequence[str], rows: list[tuple]) -> None:  # type: ignore[type-arg]
    """Write prepared rows: COPY on PostgreSQL, executemany elsewhere."""
    if not rows:
        return
    names = ", ".join(columns)
    if conn.dialect.name != "postgresql":
        marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        markers = ", ".join([marker] * len(columns))
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({markers})", rows)
        return
    sql = f"COPY {table.name} ({names}) FROM STDIN"
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with as_sqlalchemy_errors(sql), cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


@contextmanager
def as_sqlalchemy_errors(sql: str) -> Iterator[None]:
    """Work done straight on the PostgreSQL driver (a COPY) fails as an INSERT through
    SQLAlchemy would: IntegrityError, OperationalError, ... so that Container.write retries a
    lost race or a deadlock and a busy database is answered 503, as for any statement."""
    import psycopg  # PostgreSQL's driver: only where PostgreSQL is used

    try:
        yield
    except psycopg.Error as exc:
        raise DBAPIError.instance(sql, None, exc, psycopg.Error) from exc


def insert_or_skip(conn: Connection, table: Table, key: str):  # type: ignore[no-untyped-def]
    """INSERT … ON CONFLICT (key) DO NOTHING RETURNING the key: rows another transaction wrote
    first are skipped, not an error (derived rows: notices, marks). The rows returned are the
    ones written."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return (
        dialect.insert(table).on_conflict_do_nothing(index_elements=[key]).returning(table.c[key])
    )
