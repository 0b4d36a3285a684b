"""A month's expenditure records as CSV, streamed in chunks so memory stays bounded at any size.

Validation (customer, month) happens in `plan_export`, before a byte is written, so a bad
request fails cleanly instead of leaving half a file or a half-sent HTTP body.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import Connection
from sqlalchemy.sql import ColumnElement

from ..kernel.periods import zone
from ..store.schema import fee_record
from . import repo
from .model import EXPORT_CHUNK_ROWS, FIGURES, FeeRecord
from .service import customer_of, month_bounds, viewed
from .views import fee_record_view

COLUMNS = (
    "id", "hour_start", "hour_start_local", "bill_type", "resource_id", "resource_name",
    "service", "resource_type", "spec", "region", "billing_mode", "usage_type", "pricing_unit",
    "usage", "package_usage", "unit_price", *FIGURES, "currency", "is_late", "settlement_id",
    "trade_id", "order_id", "period_start", "period_end", "charged_at", "description",
    "customer_id",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ExportPlan:
    customer_id: str
    month: str
    timezone: str
    where: list[ColumnElement[bool]]

    @property
    def filename(self) -> str:
        return f"cloudbill-{self.customer_id}-{self.month}.csv"


def plan_export(
    conn: Connection, customer_id: str, month: str, *, member_id: str | None = None
) -> ExportPlan:
    """Check the request and fix the set of rows: the month's records that exist now.

    Fee records are append-only with increasing ids, so bounding by today's highest id keeps a
    long-running export (or one resumed in a new transaction) to one well-defined set.
    """
    customer = customer_of(conn, customer_id)
    label, period = month_bounds(customer, month)
    consumer, members = viewed(conn, customer, member_id)
    where = repo.scope(consumer, period, members=members)
    high_water = repo.max_fee_id(conn, where)
    return ExportPlan(
        customer.id, label, customer.timezone, [*where, fee_record.c.id <= high_water]
    )


def _row(record: FeeRecord, tz: ZoneInfo) -> list[str]:
    view = fee_record_view(record)
    view["hour_start_local"] = record.hour_start.astimezone(tz).isoformat()
    view["is_late"] = "true" if record.is_late else "false"
    return ["" if view[column] is None else str(view[column]) for column in COLUMNS]


def _chunks(conn: Connection, plan: ExportPlan, chunk_size: int) -> Iterator[tuple[str, int]]:
    if not 1 <= chunk_size <= EXPORT_CHUNK_ROWS * 10:
        raise ValueError("chunk_size out of range")
    tz = zone(plan.timezone)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    yield buffer.getvalue(), 0
    last: FeeRecord | None = None
    while True:
        records = repo.export_chunk(conn, plan.where, after=last, limit=chunk_size)
        if not records:
            return
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(_row(r, tz) for r in records)
        yield buffer.getvalue(), len(records)
        if len(records) < chunk_size:
            return
        last = records[-1]


def csv_chunks(
    conn: Connection, plan: ExportPlan, *, chunk_size: int = EXPORT_CHUNK_ROWS
) -> Iterator[str]:
    """The header, then one CSV text per chunk of at most `chunk_size` records, in hour then
    resource order, fetched by keyset paging (never the whole month at once)."""
    for text, _count in _chunks(conn, plan, chunk_size):
        yield text


def export_month_csv(
    conn: Connection,
    customer_id: str,
    month: str,
    out: TextIO,
    *,
    chunk_size: int = EXPORT_CHUNK_ROWS,
    member_id: str | None = None,
) -> int:
    """Write the month's fee records as CSV to `out`; returns how many records were written."""
    plan = plan_export(conn, customer_id, month, member_id=member_id)
    written = 0
    for text, count in _chunks(conn, plan, chunk_size):
        out.write(text)
        written += count
    return written
