"""Ingestion SQL: bulk lookups in bounded chunks, bulk inserts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, select

from ..kernel.limits import SQL_IN_CHUNK
from ..store import gates
from ..store.bulk import insert_tuples
from ..store.schema import customer, resource, usage_record
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
            )
            .join(customer, customer.c.id == resource.c.customer_id)
            .where(resource.c.id.in_(part))
        )
        for row in rows:
            found[row.id] = ResourceFacts(*row)
    return found


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
            )
            for r in records
        ),
    )
