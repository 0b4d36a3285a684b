"""Settlement SQL: what an hour needs (usage, resources, customers, packages, coupons) in
set-based queries, id sets bound as one parameter (store/id_sets.py), and row locks in a fixed
order (customers, then accounts)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, String, and_, exists, func, insert, select, type_coerce

from ..kernel.limits import FETCH_ROWS, PAGE_SIZE_MAX
from ..kernel.periods import HOUR
from ..store.id_sets import among
from ..store.schema import (
    cash_coupon,
    customer,
    fee_record,
    package_period,
    resource,
    resource_package,
    settlement_run,
    usage_record,
    usage_void,
)
from ..store.types import UtcDateTime
from .lines import record_split
from .priced import AsRated
from .shards import customer_clause


def last_run(conn: Connection, shard: int = 0):  # type: ignore[no-untyped-def]
    return conn.execute(
        select(settlement_run)
        .where(settlement_run.c.shard == shard)
        .order_by(settlement_run.c.hour_start.desc())
        .limit(1)
    ).first()


def last_hours(conn: Connection) -> dict[int, datetime]:
    """The last settled hour of each shard that has settled one."""
    s = settlement_run.c
    return dict(conn.execute(select(s.shard, func.max(s.hour_start)).group_by(s.shard)).all())


def list_runs(conn: Connection, *, limit: int, offset: int):  # type: ignore[no-untyped-def]
    """Settled hours, newest first: (total, rows)."""
    total = conn.execute(select(func.count()).select_from(settlement_run)).scalar_one()
    rows = conn.execute(
        select(settlement_run)
        .order_by(settlement_run.c.hour_start.desc())
        .limit(min(limit, PAGE_SIZE_MAX))
        .offset(offset)
    ).all()
    return total, rows


def max_seq(conn: Connection) -> int:
    return conn.execute(select(func.coalesce(func.max(usage_record.c.seq), 0))).scalar_one()


def received_at(conn: Connection, seq: int) -> datetime | None:
    return conn.execute(
        select(usage_record.c.received_at).where(usage_record.c.seq == seq)
    ).scalar()


def first_hour(conn: Connection, watermark: int) -> datetime | None:
    return conn.execute(
        select(func.min(usage_record.c.first_hour)).where(usage_record.c.seq <= watermark)
    ).scalar()


def _due_clause(  # type: ignore[no-untyped-def]
    wprev: int, wk: int, hour: datetime, *, since: datetime | None = None, **scope
):
    """Records with something left to bill up to `hour`: new since the last run (any hour up
    to `hour`), or older ones that reach into `hour` (they were not due before). A held
    customer's backlog (`customer_id`) reaches back to the hour its hold began (`since`)."""
    u = usage_record.c
    clause = and_(
        u.seq <= wk,
        u.first_hour <= hour,
        (u.seq > wprev) | (u.last_hour >= (hour if since is None else since)),
    )
    return _scoped(clause, **scope)


def _scoped(  # type: ignore[no-untyped-def]
    clause, *, customer_id: str | None = None, shard: tuple[int, int] | None = None
):
    """`clause` for one customer (`customer_id`) or one shard's customers (`shard`: (shard,
    shards)), or as it is."""
    u = usage_record.c
    if shard is not None:
        clause = and_(clause, customer_clause(u.customer_id, *shard))
    return clause if customer_id is None else and_(clause, u.customer_id == customer_id)


# SQLite's sum() of integers fails the whole query on overflow (one customer's enormous
# records would stop every settlement): it sums the high and low 32 bits apart, exactly, and
# Python joins them. PostgreSQL sums BIGINT as NUMERIC, which cannot overflow.
_LOW_BITS = 2**32


