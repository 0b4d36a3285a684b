"""Order SQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from ..store.schema import customer_order, ledger_transaction, order_coupon, order_line
from .model import Order, OrderLine, OrderSource, OrderStatus, OrderType

_LINE_FIELDS = tuple(OrderLine.__dataclass_fields__)


def _line(row) -> OrderLine:  # type: ignore[no-untyped-def]
    return OrderLine(**{name: getattr(row, name) for name in _LINE_FIELDS})


def _order(row, lines, coupons) -> Order:  # type: ignore[no-untyped-def]
    return Order(
        id=row.id,
        customer_id=row.customer_id,
        order_type=OrderType(row.order_type),
        status=OrderStatus(row.status),
        source=OrderSource(row.source),
        currency=row.currency,
        official_units=row.official_units,
        discount_units=row.discount_units,
        amount_units=row.amount_units,
        coupon_units=row.coupon_units,
        cash_units=row.cash_units,
        credit_units=row.credit_units,
        fee_units=row.fee_units,
        reference=row.reference,
        pay_reference=row.pay_reference,
        ledger_transaction_id=row.ledger_transaction_id,
        created_at=row.created_at,
        payment_deadline=row.payment_deadline,
        paid_at=row.paid_at,
        closed_at=row.closed_at,
        close_reason=row.close_reason,
        auto_renew=row.auto_renew,
        expire_policy=row.expire_policy,
        lines=tuple(lines),
        coupons=tuple(coupons),
    )


def get(conn: Connection, order_id: str, *, lock: bool = False) -> Order | None:
    query = select(customer_order).where(customer_order.c.id == order_id)
    row = conn.execute(query.with_for_update(key_share=True) if lock else query).first()
    if row is None:
        return None
    return with_lines(conn, [row])[0]


def with_lines(conn: Connection, rows) -> list[Order]:  # type: ignore[no-untyped-def]
    ids = [row.id for row in rows]
    lines: dict[str, list[OrderLine]] = {i: [] for i in ids}
    coupons: dict[str, list[tuple[int, str, int]]] = {i: [] for i in ids}
    if ids:
        for row in conn.execute(
            select(order_line)
            .where(order_line.c.order_id.in_(ids))
            .order_by(order_line.c.order_id, order_line.c.line_no)
        ):
            lines[row.order_id].append(_line(row))
        for row in conn.execute(
            select(order_coupon).where(order_coupon.c.order_id.in_(ids)).order_by(order_coupon.c.id)
        ):
            coupons[row.order_id].append((row.line_no, row.coupon_id, row.amount_units))
    return [_order(row, lines[row.id], coupons[row.id]) for row in rows]


def by_reference(conn: Connection, customer_id: str, reference: str):  # type: ignore[no-untyped-def]
    return conn.execute(
        select(customer_order.c.id, customer_order.c.request_hash).where(
            customer_order.c.customer_id == customer_id, customer_order.c.reference == reference
        )
    ).first()


def insert_order(conn: Connection, values: dict[str, Any], lines: list[dict[str, Any]]) -> None:
    conn.execute(insert(customer_order).values(values))
    conn.execute(insert(order_line), [{"order_id": values["id"], **line} for line in lines])


def update_order(conn: Connection, order_id: str, **values: Any) -> None:
    conn.execute(update(customer_order).where(customer_order.c.id == order_id).values(values))


def update_line(conn: Connection, order_id: str, line_no: int, **values: Any) -> None:
    conn.execute(
        update(order_line)
        .where(order_line.c.order_id == order_id, order_line.c.line_no == line_no)
        .values(values)
    )


def add_coupon_uses(conn: Connection, order_id: str, uses: list[tuple[int, str, int]]) -> None:
    if uses:
        conn.execute(
            insert(order_coupon),
            [
                {"order_id": order_id, "line_no": n, "coupon_id": c, "amount_units": a}
                for n, c, a in uses
            ],
        )


def list_orders(
    conn: Connection,
    *,
    customer_id: str,
    status: str | None,
    order_type: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Order], int]:
    where = [customer_order.c.customer_id == customer_id]
    if status is not None:
        where.append(customer_order.c.status == status)
    if order_type is not None:
        where.append(customer_order.c.order_type == order_type)
    total = conn.execute(select(func.count()).select_from(customer_order).where(*where)).scalar()
    rows = conn.execute(
        select(customer_order)
        .where(*where)
        .order_by(customer_order.c.created_at.desc(), customer_order.c.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return with_lines(conn, rows), int(total or 0)


def pending_for_resources(conn: Connection, resource_ids: list[str]) -> dict[str, str]:
    """resource id -> the pending order that names it (one at most may be pending)."""
    rows = conn.execute(
        select(order_line.c.resource_id, customer_order.c.id)
        .join(customer_order, customer_order.c.id == order_line.c.order_id)
        .where(
            customer_order.c.status == str(OrderStatus.PENDING_PAYMENT),
            order_line.c.resource_id.in_(resource_ids),
        )
    ).all()
    return {row.resource_id: row.id for row in rows}


def paid_lines(conn: Connection, resource_id: str):  # type: ignore[no-untyped-def]
    """The paid (or refunded: a downgrade) lines of a resource with their order's type, but
    those an unsubscription settled (a resource changed to pay-per-use at once and bought again
    starts afresh; a renewal given back before it began no longer counts), and none before its
    latest purchase or conversion to yearly/monthly: a term that ended in a change to
    pay-per-use at expiry is settled too."""
    latest_start = (
        select(func.coalesce(func.max(order_line.c.id), 0))
        .join(customer_order, customer_order.c.id == order_line.c.order_id)
        .where(
            order_line.c.resource_id == resource_id,
            customer_order.c.order_type.in_([str(OrderType.NEW), str(OrderType.CONVERSION)]),
            customer_order.c.status.in_([str(OrderStatus.PAID), str(OrderStatus.REFUNDED)]),
        )
        .scalar_subquery()
    )
    return conn.execute(
        select(order_line, customer_order.c.order_type)
        .join(customer_order, customer_order.c.id == order_line.c.order_id)
        .where(
            order_line.c.id >= latest_start,
            order_line.c.settled_by.is_(None),
            order_line.c.resource_id == resource_id,
            customer_order.c.status.in_([str(OrderStatus.PAID), str(OrderStatus.REFUNDED)]),
            customer_order.c.order_type != str(OrderType.UNSUBSCRIPTION),
        )
        .order_by(order_line.c.id)
    ).all()


def coupon_parts(conn: Connection, order_ids: list[str], resource_id: str) -> dict[str, int]:
    """coupon id -> net value it paid for a resource's lines (uses minus what was given back)."""
    rows = conn.execute(
        select(order_coupon.c.coupon_id, func.sum(order_coupon.c.amount_units))
        .join(
            order_line,
            (order_line.c.order_id == order_coupon.c.order_id)
            & (order_line.c.line_no == order_coupon.c.line_no),
        )
        .where(order_coupon.c.order_id.in_(order_ids), order_line.c.resource_id == resource_id)
        .group_by(order_coupon.c.coupon_id)
    ).all()
    return {row[0]: int(row[1]) for row in rows}


