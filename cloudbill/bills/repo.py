"""Bill SQL: set-based sums over fee records, every list paged with a LIMIT.

Local days and months are buckets the service computes with zoneinfo (SQLite knows no time
zones); SQL sorts each `hour_start` into them with a CASE over their UTC starts, which is
portable and right across DST. PostgreSQL binds parameters server-side, so an expression with
parameters cannot be repeated in GROUP BY: bucketing happens in a subquery, grouping outside.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, case, func, literal, or_, select
from sqlalchemy.sql import ColumnElement, Select

from ..kernel.periods import Period
from ..store.schema import fee_record, package_usage, resource, resource_package
from .model import FeeGroup, FeeRecord, Figures, Item, PackageUse

FIGURE_COLUMNS = ("official", "discount", "amount", "coupon", "cash", "credit", "debt")
ITEM_COLUMNS = (
    "resource_id", "service", "resource_type", "spec", "region", "billing_mode", "usage_type",
    "pricing_unit", "bill_type",
)  # fmt: skip
RECORD_COLUMNS = (
    "trade_id", "line_no", "period_start", "period_end", "description",
)  # fmt: skip
# Records with the name of their resource ('' when they name none, e.g. some adjustments).
NAMED = fee_record.outerjoin(
    resource,
    and_(
        resource.c.id == fee_record.c.resource_id,
        resource.c.customer_id == fee_record.c.customer_id,
    ),
)
RESOURCE_NAME = func.coalesce(resource.c.name, "").label("resource_name")
# Hour order, then resource: the printed order of fee records; `id` makes it total.
ORDER = ("hour_start", "resource_id", "usage_type", "id")


def owner(customer_id: str, members: Sequence[str] = ()) -> ColumnElement[bool]:
    """A customer's own records and, for an enterprise master, those it paid for `members`
    (its active unified members: enterprise/accounting.py). The member stays the consumer."""
    c = fee_record.c
    if not members:
        return c.customer_id == customer_id
    return or_(
        c.customer_id == customer_id,
        and_(c.payer_id == customer_id, c.customer_id.in_(list(members))),
    )


def scope(
    customer_id: str,
    period: Period | None,
    *,
    members: Sequence[str] = (),
    resource_id: str | None = None,
    service: str | None = None,
    usage_type: str | None = None,
    billing_mode: str | None = None,
    bill_types: Sequence[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[ColumnElement[bool]]:
    """The WHERE of a customer's fee records: always the customer first, so no filter can reach
    another customer's rows (someone else's resource id simply matches nothing). `members`:
    see `owner`."""
    c = fee_record.c
    where = [owner(customer_id, members)]
    if period is not None:
        where += [c.hour_start >= period.start, c.hour_start < period.end]
    if start is not None:
        where.append(c.hour_start >= start)
    if end is not None:
        where.append(c.hour_start < end)
    for column, value in (
        ("resource_id", resource_id),
        ("service", service),
        ("usage_type", usage_type),
        ("billing_mode", billing_mode),
    ):
        if value is not None:
            where.append(c[column] == value)
    if bill_types is not None:
        where.append(c.bill_type.in_(list(bill_types)))
    return where


def _sums(source: Any) -> list[Any]:
    return [func.sum(source.c[f"{name}_units"]).label(name) for name in FIGURE_COLUMNS]


def _figures(row: Any) -> Figures:
    # PostgreSQL's SUM(bigint) is NUMERIC (a Decimal here): int() keeps it exact.
    values = {f"{name}_units": int(row._mapping[name] or 0) for name in FIGURE_COLUMNS}
    return Figures(**values)


def bucket(column: Any, starts: Sequence[tuple[str, datetime]]) -> ColumnElement[str]:
    """The label of the bucket `column` falls in; `starts` are (label, first instant), ordered.
    Rows before the first start are excluded by the caller's WHERE."""
    if len(starts) == 1:
        return literal(starts[0][0])
    whens = [(column < starts[i + 1][1], starts[i][0]) for i in range(len(starts) - 1)]
    return case(*whens, else_=starts[-1][0])


