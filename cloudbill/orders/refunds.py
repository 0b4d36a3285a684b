"""Money given back for the unused part of a paid term (a downgrade, an unsubscription): to
the sources it was paid from."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from ..catalog.pricing import Quote
from ..customers import service as customers
from ..customers.model import Customer
from ..enterprise import accounting
from ..kernel.currency import currency_digits
from ..kernel.money import Money
from . import payment, repo, rules
from .drafting import get


def computed(official: int, amount: int, currency: str) -> Quote:
    """A line's figures computed here (pro rata, refunds) in the shape of a catalog quote."""
    return Quote(
        Money(official, currency), Money(official - amount, currency), Money(amount, currency), None
    )


def _sources(conn: Connection, resource_id: str) -> dict[str, int]:
    """Where the money a resource's orders took came from, net of what was given back:
    'cash', 'credit' and 'coupon:<id>' -> units."""
    rows = repo.paid_lines(conn, resource_id)
    out = {"cash": sum(r.cash_units for r in rows), "credit": sum(r.credit_units for r in rows)}
    coupons = repo.coupon_parts(conn, sorted({r.order_id for r in rows}), resource_id)
    out |= {f"coupon:{cid}": units for cid, units in coupons.items()}
    return out


def split_by_sources(
    conn: Connection, customer: Customer, refunds: dict[str, int]
) -> dict[str, dict[str, int]]:
    """Each resource's refund in proportion to where its money came from (a downgrade)."""
    step = rules.step_units(currency_digits(customer.currency))
    return {
        resource_id: rules.split_exact(units, _sources(conn, resource_id), step=step)
        for resource_id, units in refunds.items()
    }


def _payer(conn: Connection, customer: Customer, parts_by_resource, now: datetime) -> str:  # type: ignore[no-untyped-def]
    """Whose books a refund goes back to: whoever paid the resources' orders (a unified
    member's master, for what it paid). Paid by several (a term bought before joining, renewed
    after): the one paying for the customer now."""
    orders = {r.order_id for rid in parts_by_resource for r in repo.paid_lines(conn, rid)}
    payers = repo.payers_of_orders(conn, orders)
    if len(payers) != 1:
        payers = {accounting.payer_of(conn, customer.id, now)}
    [payer] = payers
    if payer != customer.id:
        customers.get(conn, payer, lock=True)  # its books move
    return payer


def give_back(
    conn: Connection,
    customer: Customer,
    order_id: str,
    parts_by_resource: dict[str, dict[str, int]],
    *,
    now: datetime,
) -> int:
    """Give back each resource's parts ('cash', 'credit', 'coupon:<id>' -> units); write them
    (negative) on the order's lines and the order, and post the refund. Returns how much of the
    credit part came back as cash (the customer had repaid it since)."""
    cash = credit = 0
    coupon_back: dict[str, int] = {}
    uses: list[tuple[int, str, int]] = []
    lines = {line.resource_id: line.line_no for line in get(conn, order_id).lines}
    for resource_id, given in parts_by_resource.items():
        parts = dict(given)
        c_cash, c_credit = parts.pop("cash", 0), parts.pop("credit", 0)
        line_no = lines[resource_id]
        line_coupons = 0
        for key, part in sorted(parts.items()):
            if part:
                coupon_id = str(key).removeprefix("coupon:")
                coupon_back[coupon_id] = coupon_back.get(coupon_id, 0) + part
                uses.append((line_no, coupon_id, -part))
                line_coupons += part
        repo.update_line(
            conn,
            order_id,
            line_no,
            coupon_units=-line_coupons,
            cash_units=-c_cash,
            credit_units=-c_credit,
        )
        cash, credit = cash + c_cash, credit + c_credit
    repo.add_coupon_uses(conn, order_id, uses)
    if not (cash or credit or any(coupon_back.values())):
        return 0  # nothing to give back (e.g. unsubscribing an expired resource): no posting
    payer = _payer(conn, customer, parts_by_resource, now)
    posted = payment.post_refund(
        conn,
        customer_id=payer,
        currency=customer.currency,
        order_id=order_id,
        cash_units=cash,
        credit_units=credit,
        coupon_parts=coupon_back,
        now=now,
    )
    repo.update_order(
        conn,
        order_id,
        coupon_units=-sum(coupon_back.values()),
        cash_units=-cash,
        credit_units=-credit,
        ledger_transaction_id=posted.id,
    )
    return credit - int(posted.result["unpaid_units"])