def line_coupon_parts(conn: Connection, resource_id: str) -> dict[tuple[str, int], dict[str, int]]:
    """(order id, line no) -> coupon id -> net value it paid for that line of a resource (uses
    minus what was given back on it)."""
    rows = conn.execute(
        select(
            order_coupon.c.order_id,
            order_coupon.c.line_no,
            order_coupon.c.coupon_id,
            func.sum(order_coupon.c.amount_units),
        )
        .join(
            order_line,
            (order_line.c.order_id == order_coupon.c.order_id)
            & (order_line.c.line_no == order_coupon.c.line_no),
        )
        .where(order_line.c.resource_id == resource_id)
        .group_by(order_coupon.c.order_id, order_coupon.c.line_no, order_coupon.c.coupon_id)
    ).all()
    out: dict[tuple[str, int], dict[str, int]] = {}
    for order_id, line_no, coupon_id, units in rows:
        out.setdefault((order_id, int(line_no)), {})[coupon_id] = int(units)
    return out


def expire_pending(conn: Connection, now, *, reason: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Mark every pending order whose deadline has passed `expired`; their ids."""
    due = (customer_order.c.status == str(OrderStatus.PENDING_PAYMENT)) & (
        customer_order.c.payment_deadline <= now
    )
    ids = list(
        conn.execute(select(customer_order.c.id).where(due).order_by(customer_order.c.id))
        .scalars()
        .all()
    )
    if ids:
        conn.execute(
            update(customer_order)
            .where(due)
            .values(
                status=str(OrderStatus.EXPIRED),
                closed_at=customer_order.c.payment_deadline,
                close_reason=reason,
            )
        )
    return ids


def settle_lines(conn: Connection, line_ids: list[int], order_id: str) -> None:
    """Lines whose money the unsubscription `order_id` settled."""
    if line_ids:
        conn.execute(
            update(order_line).where(order_line.c.id.in_(line_ids)).values(settled_by=order_id)
        )


def payers_of_orders(conn: Connection, order_ids) -> set[str]:  # type: ignore[no-untyped-def]
    """Whose books the orders' money moved on (the customers of their ledger transactions)."""
    ids = sorted(order_ids)
    if not ids:
        return set()
    o, t = customer_order.c, ledger_transaction.c
    return set(
        conn.execute(
            select(t.customer_id)
            .join(customer_order, o.ledger_transaction_id == t.id)
            .where(o.id.in_(ids))
            .distinct()
        ).scalars()
    )
