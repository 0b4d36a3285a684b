"""Hourly settlement: each hour is settled exactly once, in one transaction, after it ended plus
a lateness window. Usage that arrives after its hour was settled is billed by a later run as a
late adjustment: never lost, never billed twice (see settle/lines.py and the watermark)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from ..catalog import service as catalog_service
from ..kernel.periods import HOUR
from . import repo
from .lines import build_lines
from .pricing import price_lines
from .writer import write_settlement


@dataclass(frozen=True)
class SettleResult:
    hour: datetime
    settlement_id: int
    records: int
    late_records: int
    fees: int
    customers: int
    new_arrears: int


def due_hour(conn: Connection, *, now: datetime, lateness: timedelta, watermark: int):  # type: ignore[no-untyped-def]
    """(hour to settle next, the previous run) or (None, previous run) when nothing is due."""
    previous = repo.last_run(conn)
    hour = previous.hour_start + HOUR if previous else repo.first_hour(conn, watermark)
    if hour is None or hour + HOUR + lateness > now:
        return None, previous
    return hour, previous


def lag(conn: Connection, *, now: datetime, lateness: timedelta) -> tuple[datetime | None, float]:
    """The oldest hour not yet settled whose time has come (None if none), and how many
    seconds past its due time (hour end + lateness) it is: 0 when settlement keeps up."""
    previous = repo.last_run(conn)
    hour = previous.hour_start + HOUR if previous else repo.first_hour(conn, repo.max_seq(conn))
    if hour is None or hour + HOUR + lateness > now:
        return None, 0.0
    return hour, (now - (hour + HOUR + lateness)).total_seconds()


def settle_hour(
    conn: Connection, *, now: datetime, lateness: timedelta, watermark: int | None = None
) -> SettleResult | None:
    """Settle the next due hour, or return None (nothing due, or another worker is on it).

    `watermark`: the highest usage seq known to be committed (PostgreSQL reads it through the
    ingest gate before this transaction); on SQLite it is read here, writers being serial."""
    if not repo.try_settlement_lock(conn):
        return None
    last = repo.last_run(conn)
    floor = last.watermark_seq if last else 0
    wk = max(floor, watermark if watermark is not None else repo.max_seq(conn))
    hour, previous = due_hour(conn, now=now, lateness=lateness, watermark=wk)
    if hour is None:
        return None
    wprev = previous.watermark_seq if previous else 0
    lines = build_lines(
        repo.single_hour_sums(conn, wprev, wk, hour),
        repo.multi_hour_records(conn, wprev, wk, hour),
        hour=hour,
        previous_hour=previous.hour_start if previous else None,
        previous_watermark=wprev,
    )
    priced = price_lines(conn, catalog_service.active(conn), list(lines.values()), now=now)
    return write_settlement(
        conn, priced, hour=hour, watermark=wk, now=now, result_type=SettleResult
    )
