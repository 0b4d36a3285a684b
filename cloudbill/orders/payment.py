"""The money of an order: one balanced ledger transaction to pay it, one to refund it.

Paying takes the chosen coupons' value (coupon book), cash, then available credit (unpaid book)
into revenue. A refund goes back the way the money came: cash to the cash book, credit back off
the unpaid book (what was repaid since goes to cash), coupon value to the coupons it came from
while they are still valid (a coupon past its validity would only expire again: that part goes
back to the provider's promotion book)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, update

from ..benefits import coupons as coupon_service
from ..benefits.model import CouponStatus
from ..ledger import service as ledger
from ..ledger.model import AccountKind, Leg, PostedTransaction, Posting, TransactionKind
from ..ledger.rules import payload_hash
from ..store.schema import cash_coupon, coupon_usage


def post_payment(
    conn: Connection,
    *,
    customer_id: str,
    currency: str,
    order_id: str,
    coupon_uses: list[tuple[int, str, int]],
    cash_units: int,
    credit_units: int,
    now: datetime,
) -> PostedTransaction:
    accounts = ledger.customer_accounts(conn, customer_id)
    revenue = ledger.provider_account_id(conn, currency, AccountKind.REVENUE, now=now)
    coupon_units = sum(amount for _, _, amount in coupon_uses)
    total = coupon_units + cash_units + credit_units
    legs = [Leg(revenue, -total, currency)]
    for kind, part in (
        (AccountKind.COUPON, coupon_units),
        (AccountKind.CASH, cash_units),
        (AccountKind.UNPAID, credit_units),
    ):
        if part:
            legs.append(Leg(accounts[kind].id, part, currency))
    posted = ledger.post(
        conn,
        Posting(
            idempotency_key=f"order:{order_id}:pay",
            payload_hash=payload_hash({"order": order_id, "total": total}),
            kind=TransactionKind.ORDER,
            legs=tuple(legs),
            customer_id=customer_id,
            reference=order_id,
            description=f"order {order_id}",
            result={
                "order_id": order_id,
                "coupon_units": coupon_units,
                "cash_units": cash_units,
                "credit_units": credit_units,
            },
        ),
        now=now,
    )
    per_coupon: dict[str, int] = {}
    for _, coupon_id, amount in coupon_uses:
        per_coupon[coupon_id] = per_coupon.get(coupon_id, 0) + amount
    for coupon_id, amount in sorted(per_coupon.items()):
        coupon = coupon_service.get_coupon(conn, coupon_id, lock=True)
        left = coupon.balance_units - amount
        conn.execute(
            update(cash_coupon)
            .where(cash_coupon.c.id == coupon_id)
            .values(
                balance_units=left,
                status=str(CouponStatus.ACTIVE if left else CouponStatus.USED_UP),
            )
        )
        conn.execute(
            insert(coupon_usage).values(
                coupon_id=coupon_id,
                customer_id=customer_id,
                kind="used",
                amount_units=amount,
                settlement_id=None,
                ledger_transaction_id=posted.id,
                at=now,
            )
        )
    return posted


def post_refund(
    conn: Connection,
    *,
    customer_id: str,
    currency: str,
    order_id: str,
    cash_units: int,
    credit_units: int,
    coupon_parts: dict[str, int],
    now: datetime,
) -> PostedTransaction:
    """Give back `cash_units`, `credit_units` and each coupon's part, out of revenue."""
    accounts = ledger.customer_accounts(conn, customer_id)
    revenue = ledger.provider_account(conn, currency, AccountKind.REVENUE, now=now)
    unpaid_back = min(credit_units, accounts[AccountKind.UNPAID].balance_units)
    cash_back = cash_units + credit_units - unpaid_back
    live, dead = 0, 0
    restored: list[tuple[str, int, int]] = []
    for coupon_id, amount in sorted(coupon_parts.items()):
        if amount <= 0:
            continue
        coupon = coupon_service.get_coupon(conn, coupon_id, lock=True)
        usable = coupon.status in (CouponStatus.ACTIVE, CouponStatus.USED_UP) and (
            now < coupon.valid_to
        )
        if usable:
            live += amount
            restored.append((coupon_id, coupon.balance_units + amount, amount))
        else:
            dead += amount
    total = cash_back + unpaid_back + live + dead
    legs = [Leg(revenue.id, total, currency)]
    for account_id, part in (
        (accounts[AccountKind.CASH].id, cash_back),
        (accounts[AccountKind.UNPAID].id, unpaid_back),
        (accounts[AccountKind.COUPON].id, live),
    ):
        if part:
            legs.append(Leg(account_id, -part, currency))
    if dead:
        promotion = ledger.provider_account(conn, currency, AccountKind.PROMOTION, now=now)
        legs.append(Leg(promotion.id, -dead, currency))
    posted = ledger.post(
        conn,
        Posting(
            idempotency_key=f"order:{order_id}:refund",
            payload_hash=payload_hash({"order": order_id, "total": total}),
            kind=TransactionKind.REFUND,
            legs=tuple(legs),
            customer_id=customer_id,
            reference=order_id,
            description=f"refund of order {order_id}",
            result={
                "order_id": order_id,
                "cash_units": cash_back,
                "unpaid_units": unpaid_back,
                "coupon_units": live,
                "coupon_lapsed_units": dead,
            },
        ),
        now=now,
    )
    for coupon_id, balance, amount in restored:
        conn.execute(
            update(cash_coupon)
            .where(cash_coupon.c.id == coupon_id)
            .values(balance_units=balance, status=str(CouponStatus.ACTIVE))
        )
        conn.execute(
            insert(coupon_usage).values(
                coupon_id=coupon_id,
                customer_id=customer_id,
                kind="refunded",
                amount_units=amount,
                settlement_id=None,
                ledger_transaction_id=posted.id,
                at=now,
            )
        )
    return posted
