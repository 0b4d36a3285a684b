"""expenditure records

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01

Fee records become the expenditure record of every movement of billed money: besides the hourly
pay-per-use fees, the payments and refunds of orders and operator adjustments (`bill_type`,
`trade_id`, `line_no`, the period paid for, a description; `settlement_id` null for them).

The upgrade also writes the records of what a database already holds, from its orders and its
ledger: every paid order line, every refund (an unsubscription as the refund of the unused time
and the handling fee kept from it), every adjustment. The rules are frozen here, as the release
that introduced them wrote them, so a later change of the application cannot change what this
migration does. It reads and writes a page of orders at a time.

A downgrade deletes every record that is not an hourly fee: upgrading again writes them anew
from the orders and the ledger, but what adjustments made since were for (their resource or
service) is not in the ledger and is lost.
"""

from __future__ import annotations

import json

from alembic import op
import sqlalchemy as sa
import cloudbill.store.types
from cloudbill.kernel.currency import currency_digits
from cloudbill.store.append_only import (
    create_append_only_triggers,
    drop_append_only_triggers,
)


revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

SCALE_DIGITS = 8
QUANTITY_SCALE = 10**10


def _alter_fee_record() -> None:
    # SQLite rebuilds the table for the nullable settlement_id: its triggers go with the old
    # table, so they are dropped first and made again on the new one.
    drop_append_only_triggers(("fee_record",))
    with op.batch_alter_table("fee_record", schema=None) as batch_op:
        batch_op.alter_column("settlement_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(
            sa.Column("bill_type", sa.String(length=24), server_default="usage", nullable=False)
        )
        batch_op.add_column(sa.Column("trade_id", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("line_no", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("period_start", cloudbill.store.types.UtcDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("period_end", cloudbill.store.types.UtcDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("description", sa.String(length=256), nullable=True))
    # Unique among the records of trades only: hourly fees (no trade id) stay out of the index.
    op.create_index(
        "uq_fee_record_trade_line",
        "fee_record",
        ["trade_id", "bill_type", "line_no"],
        unique=True,
        sqlite_where=sa.text("trade_id IS NOT NULL"),
        postgresql_where=sa.text("trade_id IS NOT NULL"),
    )


def upgrade() -> None:
    _alter_fee_record()
    conn = op.get_bind()
    table = _fee_record()
    for orders in _order_pages(conn):
        rows = [row for lines in orders for row in _order_records(lines)]
        if rows:
            conn.execute(sa.insert(table), rows)
    for rows in _adjustment_pages(conn):
        conn.execute(sa.insert(table), rows)
    create_append_only_triggers(("fee_record",))


def downgrade() -> None:
    drop_append_only_triggers(("fee_record",))
    op.execute("DELETE FROM fee_record WHERE settlement_id IS NULL")
    op.drop_index("uq_fee_record_trade_line", table_name="fee_record")
    with op.batch_alter_table("fee_record", schema=None) as batch_op:
        for name in ("description", "period_end", "period_start", "line_no", "trade_id"):
            batch_op.drop_column(name)
        batch_op.drop_column("bill_type")
        batch_op.alter_column("settlement_id", existing_type=sa.Integer(), nullable=False)
    create_append_only_triggers(("fee_record",))


# -- the backfill, frozen ---------------------------------------------------------------------

UtcDateTime = cloudbill.store.types.UtcDateTime


def _fee_record() -> sa.TableClause:
    names_types = [
        ("settlement_id", sa.Integer()),
        ("customer_id", sa.String()),
        ("resource_id", sa.String()),
        ("service", sa.String()),
        ("resource_type", sa.String()),
        ("spec", sa.String()),
        ("region", sa.String()),
        ("billing_mode", sa.String()),
        ("usage_type", sa.String()),
        ("hour_start", UtcDateTime()),
        ("is_late", sa.Boolean()),
        ("currency", sa.String()),
        ("pricing_unit", sa.String()),
        ("usage_e10", sa.BigInteger()),
        ("package_usage_e10", sa.BigInteger()),
        ("unit_price", sa.String()),
        ("official_units", sa.BigInteger()),
        ("discount_units", sa.BigInteger()),
        ("amount_units", sa.BigInteger()),
        ("coupon_units", sa.BigInteger()),
        ("cash_units", sa.BigInteger()),
        ("credit_units", sa.BigInteger()),
        ("debt_units", sa.BigInteger()),
        ("ledger_transaction_id", sa.Integer()),
        ("created_at", UtcDateTime()),
        ("bill_type", sa.String()),
        ("trade_id", sa.String()),
        ("line_no", sa.Integer()),
        ("period_start", UtcDateTime()),
        ("period_end", UtcDateTime()),
        ("description", sa.String()),
    ]
    return sa.table("fee_record", *(sa.column(n, t) for n, t in names_types))


def _record(**values: object) -> dict[str, object]:
    base = {
        "settlement_id": None,
        "usage_type": "",
        "is_late": False,
        "package_usage_e10": 0,
        "unit_price": None,
        "debt_units": 0,
        "description": None,
        "coupon_units": 0,
        "cash_units": 0,
        "credit_units": 0,
        "pricing_unit": "",
        "usage_e10": 0,
        "period_start": None,
        "period_end": None,
        "resource_id": "",
        "service": "",
        "resource_type": "",
        "spec": "",
        "region": "",
        "billing_mode": "",
    }
    row = {**base, **values}
    row["hour_start"] = row["created_at"]
    row["discount_units"] = row["official_units"] - row["amount_units"]  # type: ignore[operator]
    return row


def _split(total: int, weights: dict, step: int) -> dict:  # type: ignore[type-arg]
    """`total` over the keys in proportion to non-negative weights, in whole steps, largest
    remainder first (ties by the key's text): the parts add up to `total`."""
    positive = {k: w for k, w in weights.items() if w > 0}
    whole = sum(positive.values())
    if total == 0 or whole == 0:
        return {k: 0 for k in weights}
    steps = total // step
    parts = {k: steps * w // whole for k, w in positive.items()}
    rest = sorted(positive, key=lambda k: (-(steps * positive[k] % whole), str(k)))
    for key in rest[: steps - sum(parts.values())]:
        parts[key] += 1
    return {k: parts.get(k, 0) * step for k in weights}


ORDER_BILL_TYPES = {
    "new": "new_purchase",
    "conversion": "conversion",
    "renewal": "renewal",
}
ORDERS_PER_PAGE = 500

ORDER_LINES = sa.text(
    "SELECT o.id AS order_id, o.customer_id, o.order_type, o.source, o.currency,"
    " o.amount_units AS order_amount, o.ledger_transaction_id, o.paid_at, t.result,"
    " l.line_no, l.resource_id, l.service, l.resource_type, l.spec, l.region,"
    " l.period_unit, l.period_count, l.official_units, l.amount_units,"
    " l.coupon_units, l.cash_units, l.credit_units, l.period_start, l.period_end,"
    " l.fee_units, r.expire_at"
    " FROM customer_order o JOIN order_line l ON l.order_id = o.id"
    " JOIN ledger_transaction t ON t.id = o.ledger_transaction_id"
    " LEFT JOIN resource r ON r.id = l.resource_id"
    " WHERE o.status IN ('paid', 'refunded') AND o.paid_at IS NOT NULL"
    " AND o.id IN (SELECT id FROM customer_order WHERE id > :after AND"
    " ledger_transaction_id IS NOT NULL ORDER BY id LIMIT :n)"
    " ORDER BY o.id, l.line_no"
).columns(
    paid_at=UtcDateTime(),
    period_start=UtcDateTime(),
    period_end=UtcDateTime(),
    expire_at=UtcDateTime(),
)


def _order_pages(conn: sa.Connection):  # type: ignore[no-untyped-def]
    """The order lines of paid and refunded orders, a page of orders at a time (bounded
    memory), each order's lines together."""
    after = ""
    while True:
        rows = conn.execute(ORDER_LINES, {"after": after, "n": ORDERS_PER_PAGE}).all()
        if not rows:
            return
        by_order: dict[str, list] = {}  # type: ignore[type-arg]
        for r in rows:
            by_order.setdefault(r.order_id, []).append(r)
        yield list(by_order.values())
        after = rows[-1].order_id


def _order_records(lines) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    """An order's records, as the release that introduced them writes them."""
    first = lines[0]
    refund = first.order_type == "unsubscription" or (
        first.order_type == "change" and first.order_amount < 0
    )
    back = {}
    if refund:
        # What the refund gave back per line; the credit part the customer had repaid since
        # came back as cash (the refund transaction's result says how much went to the book).
        back = {
            r.line_no: {"coupon": -r.coupon_units, "cash": -r.cash_units, "credit": -r.credit_units}
            for r in lines
        }
        credit = sum(b["credit"] for b in back.values())
        moved = credit - int(json.loads(first.result or "{}").get("unpaid_units", credit))
        for n, part in _split(moved, {n: b["credit"] for n, b in back.items()}, 1).items():
            back[n]["cash"] += part
            back[n]["credit"] -= part
    out: list[dict[str, object]] = []
    for r in lines:
        common = {
            "customer_id": r.customer_id,
            "currency": r.currency,
            "trade_id": r.order_id,
            "line_no": r.line_no,
            "resource_id": r.resource_id,
            "service": r.service,
            "resource_type": r.resource_type,
            "spec": r.spec,
            "region": r.region,
            "billing_mode": "yearly_monthly",
            "ledger_transaction_id": r.ledger_transaction_id,
            "created_at": r.paid_at,
            "pricing_unit": r.period_unit or "",
            "usage_e10": (r.period_count or 0) * QUANTITY_SCALE,
        }
        if r.order_type == "unsubscription":
            out += _unsubscription(r, common, back[r.line_no])
            continue
        if not r.amount_units:
            continue
        paid = {"coupon": r.coupon_units, "cash": r.cash_units, "credit": r.credit_units}
        if r.order_type == "change":
            bill_type = "upgrade" if r.order_amount > 0 else "downgrade_refund"
            if refund:
                paid = {k: -v for k, v in back[r.line_no].items()}
        elif r.order_type == "renewal" and r.source == "auto_renew":
            bill_type = "auto_renewal"
        else:
            bill_type = ORDER_BILL_TYPES[r.order_type]
        out.append(
            _record(
                **common,
                bill_type=bill_type,
                official_units=r.official_units,
                amount_units=r.amount_units,
                coupon_units=paid["coupon"],
                cash_units=paid["cash"],
                credit_units=paid["credit"],
                period_start=r.period_start,
                period_end=r.period_end,
            )
        )
    return out


def _unsubscription(r, common: dict[str, object], back: dict[str, int]) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    if not any(back.values()):
        return []
    step = 10 ** (SCALE_DIGITS - currency_digits(r.currency))
    fee = r.fee_units or 0
    kept = _split(fee, back, step)
    before = {k: back[k] + kept[k] for k in back}
    span = {"period_start": r.paid_at, "period_end": r.expire_at}
    refund = -sum(before.values())
    out = [
        _record(
            **common,
            **span,
            bill_type="unsubscription_refund",
            official_units=refund,
            amount_units=refund,
            coupon_units=-before["coupon"],
            cash_units=-before["cash"],
            credit_units=-before["credit"],
        )
    ]
    if fee:
        out.append(
            _record(
                **common,
                **span,
                bill_type="unsubscription_fee",
                official_units=fee,
                amount_units=fee,
                coupon_units=kept["coupon"],
                cash_units=kept["cash"],
                credit_units=kept["credit"],
            )
        )
    return out


def _adjustment_pages(conn: sa.Connection):  # type: ignore[no-untyped-def]
    """The records of adjustment transactions, a page at a time."""
    after = 0
    while True:
        rows = conn.execute(
            sa.text(
                "SELECT t.id, t.customer_id, t.reference, t.description, t.result, t.created_at"
                " FROM ledger_transaction t WHERE t.kind = 'adjustment' AND t.id > :after"
                " ORDER BY t.id LIMIT :n"
            ).columns(created_at=UtcDateTime()),
            {"after": after, "n": ORDERS_PER_PAGE},
        ).all()
        if not rows:
            return
        yield [_adjustment_record(t) for t in rows]
        after = rows[-1].id


def _adjustment_record(t) -> dict[str, object]:  # type: ignore[no-untyped-def]
    result = json.loads(t.result or "{}")
    if result.get("direction") == "charge":
        bill_type, sign = "deduction", 1
        parts = (result["from_cash_units"], result["to_unpaid_units"], result["to_debt_units"])
    else:
        bill_type, sign = "compensation", -1
        parts = (
            result["cash_credited_units"],
            result["unpaid_repaid_units"],
            result["debt_written_off_units"],
        )
    amount = sign * result["amount_units"]
    return _record(
        customer_id=t.customer_id,
        currency=result["currency"],
        trade_id=t.reference,
        line_no=1,
        ledger_transaction_id=t.id,
        created_at=t.created_at,
        bill_type=bill_type,
        official_units=amount,
        amount_units=amount,
        cash_units=sign * parts[0],
        credit_units=sign * parts[1],
        debt_units=sign * parts[2],
        description=(t.description or "")[:256] or None,
    )
