"""Ingestion SQL: bulk lookups in bounded chunks, bulk inserts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, bindparam, func, select

from ..kernel.limits import SQL_IN_CHUNK
from ..store import gates
from ..store.bulk import insert_tuples
from ..store.schema import customer, resource, usage_record, usage_void
from ..store.types import exact_sum
from .model import ResourceFacts, ValidRecord


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


# Built once, the id and type lists bound at execution ("expanding"): a statement built
# afresh with 900 literal ids costs more in Python than the query takes in the database.
_U = usage_record.c
_LIVE = and_(
    _U.resource_id.in_(bindparam("resource_ids", expanding=True)),
    _U.usage_type.in_(bindparam("usage_types", expanding=True)),
    usage_void.c.seq.is_(None),
)
_SINGLE_HOUR_SUMS = (
    select(_U.resource_id, _U.usage_type, _U.pricing_unit, _U.first_hour, func.count(),
           exact_sum(_U.quantity_e10))
    .outerjoin(usage_void, usage_void.c.seq == _U.seq)
    .where(_LIVE, _U.first_hour == _U.last_hour, _U.start_at >= bindparam("first_hour"),
           _U.start_at < bindparam("end"))
    .group_by(_U.resource_id, _U.usage_type, _U.pricing_unit, _U.first_hour)
)  # fmt: skip
_SPANNING = (
    select(_U.resource_id, _U.usage_type, _U.pricing_unit, _U.quantity_e10, _U.quantity,
           _U.unit, _U.start_at, _U.end_at, _U.first_hour, _U.last_hour)
    .outerjoin(usage_void, usage_void.c.seq == _U.seq)
    .where(_LIVE, _U.first_hour != _U.last_hour, _U.start_at >= bindparam("reach"),
           _U.start_at < bindparam("end"), _U.last_hour >= bindparam("first_hour"))
)  # fmt: skip


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
    window = {
        "usage_types": sorted(set(usage_types)),
        "first_hour": first_hour,
        "end": last_hour + timedelta(hours=1),
        "reach": first_hour - longest,
    }
    sums, spanning = [], []
    for part in chunks(wanted):
        sums.extend(conn.execute(_SINGLE_HOUR_SUMS, {**window, "resource_ids": list(part)}))
        spanning.extend(conn.execute(_SPANNING, {**window, "resource_ids": list(part)}))
    return sums, spanning


def existing_hashes(conn: Connection, record_ids: Iterable[str]) -> dict[str, str]:
    wanted = sorted(set(record_ids))
    found: dict[str, str] = {}
    for part in chunks(wanted):
        rows = conn.execute(
            select(usage_record.c.record_id, usage_record.c.payload_hash).where(
                usage_record.c.record_id.in_(part)
            )
        )
        found.update(dict(rows.all()))
    return found


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


def insert_records(conn: Connection, records: Sequence[ValidRecord], now: datetime) -> None:
    insert_tuples(
        conn,
        usage_record,
        RECORD_COLUMNS,
        (
            (
                r.record_id,
                r.payload_hash,
                r.customer_id,
                r.resource_id,
                r.usage_type,
                r.quantity,
                r.unit,
                r.pricing_unit,
                r.quantity_e10,
                r.start_at,
                r.end_at,
                r.first_hour,
                r.last_hour,
                now,
                r.spec,
            )
            for r in records
        ),
    )
