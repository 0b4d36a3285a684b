"""The expenditure records of an order: what its payment or refund puts in the customer's bills.

Written in the transaction that moves the order's money, one record per line (two for an
unsubscription: the refund of the unused time and the handling fee kept from it), so that a
bill's lines add up to the ledger's movements of the customer's money for services.
"""

from __future__ import annotations

from datetime import datetime

from ..expenditure.model import BillType, Expenditure
from ..kernel.currency import currency_digits
from .model import Order, OrderLine, OrderSource, OrderType
from .rules import split_exact, step_units

YEARLY_MONTHLY = "yearly_monthly"


def bill_type_of(order: Order) -> BillType:
    if order.order_type is OrderType.NEW:
        return BillType.NEW_PURCHASE
    if order.order_type is OrderType.CONVERSION:
        return BillType.CONVERSION
    if order.order_type is OrderType.RENEWAL:
        auto = order.source is OrderSource.AUTO_RENEW
        return BillType.AUTO_RENEWAL if auto else BillType.RENEWAL
    if order.order_type is OrderType.CHANGE:
        return BillType.UPGRADE if order.amount_units > 0 else BillType.DOWNGRADE_REFUND
    return BillType.UNSUBSCRIPTION_REFUND


def _record(
    order: Order,
    line: OrderLine,
    bill_type: BillType,
    *,
    at: datetime,
    period: tuple[datetime | None, datetime | None],
    official: int,
    amount: int,
    coupon: int,
    cash: int,
    credit: int,
) -> Expenditure:
    return Expenditure(
        customer_id=order.customer_id,
        currency=order.currency,
        bill_type=bill_type,
        trade_id=order.id,
        line_no=line.line_no,
        resource_id=line.resource_id,
        service=line.service,
        resource_type=line.resource_type,
        spec=line.spec,
        region=line.region,
        billing_mode=YEARLY_MONTHLY,
        charged_at=at,
        ledger_transaction_id=order.ledger_transaction_id,
        official_units=official,
        discount_units=official - amount,
        amount_units=amount,
        coupon_units=coupon,
        cash_units=cash,
        credit_units=credit,
        period_unit=line.period_unit or "",
        period_count=line.period_count or 0,
        period_start=period[0],
        period_end=period[1],
    )


def payment_records(order: Order, *, credit_to_cash: int = 0) -> list[Expenditure]:
    """A paid order (new, renewal, conversion, upgrade): each line as priced and paid, for the
    span it pays for; or a downgrade: each line's pro-rata difference given back (negative), by
    where it went (`credit_to_cash`: see `_given_back`)."""
    if order.ledger_transaction_id is None or order.paid_at is None:
        return []  # nothing was charged or given back (a change of no difference)
    if order.amount_units < 0:
        parts = {
            n: {k: -v for k, v in b.items()} for n, b in _given_back(order, credit_to_cash).items()
        }
    else:
        parts = {
            line.line_no: {
                "coupon": line.coupon_units,
                "cash": line.cash_units,
                "credit": line.credit_units,
            }
            for line in order.lines
        }
    bill_type = bill_type_of(order)
    return [
        _record(
            order,
            line,
            bill_type,
            at=order.paid_at,
            period=(line.period_start, line.period_end),
            official=line.official_units,
            amount=line.amount_units,
            **parts[line.line_no],
        )
        for line in order.lines
        if line.amount_units
    ]


def _given_back(order: Order, credit_to_cash: int) -> dict[int, dict[str, int]]:
    """Per line, what went back to each source (positive). A line's credit part goes back off
    the unpaid book, but the part of it the customer had repaid since comes back as cash
    (`credit_to_cash`, the refund's whole; spread over the lines by their credit parts)."""
    back = {
        line.line_no: {
            "coupon": -line.coupon_units,
            "cash": -line.cash_units,
            "credit": -line.credit_units,
        }
        for line in order.lines
    }
    moved = split_exact(credit_to_cash, {n: b["credit"] for n, b in back.items()}, step=1)
    for n, part in moved.items():
        back[n]["cash"] += part
        back[n]["credit"] -= part
    return back


def unsubscription_records(
    order: Order,
    refunded_spans: dict[str, tuple[datetime, datetime | None]],
    *,
    credit_to_cash: int,
) -> list[Expenditure]:
    """Per resource: the refund of the unused time (negative, before the fee) and the handling
    fee kept from it (positive); together they are what was given back. The fee was kept from
    each source (coupon, cash, credit) in proportion to how the refund went back."""
    if order.ledger_transaction_id is None or order.paid_at is None:
        return []  # nothing was given back
    step = step_units(currency_digits(order.currency))
    given = _given_back(order, credit_to_cash)
    out: list[Expenditure] = []
    for line in order.lines:
        back = given[line.line_no]
        if not any(back.values()):
            continue  # nothing of this resource came back (its time was used up)
        fee = line.fee_units or 0
        # The handling fee is kept out of the money paid (cash, credit), never out of coupons
        # (Huawei: "Paid amount ... excluding any payment in cash coupons").
        money = {k: (back[k] if k != "coupon" else 0) for k in back}
        kept = split_exact(fee, money if any(money.values()) else {**money, "cash": 1}, step=step)
        span = refunded_spans.get(line.resource_id, (order.paid_at, None))
        before_fee = {k: back[k] + kept[k] for k in back}
        out.append(
            _record(
                order,
                line,
                BillType.UNSUBSCRIPTION_REFUND,
                at=order.paid_at,
                period=span,
                official=-sum(before_fee.values()),
                amount=-sum(before_fee.values()),
                coupon=-before_fee["coupon"],
                cash=-before_fee["cash"],
                credit=-before_fee["credit"],
            )
        )
        if fee:
            out.append(
                _record(
                    order,
                    line,
                    BillType.UNSUBSCRIPTION_FEE,
                    at=order.paid_at,
                    period=span,
                    official=fee,
                    amount=fee,
                    coupon=kept["coupon"],
                    cash=kept["cash"],
                    credit=kept["credit"],
                )
            )
    return out
