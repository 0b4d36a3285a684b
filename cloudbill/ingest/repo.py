"""Ingestion SQL: bulk lookups in bounded chunks, bulk inserts."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.csv as pa_csv
from sqlalchemy import Connection, Text, and_, bindparam, cast, func, select, text, true
from sqlalchemy.dialects.postgresql import ARRAY

from ..kernel.limits import SQL_IN_CHUNK
from ..store import gates
from ..store.bulk import as_sqlalchemy_errors
from ..store.schema import customer, resource, usage_record, usage_void
from ..store.types import UtcDateTime, exact_sum
from .model import ResourceFacts


def chunks(items: Sequence[str], size: int = SQL_IN_CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def hold_gate(conn: Connection) -> None:
    """Share the ingest gate for this transaction (see store/gates.py)."""
    gates.hold_shared(conn)


def resource_facts(conn: Connection, resource_ids: Iterable[str]) -> dict[str, ResourceFacts]:
    wanted = sorted({r for r in resource_ids if isinstance(r, str)})
    found: dict[str, ResourceFacts] = {}
    for part in chunks(wanted):
        rows = conn.execute(
            select(
                resource.c.id,
                resource.c.customer_id,
                resource.c.resource_type,
                resource.c.spec,
                resource.c.billing_mode,
                resource.c.status,
                customer.c.currency,
                resource.c.created_at,
                resource.c.terms_since,
            )
            .join(customer, customer.c.id == resource.c.customer_id)
            .where(resource.c.id.in_(part))
        )
        for row in rows:
            found[row.id] = ResourceFacts(*row)
    return found


def in_set(conn: Connection, column: str, param: str):  # type: ignore[no-untyped-def]
    """`column` is one of the values bound to `param` (set_param): one parameter whatever the
    number of values, joined against the set by the database (PostgreSQL's = ANY(array),
    SQLite's json_each), where an IN list would need a statement per 900 ids."""
    if conn.dialect.name == "postgresql":
        return text(f"{column} = ANY(:{param})")
    return text(f"{column} IN (SELECT value FROM json_each(:{param}))")


def set_param(conn: Connection, values: Sequence[str]) -> object:
    return list(values) if conn.dialect.name == "postgresql" else json.dumps(list(values))


FACT_NAMES = (
    "resource_id", "customer_id", "resource_type", "spec", "billing_mode", "status", "currency",
    "created_at", "terms_since",
)  # fmt: skip
FACTS_SCHEMA = pa.schema(
    [(name, pa.string()) for name in FACT_NAMES[:7]]
    + [("created_at", pa.timestamp("us", tz="UTC")), ("terms_since", pa.timestamp("us", tz="UTC"))]
)


def resource_facts_table(conn: Connection, resource_ids: Sequence[str]) -> pa.Table:
    """What validation needs of these resources, as columns (FACTS_SCHEMA), in one query."""
    if not resource_ids:
        return FACTS_SCHEMA.empty_table()
    postgres = conn.dialect.name == "postgresql"
    member = "r.id = ANY(%s)" if postgres else "r.id IN (SELECT value FROM json_each(?))"
    rows = conn.exec_driver_sql(
        f"SELECT r.id, r.customer_id, r.resource_type, r.spec, r.billing_mode, r.status, "
        f"c.currency, r.created_at, r.terms_since FROM {resource.name} r "
        f"JOIN {customer.name} c ON c.id = r.customer_id WHERE {member}",
        (set_param(conn, resource_ids),),
    ).fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in FACT_NAMES]
    out = [pa.array(columns[i], pa.string()) for i in range(7)]
    for i in (7, 8):  # naive UTC: datetimes (PostgreSQL) or SQLAlchemy's text (SQLite)
        values = columns[i]
        kind = pa.timestamp("us")
        array = pa.array(values, pa.string()).cast(kind) if not postgres else pa.array(values, kind)
        out.append(array.cast(pa.timestamp("us", tz="UTC")))
    return pa.Table.from_arrays(out, schema=FACTS_SCHEMA)


_U = usage_record.c
_V = usage_void.c


