"""Cost SQL over the fee records: sums per group and local day or month, and the yearly/monthly
records an amortized query spreads. Always the customer first, so no filter reaches another
customer's rows; every read has a LIMIT and refuses, rather than truncates, what exceeds it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, func, not_, select
from sqlalchemy.sql import ColumnElement

from ..bills.repo import bucket, owner
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.limits import COSTS_ROWS_MAX, COSTS_SPREAD_RECORDS_MAX
from ..kernel.periods import Period
from ..store.schema import fee_record
from .model import COLUMN, Dimension, Filter
from .rules import SPREAD_BILL_TYPES

c = fee_record.c


@dataclass(frozen=True, slots=True)
class Spreadable:
    key: tuple[str, ...]
    amount_units: int
    official_units: int
    period_start: datetime
    period_end: datetime


def _spread_rows() -> ColumnElement[bool]:
    return and_(
        c.bill_type.in_(sorted(SPREAD_BILL_TYPES)),
        c.period_start.is_not(None),
        c.period_end.is_not(None),
    )


def _where(
    customer_id: str, members: Sequence[str], filters: Sequence[Filter]
) -> list[ColumnElement[bool]]:
    """The customer's records and, for an enterprise master, those it paid for `members` (its
    active unified members), as its bills hold them; then the filters."""
    where: list[ColumnElement[bool]] = [owner(customer_id, members)]
    for f in filters:
        column = c[COLUMN[f.dimension]]
        where.append(column.not_in(f.values) if f.exclude else column.in_(f.values))
    return where


def _amount(net: bool) -> ColumnElement[int]:
    return (c.amount_units - c.coupon_units) if net else c.amount_units


def _refuse_beyond(rows: Sequence[object], limit: int, what: str) -> None:
    if len(rows) > limit:
        raise CloudbillError(
            ErrorCode.LIMIT_EXCEEDED,
            f"the query reads more than {limit} {what}: narrow the range, grouping or filters",
        )


def on_day_sums(
    conn: Connection,
    customer_id: str,
    *,
    window: Period,
    starts: Sequence[tuple[str, datetime]],
    group_by: Sequence[Dimension],
    filters: Sequence[Filter],
    net: bool,
    without_spread: bool,
    members: Sequence[str] = (),
) -> list[tuple[tuple[str, ...], str, int, int]]:
    """(group key, bucket label, amount, official) of the records charged in the window, each
    in the bucket its `hour_start` falls in; `without_spread` leaves out what amortization
    spreads. Bucketing in a subquery, grouping outside (PostgreSQL binds parameters)."""
    where = _where(customer_id, members, filters)
    where += [c.hour_start >= window.start, c.hour_start < window.end]
    if without_spread:
        where.append(not_(_spread_rows()))
    names = [COLUMN[d] for d in group_by]
    inner = select(
        *(c[name] for name in names),
        bucket(c.hour_start, starts).label("bucket"),
        _amount(net).label("amount"),
        c.official_units.label("official"),
    ).where(*where).subquery()  # fmt: skip
    keys = [inner.c[name] for name in names]
    rows = conn.execute(
        select(
            *keys,
            inner.c.bucket,
            func.sum(inner.c.amount).label("amount"),
            func.sum(inner.c.official).label("official"),
        )
        .group_by(*keys, inner.c.bucket)
        .order_by(*keys, inner.c.bucket)
        .limit(COSTS_ROWS_MAX + 1)
    ).all()
    _refuse_beyond(rows, COSTS_ROWS_MAX, "group sums")
    # PostgreSQL's SUM(bigint) is NUMERIC (a Decimal here): int() keeps it exact.
    return [
        (tuple(row[: len(names)]), row.bucket, int(row.amount), int(row.official)) for row in rows
    ]


def spreadable(
    conn: Connection,
    customer_id: str,
    *,
    window: Period,
    group_by: Sequence[Dimension],
    filters: Sequence[Filter],
    net: bool,
    members: Sequence[str] = (),
) -> list[Spreadable]:
    """The yearly/monthly purchases whose period reaches into the window, wherever they were
    charged (a 3-year order bought long ago still costs something each day)."""
    names = [COLUMN[d] for d in group_by]
    where = _where(customer_id, members, filters)
    where += [_spread_rows(), c.period_start < window.end, c.period_end >= window.start]
    rows = conn.execute(
        select(
            *(c[name] for name in names),
            _amount(net).label("amount"),
            c.official_units.label("official"),
            c.period_start,
            c.period_end,
        )
        .where(*where)
        .order_by(c.id)
        .limit(COSTS_SPREAD_RECORDS_MAX + 1)
    ).all()
    _refuse_beyond(rows, COSTS_SPREAD_RECORDS_MAX, "yearly/monthly records")
    return [
        Spreadable(
            tuple(row[: len(names)]), int(row.amount), int(row.official),
            row.period_start, row.period_end,
        )
        for row in rows
    ]  # fmt: skip
