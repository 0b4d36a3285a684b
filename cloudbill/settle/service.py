"""Hourly settlement: each hour is settled exactly once, in one transaction, after it ended plus
a lateness window. Usage that arrives after its hour was settled is billed by a later run as a
late adjustment: never lost, never billed twice (see settle/lines.py and the watermark)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from ..catalog import service as catalog_service
from ..kernel.collection import paused_collection
from ..kernel.periods import HOUR
from . import holds, repo, shards
from .lines import Due, build_lines
from .pricing import price_lines
from .shards import Lease
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


def due_hour(  # type: ignore[no-untyped-def]
    conn: Connection, *, now: datetime, lateness: timedelta, watermark: int, shard: int = 0
):
    """(hour to settle next, the shard's previous run) or (None, previous run) if none is due."""
    previous = repo.last_run(conn, shard)
    hour = previous.hour_start + HOUR if previous else repo.first_hour(conn, watermark)
    if hour is None or hour + HOUR + lateness > now:
        return None, previous
    return hour, previous


def lag(conn: Connection, *, now: datetime, lateness: timedelta) -> tuple[datetime | None, float]:
    """The oldest hour not yet settled whose time has come (None if none), and how many
    seconds past its due time (hour end + lateness) it is: 0 when settlement keeps up. With
    shards, the shard furthest behind."""
    runs = repo.last_hours(conn)
    count = shards.layout(conn)
    if len(runs) >= count:
        hour = min(runs.values()) + HOUR
    else:  # a shard that never settled starts at the first hour
        hour = repo.first_hour(conn, repo.max_seq(conn))
    if hour is None or hour + HOUR + lateness > now:
        return None, 0.0
    return hour, (now - (hour + HOUR + lateness)).total_seconds()


@paused_collection()  # millions of short-lived rows and lines: see kernel/collection.py
def settle_hour(
    conn: Connection,
    *,
    now: datetime,
    lateness: timedelta,
    watermark: int | None = None,
    lease: Lease | None = None,
) -> SettleResult | None:
    """Settle the next due hour of one shard (`lease`; the only shard without one), or return
    None (nothing due, or another worker is on the shard).

    `watermark`: the highest usage seq known to be committed (PostgreSQL reads it through the
    ingest gate before this transaction); on SQLite it is read here, writers being serial.
    Each shard keeps its own runs and watermarks: they speak for its own customers only.

    A customer whose lines cannot be priced is held (holds.py) and the others are settled; a
    held customer's backlog is tried again in every run and settled by the first that can."""
    if not (shards.take(conn, lease) if lease is not None else shards.lock_single(conn)):
        return None
    shard, count = (lease.shard, lease.shards) if lease is not None else (0, 1)
    scope = {"shard": (shard, count)} if count > 1 else {}
    last = repo.last_run(conn, shard)
    floor = last.watermark_seq if last else 0
    wk = max(floor, watermark if watermark is not None else repo.max_seq(conn))
    hour, previous = due_hour(conn, now=now, lateness=lateness, watermark=wk, shard=shard)
    if hour is None:
        return None
    wprev = previous.watermark_seq if previous else 0
    held = holds.open_holds(conn)
    if count > 1:
        held = {cid: row for cid, row in held.items() if shards.shard_of(cid, count) == shard}
    previous_hour = previous.hour_start if previous else None
    catalog = catalog_service.active(conn)
    factors = {code: unit.factor for code, unit in catalog.units.items()}
    lines = _due_lines(conn, wprev, wk, hour, factors, previous_hour=previous_hour, **scope)
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
        shard=shard,
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


def _due_lines(conn, wprev, wk, hour, factors, *, previous_hour, shard=None, **scope):  # type: ignore[no-untyped-def]
    """The hour's lines; `factors` (base units per unit code) split records spanning hours.
    `shard`: (shard, shards) to read only that shard's customers."""
    voided_sums, voided_seqs = repo.voided_due(conn, wprev, wk, hour, shard=shard, **scope)
    due = Due(wprev, wk, hour, previous_hour, **scope)
    return build_lines(
        [*repo.single_hour_sums(conn, wprev, wk, hour, shard=shard, **scope), *voided_sums],
        repo.multi_hour_records(conn, wprev, wk, hour, shard=shard, **scope),
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