def _stored_running_statements(conn: Connection):  # type: ignore[no-untyped-def]
    live = and_(
        in_set(conn, "usage_record.resource_id", "resource_ids"),
        in_set(conn, "usage_record.usage_type", "usage_types"),
        _V.seq.is_(None),
    )
    sums = (
        select(_U.resource_id, _U.usage_type, _U.pricing_unit, _U.first_hour, func.count(),
               exact_sum(_U.quantity_e10))
        .outerjoin(usage_void, _V.seq == _U.seq)
        .where(live, _U.first_hour == _U.last_hour, _U.start_at >= bindparam("first_hour"),
               _U.start_at < bindparam("end"))
        .group_by(_U.resource_id, _U.usage_type, _U.pricing_unit, _U.first_hour)
    )  # fmt: skip
    spanning = (
        select(_U.resource_id, _U.usage_type, _U.pricing_unit, _U.quantity_e10, _U.quantity,
               _U.unit, _U.start_at, _U.end_at, _U.first_hour, _U.last_hour)
        .outerjoin(usage_void, _V.seq == _U.seq)
        .where(live, _U.first_hour != _U.last_hour, _U.start_at >= bindparam("reach"),
               _U.start_at < bindparam("end"), _U.last_hour >= bindparam("first_hour"))
    )  # fmt: skip
    return sums, spanning


def _stored_running_statements_postgres():  # type: ignore[no-untyped-def]
    """PostgreSQL: the same two queries, each resource's records found through its index by
    a lateral subquery per id (OFFSET 0 keeps it from being flattened into a join), so that
    the plan does not depend on the table's statistics: `resource_id = ANY(...)` over a table
    that grew since it was last analyzed (a first file stored chunk after chunk) is planned
    as a scan of the whole table, and the scan grows with every chunk."""
    ids = (
        func.unnest(cast(bindparam("resource_ids"), ARRAY(Text)))
        .table_valued("id")
        .render_derived(name="ids")
    )

    def per_resource(*where):  # type: ignore[no-untyped-def]
        return select(usage_record).where(_U.resource_id == ids.c.id, *where).offset(0).lateral("u")

    inside = per_resource(_U.first_hour == _U.last_hour, _U.start_at >= bindparam("first_hour"),
                          _U.start_at < bindparam("end"))  # fmt: skip
    sums = (
        select(inside.c.resource_id, inside.c.usage_type, inside.c.pricing_unit,
               inside.c.first_hour, func.count(), exact_sum(inside.c.quantity_e10))
        .select_from(ids)
        .join(inside, true())
        .outerjoin(usage_void, _V.seq == inside.c.seq)
        .where(inside.c.usage_type == func.any(bindparam("usage_types")), _V.seq.is_(None))
        .group_by(inside.c.resource_id, inside.c.usage_type, inside.c.pricing_unit,
                  inside.c.first_hour)
    )  # fmt: skip
    across = per_resource(_U.first_hour != _U.last_hour, _U.start_at >= bindparam("reach"),
                          _U.start_at < bindparam("end"))  # fmt: skip
    spanning = (
        select(across.c.resource_id, across.c.usage_type, across.c.pricing_unit,
               across.c.quantity_e10, across.c.quantity, across.c.unit, across.c.start_at,
               across.c.end_at, across.c.first_hour, across.c.last_hour)
        .select_from(ids)
        .join(across, true())
        .outerjoin(usage_void, _V.seq == across.c.seq)
        .where(across.c.usage_type == func.any(bindparam("usage_types")), _V.seq.is_(None),
               across.c.last_hour >= bindparam("first_hour"))
    )  # fmt: skip
    return sums, spanning


_STATEMENTS: dict[str, tuple] = {}  # type: ignore[type-arg]


def stored_running(  # type: ignore[no-untyped-def]
    conn: Connection,
    resource_ids: Iterable[str],
    usage_types: Iterable[str],
    first_hour: datetime,
    last_hour: datetime,
    longest: timedelta,
):
    """What stored, unvoided records of these resources and usage types put on the clock
    hours `first_hour`..`last_hour`: (the records inside one hour, summed per resource, usage
    type, pricing unit and hour in the database; the few records spanning hours, whole, as
    far back as `longest` reaches, found through their partial index)."""
    wanted = sorted({r for r in resource_ids if isinstance(r, str)})
    if not wanted:
        return [], []
    statements = _STATEMENTS.get(conn.dialect.name)
    if statements is None:
        statements = _STATEMENTS[conn.dialect.name] = (
            _stored_running_statements_postgres()
            if conn.dialect.name == "postgresql"
            else _stored_running_statements(conn)
        )
    sums_sql, spanning_sql = statements
    window = {
        "resource_ids": set_param(conn, wanted),
        "usage_types": set_param(conn, sorted(set(usage_types))),
        "first_hour": first_hour,
        "end": last_hour + timedelta(hours=1),
        "reach": first_hour - longest,
    }
    return list(conn.execute(sums_sql, window)), list(conn.execute(spanning_sql, window))