def totals(conn: Connection, where: list[ColumnElement[bool]]) -> tuple[Figures, int, set[str]]:
    """Exact sums, the number of records, and the currencies seen (MIN and MAX are enough to
    tell one currency from several)."""
    c = fee_record.c
    row = conn.execute(
        select(
            *_sums(fee_record),
            func.count().label("n"),
            func.min(c.currency).label("lo"),
            func.max(c.currency).label("hi"),
        ).where(*where)
    ).one()
    return _figures(row), int(row.n), {x for x in (row.lo, row.hi) if x is not None}


def breakdown_rows(
    conn: Connection, where: list[ColumnElement[bool]], dimension: str, *, limit: int
) -> list[tuple[str, Figures]]:
    key = fee_record.c[dimension]
    rows = conn.execute(
        select(key.label("key"), *_sums(fee_record))
        .where(*where)
        .group_by(key)
        .order_by(key)
        .limit(limit)
    ).all()
    return [(row.key, _figures(row)) for row in rows]


def _item(row: Any) -> Item:
    return Item(
        resource_name=row.resource_name, **{name: row._mapping[name] for name in ITEM_COLUMNS}
    )


def _fee_record(row: Any) -> FeeRecord:
    return FeeRecord(
        id=row.id,
        settlement_id=row.settlement_id,
        item=_item(row),
        hour_start=row.hour_start,
        is_late=bool(row.is_late),
        currency=row.currency,
        usage_e10=row.usage_e10,
        package_usage_e10=row.package_usage_e10,
        unit_price=row.unit_price,
        figures=Figures(**{f"{n}_units": row._mapping[f"{n}_units"] for n in FIGURE_COLUMNS}),
        charged_at=row.created_at,
        **{name: row._mapping[name] for name in RECORD_COLUMNS},
        customer_id=row.customer_id,
    )


def _records() -> Select[Any]:
    return select(fee_record, RESOURCE_NAME).select_from(NAMED)


def _count(conn: Connection, query: Select[Any]) -> int:
    return int(conn.execute(select(func.count()).select_from(query.subquery())).scalar_one())


def fee_records_page(
    conn: Connection, where: list[ColumnElement[bool]], *, limit: int, offset: int
) -> tuple[list[FeeRecord], int]:
    query = _records().where(*where)
    order = [fee_record.c[name] for name in ORDER]
    rows = conn.execute(query.order_by(*order).limit(limit).offset(offset)).all()
    total = conn.execute(select(func.count()).select_from(fee_record).where(*where)).scalar_one()
    return [_fee_record(r) for r in rows], int(total)


def fee_groups_page(
    conn: Connection,
    where: list[ColumnElement[bool]],
    days: Sequence[tuple[str, datetime]] | None,
    *,
    limit: int,
    offset: int,
) -> tuple[list[FeeGroup], int]:
    """Fee records summed per item, and per local day when `days` (label, UTC start) is given."""
    c = fee_record.c
    day = bucket(c.hour_start, days) if days else literal("")
    inner = select(
        *(c[name] for name in ITEM_COLUMNS),
        RESOURCE_NAME,
        c.currency, c.customer_id,
        *(c[f"{name}_units"] for name in FIGURE_COLUMNS),
        c.hour_start, c.usage_e10, c.package_usage_e10,
        case((c.is_late, 1), else_=0).label("late"),
        day.label("day"),
    ).select_from(NAMED).where(*where).subquery()  # fmt: skip
    keys = [
        inner.c.day,
        *(inner.c[name] for name in ITEM_COLUMNS),
        inner.c.resource_name,
        inner.c.currency,
        inner.c.customer_id,
    ]
    grouped = select(
        *keys,
        *_sums(inner),
        func.min(inner.c.hour_start).label("first_hour"),
        func.max(inner.c.hour_start).label("last_hour"),
        func.count().label("records"),
        func.sum(inner.c.late).label("late_records"),
        func.sum(inner.c.usage_e10).label("usage_e10"),
        func.sum(inner.c.package_usage_e10).label("package_usage_e10"),
    ).group_by(*keys)
    order = [inner.c.day, inner.c.resource_id, inner.c.usage_type, *keys[1:]]
    rows = conn.execute(grouped.order_by(*order).limit(limit).offset(offset)).all()
    return [_fee_group(r) for r in rows], _count(conn, grouped)


