"""Hourly settlement: each hour is settled exactly once, in one transaction, after it ended plus
a lateness window. Usage that arrives after its hour was settled is billed by a later run as a
late adjustment: never lost, never billed twice (see settle/lines.py and the watermark)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from ..catalog import service as catalog_service
from ..kernel.periods import HOUR
from . import holds, repo
from .lines import Due, build_lines
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
    ingest gate before this transaction); on SQLite it is read here, writers being serial.

    A customer whose lines cannot be priced is held (holds.py) and the others are settled; a
    held customer's backlog is tried again in every run and settled by the first that can."""
    if not repo.try_settlement_lock(conn):
        return None
    last = repo.last_run(conn)
    floor = last.watermark_seq if last else 0
    wk = max(floor, watermark if watermark is not None else repo.max_seq(conn))
    hour, previous = due_hour(conn, now=now, lateness=lateness, watermark=wk)
    if hour is None:
        return None
    wprev = previous.watermark_seq if previous else 0
    held = holds.open_holds(conn)
    previous_hour = previous.hour_start if previous else None
    catalog = catalog_service.active(conn)
    factors = {code: unit.factor for code, unit in catalog.units.items()}
    lines = _due_lines(conn, wprev, wk, hour, factors, previous_hour=previous_hour)
    lines = {key: line for key, line in lines.items() if key[0] not in held}
    for row in held.values():
        lines.update(_backlog(conn, row, wk, hour, factors))
    priced = price_lines(conn, catalog, list(lines.values()), now=now)
    result = write_settlement(
        conn,
        priced,
        hour=hour,
        watermark=wk,
        now=now,
        result_type=SettleResult,
        arrears_at=_arrears_at(conn, hour + HOUR + lateness, wk, now),
    )
    failed = priced.failures
    holds.hold(
        conn,
        {cid: f for cid, f in failed.items() if cid not in held},
        hour=hour,
        watermark=wprev,
        now=now,
    )
    holds.still_failing(conn, held, {cid: f for cid, f in failed.items() if cid in held}, now=now)
    holds.release(
        conn,
        [row for cid, row in held.items() if cid not in failed],
        settlement_id=result.settlement_id,
        now=now,
    )
    return result


def _arrears_at(conn: Connection, due_at: datetime, watermark: int, now: datetime) -> datetime:
    """When fees this run leaves unpaid fell due: the hour's due time (a worker catching up
    after downtime stamps arrears, and so grace and freeze, when they would have been), but
    never before the newest usage it bills arrived, nor after now."""
    arrived = repo.received_at(conn, watermark)
    return min(now, max(due_at, arrived) if arrived else due_at)


def _due_lines(conn, wprev, wk, hour, factors, *, previous_hour, **scope):  # type: ignore[no-untyped-def]
    """The hour's lines; `factors` (base units per unit code) split records spanning hours."""
    voided_sums, voided_seqs = repo.voided_due(conn, wprev, wk, hour, **scope)
    due = Due(wprev, wk, hour, previous_hour, **scope)
    return build_lines(
        [*repo.single_hour_sums(conn, wprev, wk, hour, **scope), *voided_sums],
        repo.multi_hour_records(conn, wprev, wk, hour, **scope),
        unit_factors=factors,
        hour=hour,
        previous_hour=previous_hour,
        previous_watermark=wprev,
        voided_seqs=voided_seqs,
        due=due,
    )


def _backlog(conn: Connection, hold, wk: int, hour: datetime, factors):  # type: ignore[no-untyped-def]
    """What a held customer has not been billed, up to `hour`: every piece but those billed
    before the hold began (an hour before `since_hour`, a seq up to `since_watermark`)."""
    lines = _due_lines(
        conn,
        hold.since_watermark,
        wk,
        hour,
        factors,
        previous_hour=hold.since_hour - HOUR,
        since=hold.since_hour,
        customer_id=hold.customer_id,
    )
    for line in lines.values():
        line.is_late = line.is_late or line.hour < hour  # settled after its own hour's run
    return lines