def existing_hashes(conn: Connection, record_ids: Sequence[str]) -> dict[str, str]:
    """The stored fingerprint of each of these record ids that is stored: one query, the
    ids joined as a set (in_set)."""
    if not record_ids:
        return {}
    if conn.dialect.name == "postgresql":
        # An index probe per id, whatever the table's statistics say (see
        # _stored_running_statements_postgres): a record id is unique, LIMIT 1 changes no
        # answer and keeps the lookup a nested loop over the ids.
        sql = (
            f"SELECT u.record_id, u.payload_hash FROM unnest(%s::text[]) AS ids(id) "
            f"CROSS JOIN LATERAL (SELECT record_id, payload_hash FROM {usage_record.name} "
            f"WHERE record_id = ids.id LIMIT 1) u"
        )
    else:
        sql = (
            f"SELECT record_id, payload_hash FROM {usage_record.name} "
            "WHERE record_id IN (SELECT value FROM json_each(?))"
        )
    rows = conn.exec_driver_sql(sql, (set_param(conn, record_ids),))
    return dict(rows.fetchall())


RECORD_COLUMNS = (
    "record_id",
    "payload_hash",
    "customer_id",
    "resource_id",
    "usage_type",
    "quantity",
    "unit",
    "pricing_unit",
    "quantity_e10",
    "start_at",
    "end_at",
    "first_hour",
    "last_hour",
    "received_at",
    "spec",
)


def insert_records(conn: Connection, records: pa.Table, now: datetime) -> None:
    """Insert checked records (ingest/columns.VALID_SCHEMA) in their order, straight from
    their columns: instants as the driver takes them (SQLite: the text SQLAlchemy writes;
    PostgreSQL: naive UTC datetimes), converted in Arrow, not one by one."""
    if records.num_rows == 0:
        return
    received = UtcDateTime().process_bind_param(now, conn.dialect)
    names = [n for n in RECORD_COLUMNS if n != "received_at"]
    if conn.dialect.name == "postgresql":
        _copy_records(conn, records, names, received)
        return
    sqlite = conn.dialect.name == "sqlite"

    def instants(name: str) -> list[object]:
        column = records[name]
        if sqlite:  # SQLAlchemy's SQLite DATETIME text, microseconds always: Arrow's cast
            return column.cast(pa.timestamp("us")).cast(pa.string()).to_pylist()
        return column.cast(pa.timestamp("us")).to_pylist()

    if sqlite:
        received = _sqlite_datetime(received)
    values = [
        records[name].to_pylist() if name not in _INSTANTS else instants(name)
        for name in RECORD_COLUMNS
        if name != "received_at"
    ]
    rows = [(*row, received) for row in zip(*values, strict=True)]
    sql = (
        f"INSERT INTO {usage_record.name} ({', '.join(names)}, received_at) "
        f"VALUES ({', '.join(['?'] * (len(names) + 1))})"
    )
    conn.exec_driver_sql(sql, rows)


_INSTANTS = frozenset(("start_at", "end_at", "first_hour", "last_hour"))


def _copy_records(
    conn: Connection, records: pa.Table, names: list[str], received: datetime
) -> None:
    """PostgreSQL: COPY, its bulk path, in the caller's transaction, the rows written as CSV
    by Arrow (a row at a time through the driver's adapters cost three times the COPY
    itself). Instants as naive UTC, as UtcDateTime binds them; text always quoted, so that
    an empty text stays empty and only a missing value (an unquoted empty field) is NULL."""
    columns = [
        records[name].cast(pa.timestamp("us")) if name in _INSTANTS else records[name]
        for name in names
    ]
    columns.append(pa.array([received] * records.num_rows, pa.timestamp("us")))
    table = pa.Table.from_arrays(columns, names=[*names, "received_at"])
    buffer = io.BytesIO()
    pa_csv.write_csv(
        table, buffer, pa_csv.WriteOptions(include_header=False, quoting_style="needed")
    )
    sql = f"COPY {usage_record.name} ({', '.join(names)}, received_at) FROM STDIN WITH (FORMAT csv)"
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with as_sqlalchemy_errors(sql), cursor, cursor.copy(sql) as copy:
        copy.write(buffer.getbuffer())


def _sqlite_datetime(value: datetime) -> str:  # SQLAlchemy's SQLite DATETIME text
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")