def _split_sum(conn: Connection, q):  # type: ignore[no-untyped-def]
    """sum(q) of a non-negative integer column, as one or two columns (see _joined_sum)."""
    if conn.dialect.name == "sqlite":
        return [func.sum(q // _LOW_BITS), func.sum(q % _LOW_BITS)]
    return [func.sum(q)]


def _quantity_sum(conn: Connection):  # type: ignore[no-untyped-def]
    return _split_sum(conn, usage_record.c.quantity_e10)


def _joined_sum(parts: Sequence) -> int:  # type: ignore[type-arg]
    return int(parts[0]) if len(parts) == 1 else int(parts[0]) * _LOW_BITS + int(parts[1])


def _single_hour_due(  # type: ignore[no-untyped-def]
    wprev: int, wk: int, hour: datetime, *, since: datetime | None = None, **scope
):
    """`_due_clause` for records inside one hour, as disjoint clauses, one statement each.

    Without a backlog (`since`), a record seen by the last run (seq <= wprev) is due only if
    it is in `hour` itself: `last_hour = hour` is one range of the last_hour index in seq
    order, where the OR of `_due_clause` made SQLite walk that index over the whole hour a
    second time (a third of the hour's sums query, measured on W1)."""
    if since is not None:
        return [_due_clause(wprev, wk, hour, since=since, **scope)]
    u = usage_record.c
    new = and_(u.seq > wprev, u.seq <= wk, u.first_hour <= hour)
    seen = and_(u.seq <= wprev, u.last_hour == hour, u.first_hour == hour)
    return [_scoped(clause, **scope) for clause in (new, seen)]


def single_hour_sums(conn: Connection, wprev: int, wk: int, hour: datetime, **scope):  # type: ignore[no-untyped-def]
    """Records inside one clock hour, summed in the database: the bulk of all usage. A key
    can come twice (from records new since the last run and from ones it saw): build_lines
    adds them up.

    Grouped resource first: the database sorts a million records by the group's columns, and
    comparisons that tell two records apart at the first column are the cheap ones. The hour
    comes back as the driver gives it and is converted once per distinct value (an hour's
    records fall in few hours), not once per group."""
    u = usage_record.c
    rows = []
    for clause in _single_hour_due(wprev, wk, hour, **scope):
        rows += conn.execute(
            select(
                u.customer_id,
                u.resource_id,
                u.usage_type,
                u.pricing_unit,
                type_coerce(u.first_hour, String),
                u.spec,
                func.count(),
                *_quantity_sum(conn),
            )
            .where(clause, u.first_hour == u.last_hour)
            .group_by(
                u.resource_id, u.usage_type, u.pricing_unit, u.first_hour, u.spec, u.customer_id
            )
        ).all()
    instants: dict[object, datetime | None] = {}
    as_instant = UtcDateTime().process_result_value
    for row in rows:
        if row[4] not in instants:
            instants[row[4]] = as_instant(row[4], conn.dialect)
    one = {}.setdefault  # each repeated text (customer, usage type, unit, spec) kept once
    return [
        (one(c, c), rid, one(ut, ut), one(pu, pu), instants[h], _joined_sum(q), n, one(sp, sp))
        for c, rid, ut, pu, h, sp, n, *q in rows
    ]


MULTI_HOUR_COLUMNS = (
    "seq",
    "customer_id",
    "resource_id",
    "usage_type",
    "pricing_unit",
    "quantity_e10",
    "start_at",
    "end_at",
    "first_hour",
    "last_hour",
    "quantity",  # as sent, in `unit`: each hour's piece is truncated from it (rate/rules.py)
    "unit",
    "spec",
)


def multi_hour_records(conn: Connection, wprev: int, wk: int, hour: datetime, **scope):  # type: ignore[no-untyped-def]
    u = usage_record.c
    return conn.execute(
        select(*(u[name] for name in MULTI_HOUR_COLUMNS)).where(
            _due_clause(wprev, wk, hour, **scope), u.first_hour != u.last_hour
        )
    ).all()


def voided_due(conn: Connection, wprev: int, wk: int, hour: datetime, **scope):  # type: ignore[no-untyped-def]
    """The voided records among those due: (single-hour ones to take out of the sums, the
    seqs of multi-hour ones to skip). Few or none: voids are rare, and only this reads them.
    Looked up void by void (`seq IN`): as a join, SQLite read the hour's records first (a
    quarter of a second for a million) to find none."""
    u = usage_record.c
    rows = conn.execute(
        select(*(u[name] for name in MULTI_HOUR_COLUMNS)).where(
            u.seq.in_(select(usage_void.c.seq)), _due_clause(wprev, wk, hour, **scope)
        )
    ).all()
    single = [
        (
            r.customer_id,
            r.resource_id,
            r.usage_type,
            r.pricing_unit,
            r.first_hour,
            -r.quantity_e10,
            -1,
            r.spec,
        )
        for r in rows
        if r.first_hour == r.last_hour
    ]
    return single, {r.seq for r in rows if r.first_hour != r.last_hour}


def line_pieces(conn: Connection, line, unit_factors):  # type: ignore[no-untyped-def]
    """A line's own usage in its hour, record by record: [(start, end, quantity_e10)] summing to
    the line's usage. Only asked for the rare line whose hour a package starts, ends or resets
    in: the same records the run summed (due, not voided, not billed before), cut to the hour."""
    due, u = line.due, usage_record.c
    assert due is not None, "a line built from the database knows which records are due"
    hour_end = line.hour + HOUR
    rows = conn.execute(
        select(*(u[name] for name in MULTI_HOUR_COLUMNS)).where(
            _due_clause(
                due.previous_watermark,
                due.watermark,
                due.hour,
                since=due.since,
                customer_id=due.customer_id,
            ),
            u.resource_id == line.resource_id,
            u.start_at < hour_end,  # uses ix_usage_record_resource
            u.customer_id == line.customer_id,
            u.usage_type == line.usage_type,
            u.pricing_unit == line.pricing_unit,
            u.spec.is_(None) if line.spec is None else u.spec == line.spec,
            u.first_hour <= line.hour,
            u.last_hour >= line.hour,
            ~exists().where(usage_void.c.seq == u.seq),
        )
    ).all()
    pieces = []
    for r in rows:
        if r.first_hour == r.last_hour:
            pieces.append((r.start_at, r.end_at, r.quantity_e10))
            continue
        billed_before = (
            due.previous_hour is not None
            and line.hour <= due.previous_hour
            and r.seq <= due.previous_watermark
        )
        if billed_before:  # as settle/lines.py leaves it out
            continue
        part = dict(record_split(r.start_at, r.end_at, r.first_hour, r.last_hour, r.quantity_e10,
                                 r.quantity, r.unit, r.pricing_unit, unit_factors))  # fmt: skip
        pieces.append((max(r.start_at, line.hour), min(r.end_at, hour_end), part[line.hour]))
    return pieces


def lock_customers(conn: Connection, ids: Iterable[str]) -> dict[str, object]:
    """Load and, on PostgreSQL, row-lock customers in id order (one order: no deadlock)."""
    query = select(customer).where(among(conn, customer.c.id, ids)).order_by(customer.c.id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(key_share=True)
    return {r.id: r for r in conn.execute(query).all()}  # all(): one fetch, not one a row


def resources(conn: Connection, ids: Iterable[str]) -> dict[str, AsRated]:
    """The resources' facts as rating uses them. A million resources repeat a few hundred
    services, types, specs and regions: each text is kept once, not once per resource."""
    r = resource.c
    query = select(r.id, r.service, r.resource_type, r.spec, r.region)
    one = {}.setdefault
    found = {}
    # fetched in parts (a fetch a row costs more; all at once would hold a million rows)
    for part in conn.execute(query.where(among(conn, r.id, ids))).partitions(FETCH_ROWS):
        for rid, service, rtype, spec, region in part:
            found[rid] = AsRated(rid, one(service, service), one(rtype, rtype), one(spec, spec),
                                 one(region, region))  # fmt: skip
    return found


def packages(conn: Connection, customer_ids: Iterable[str], since: datetime, until: datetime):  # type: ignore[no-untyped-def]
    p = resource_package.c
    return conn.execute(
        select(resource_package).where(
            among(conn, p.customer_id, customer_ids), p.valid_from < until, p.valid_to > since
        )
    ).all()


def package_periods(
    conn: Connection, package_ids: Iterable[str]
) -> dict[tuple[str, datetime], int]:
    rows = conn.execute(
        select(package_period).where(among(conn, package_period.c.package_id, package_ids))
    )
    return {(r.package_id, r.period_start): r.used_e10 for r in rows}


def coupons(conn: Connection, customer_ids: Iterable[str]):  # type: ignore[no-untyped-def]
    c = cash_coupon.c
    query = (
        select(cash_coupon)
        .where(among(conn, c.customer_id, customer_ids), c.status == "active", c.balance_units > 0)
        .order_by(c.id)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(key_share=True)
    return conn.execute(query).all()


def billed_this_month(
    conn: Connection, keys: Sequence[tuple[str, str, str, str, datetime, datetime]]
) -> dict[tuple[str, str, str, str, datetime], int]:
    """Quantity already billed (after packages) per customer, priced item and month, for tiers.

    keys: (customer, resource type, spec, usage type, month start, month end) in UTC. One
    grouped query per month window and chunk of customers, not one per key."""
    f = fee_record.c
    wanted = set(keys)
    windows: dict[tuple[datetime, datetime], set[str]] = {}
    for cid, _rtype, _spec, _usage, start, end in wanted:
        windows.setdefault((start, end), set()).add(cid)
    totals = {(cid, rtype, spec, usage, start): 0 for cid, rtype, spec, usage, start, _ in wanted}
    for (start, end), customer_ids in windows.items():
        rows = conn.execute(
            select(
                f.customer_id,
                f.resource_type,
                f.spec,
                f.usage_type,
                *_split_sum(conn, f.usage_e10 - f.package_usage_e10),
            )
            .where(
                among(conn, f.customer_id, customer_ids), f.hour_start >= start, f.hour_start < end
            )
            .group_by(f.customer_id, f.resource_type, f.spec, f.usage_type)
        )
        for cid, rtype, spec, usage, *total in rows:
            key = (cid, rtype, spec, usage, start)
            if key in totals:
                totals[key] = _joined_sum(total)
    return totals


def insert_run(conn: Connection, values: dict[str, object]) -> int:
    return conn.execute(insert(settlement_run).values(**values)).inserted_primary_key[0]


def insert_rows(conn: Connection, table, rows: list[dict[str, object]]) -> None:  # type: ignore[no-untyped-def]
    if rows:
        conn.execute(insert(table), rows)


def execute_many(conn: Connection, statement, rows: list[dict[str, object]]) -> None:  # type: ignore[no-untyped-def]
    if rows:
        conn.execute(statement, rows)


def decode_list(value: str | None) -> frozenset[str] | None:
    return None if value is None else frozenset(json.loads(value))