def _fee_group(row: Any) -> FeeGroup:
    return FeeGroup(
        item=_item(row),
        currency=row.currency,
        day=date.fromisoformat(row.day) if row.day else None,
        first_hour=row.first_hour,
        last_hour=row.last_hour,
        records=int(row.records),
        late_records=int(row.late_records or 0),
        usage_e10=int(row.usage_e10 or 0),
        package_usage_e10=int(row.package_usage_e10 or 0),
        figures=_figures(row),
        customer_id=row.customer_id,
    )


def package_usage_page(
    conn: Connection,
    customer_id: str,
    *,
    package_id: str | None,
    period: Period | None,
    limit: int,
    offset: int,
) -> tuple[list[PackageUse], int]:
    pu, rp = package_usage.c, resource_package.c
    query = (
        select(
            pu.id,
            pu.package_id,
            rp.name.label("package_name"),
            rp.usage_type,
            rp.pricing_unit,
            pu.resource_id,
            pu.hour_start,
            pu.period_start,
            pu.settlement_id,
            pu.quantity_e10,
        )
        .join_from(package_usage, resource_package, pu.package_id == rp.id)
        .where(pu.customer_id == customer_id, rp.customer_id == customer_id)
    )
    if package_id is not None:
        query = query.where(pu.package_id == package_id)
    if period is not None:
        query = query.where(pu.hour_start >= period.start, pu.hour_start < period.end)
    rows = conn.execute(query.order_by(pu.hour_start, pu.id).limit(limit).offset(offset)).all()
    items = [PackageUse(**dict(r._mapping)) for r in rows]
    return items, _count(conn, query)


def month_sums(
    conn: Connection,
    customer_id: str,
    months: Sequence[tuple[str, Period]],
    members: Sequence[str] = (),
) -> dict[str, tuple[int, int]]:
    """month label -> (amount, coupon) units over the window the months cover, in one query."""
    c = fee_record.c
    window = Period(months[0][1].start, months[-1][1].end)
    starts = [(label, period.start) for label, period in months]
    inner = (
        select(bucket(c.hour_start, starts).label("month"), c.amount_units, c.coupon_units)
        .where(*scope(customer_id, window, members=members))
        .subquery()
    )
    rows = conn.execute(
        select(
            inner.c.month,
            func.sum(inner.c.amount_units).label("amount"),
            func.sum(inner.c.coupon_units).label("coupon"),
        )
        .group_by(inner.c.month)
        .limit(len(months))
    ).all()
    return {r.month: (int(r.amount or 0), int(r.coupon or 0)) for r in rows}


def max_fee_id(conn: Connection, where: list[ColumnElement[bool]]) -> int:
    return int(conn.execute(select(func.max(fee_record.c.id)).where(*where)).scalar() or 0)


def export_chunk(
    conn: Connection,
    where: list[ColumnElement[bool]],
    *,
    after: FeeRecord | None,
    limit: int,
) -> list[FeeRecord]:
    """The next `limit` fee records in printed order after `after` (keyset paging: each chunk
    costs the same however deep the export is, and no row is skipped or repeated)."""
    c = fee_record.c
    query = _records().where(*where)
    if after is not None:
        h, r, u = after.hour_start, after.item.resource_id, after.item.usage_type
        query = query.where(
            c.hour_start >= h,
            or_(
                c.hour_start > h,
                c.resource_id > r,
                and_(c.resource_id == r, c.usage_type > u),
                and_(c.resource_id == r, c.usage_type == u, c.id > after.id),
            ),
        )
    order = [c[name] for name in ORDER]
    return [_fee_record(r) for r in conn.execute(query.order_by(*order).limit(limit)).all()]


def grouped_rows(
    conn: Connection, where: list[ColumnElement[bool]], dimensions: Sequence[str], *, limit: int
) -> list[tuple[tuple[str, ...], Figures]]:
    """Sums per combination of item columns (e.g. service and billing mode), in key order."""
    keys = [fee_record.c[name] for name in dimensions]
    rows = conn.execute(
        select(*keys, *_sums(fee_record)).where(*where).group_by(*keys).order_by(*keys).limit(limit)
    ).all()
    return [(tuple(row._mapping[name] for name in dimensions), _figures(row)) for row in rows]
