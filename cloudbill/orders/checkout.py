"""Paying an order (cash coupons, then balance and credit, in one ledger transaction that
also applies it), cancelling it, and expiring it at its payment deadline."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from ..benefits import coupons as coupon_service
from ..benefits.model import CashCoupon, CouponStatus
from ..customers import rules as customer_rules
from ..customers import service as customers
from ..customers.model import Customer
from ..enterprise import accounting
from ..expenditure import repo as expenditure_repo
from ..kernel.currency import currency_digits
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.ids import is_valid_id
from ..kernel.limits import ORDERS_PAID_TOGETHER_MAX
from ..resources import repo as resource_repo
from ..resources.model import ResourceStatus
from . import effects, payment, records, repo, rules
from .drafting import MAX_LINES, bad, get, reference_of
from .model import FEE_INCURRING, Order, OrderStatus, OrderType


def _chosen_coupons(  # type: ignore[no-untyped-def]
    conn: Connection, customer: Customer, coupon_ids: object, coupons_max: int, now: datetime
):
    if coupon_ids is None:
        return []
    if not isinstance(coupon_ids, list | tuple) or len(coupon_ids) > MAX_LINES:
        raise bad(f"coupon ids: a list of at most {MAX_LINES}")
    if len(coupon_ids) > coupons_max:
        raise bad(f"a payment may use at most {coupons_max} cash coupon(s)")
    if len(set(coupon_ids)) != len(coupon_ids):
        raise bad("a coupon is named twice")
    offers = []
    for coupon_id in coupon_ids:
        try:
            coupon = coupon_service.get_coupon(conn, coupon_id, lock=True, customer_id=customer.id)
        except CloudbillError:
            raise CloudbillError(ErrorCode.NOT_FOUND, f"no cash coupon {coupon_id!r}") from None
        if coupon.status is not CouponStatus.ACTIVE or coupon.balance_units <= 0:
            raise CloudbillError(
                ErrorCode.COUPON_NOT_APPLICABLE, f"coupon {coupon.id} is {coupon.status}"
            )
        if not coupon.valid_from <= now < coupon.valid_to:
            raise CloudbillError(
                ErrorCode.COUPON_NOT_APPLICABLE,
                f"coupon {coupon.id} is valid from {coupon.valid_from.isoformat()} to "
                f"{coupon.valid_to.isoformat()}, not now",
            )
        offers.append(coupon_offer(coupon))
    return offers


def coupon_offer(coupon: CashCoupon) -> rules.CouponOffer:
    return rules.CouponOffer(
        coupon.id,
        coupon.balance_units,
        coupon.min_spend_units,
        frozenset(coupon.services) if coupon.services is not None else None,
        frozenset(coupon.billing_modes) if coupon.billing_modes is not None else None,
        coupon.valid_from,
        coupon.valid_to,
    )


def _still_valid(conn: Connection, order: Order, now: datetime) -> None:
    """A pending order's resources must still be as they were when it was made."""
    for line in order.lines:
        if order.order_type is OrderType.NEW:
            continue
        r = resource_repo.get(conn, line.resource_id, lock=True)
        problem = None
        if r is None or r.status is ResourceStatus.RELEASED:
            problem = "is released"
        elif order.order_type is OrderType.CONVERSION and r.billing_mode != "pay_per_use":
            problem = "is no longer pay-per-use"
        elif order.order_type is OrderType.CHANGE and r.spec != line.old_spec:
            problem = "has changed spec since"
        elif order.order_type is OrderType.CHANGE and (
            r.status is not ResourceStatus.NORMAL or r.expire_at is None or r.expire_at <= now
        ):
            problem = "has expired since (a change applies to time still paid for)"
        elif order.order_type is OrderType.RENEWAL and r.billing_mode != "yearly_monthly":
            problem = "is no longer yearly/monthly"
        if problem:
            raise CloudbillError(
                ErrorCode.INVALID_STATE,
                f"resource {line.resource_id} {problem}: cancel order {order.id}",
            )


HUAWEI_COUPONS_PER_PAYMENT = 1  # "When paying an order, you can use only one cash coupon."


def pay(
    conn: Connection,
    customer_id: str,
    order_id: str,
    *,
    coupon_ids: object = None,
    reference: object = None,
    coupons_max: int = HUAWEI_COUPONS_PER_PAYMENT,
    now: datetime,
) -> Order:
    """Pay a pending order: chosen coupons, then cash, then available credit, in one ledger
    transaction, and apply it. Paying again with the same reference answers the paid order;
    paying a paid order otherwise is refused."""
    return pay_together(
        conn,
        customer_id,
        [order_id],
        coupon_ids=coupon_ids,
        reference=reference,
        coupons_max=coupons_max,
        now=now,
    )[0]


def paying_customers(
    conn: Connection, customer_id: str, now: datetime
) -> tuple[Customer, Customer]:
    """The customer and who pays its orders now: its unified master (enterprise/accounting.py)
    or itself. Both locked in id order, the order settlement locks customers in."""
    payer_id = accounting.payer_of(conn, customer_id, now)
    locked = {cid: customers.get(conn, cid, lock=True) for cid in sorted({customer_id, payer_id})}
    customer, payer = locked[customer_id], locked[payer_id]
    accounting.check_payable(customer, payer)
    return customer, payer


def _payable(conn: Connection, customer: Customer, order_id: str, reference, now):  # type: ignore[no-untyped-def]
    """The order locked, and whether it is a replay (already paid with this reference). Read
    once, locked (another customer's order looks absent, as `get` answers)."""
    order = repo.get(conn, order_id, lock=True) if is_valid_id(order_id) else None
    if order is None or order.customer_id != customer.id:
        raise CloudbillError(ErrorCode.ORDER_NOT_FOUND, f"no order {order_id!r}")
    if order.status is OrderStatus.PAID:
        if reference is not None and order.pay_reference == reference:
            return order, True
        raise CloudbillError(ErrorCode.ORDER_ALREADY_PAID, f"order {order.id} is already paid")
    if order.status is not OrderStatus.PENDING_PAYMENT:
        raise CloudbillError(ErrorCode.ORDER_CLOSED, f"order {order.id} is {order.status}")
    if order.payment_deadline is not None and now >= order.payment_deadline:
        raise CloudbillError(
            ErrorCode.ORDER_CLOSED, f"order {order.id} was not paid by its deadline"
        )
    return order, False


def _order_ids(order_ids: object) -> list[str]:
    if (
        not isinstance(order_ids, list | tuple)
        or not 1 <= len(order_ids) <= ORDERS_PAID_TOGETHER_MAX
        or not all(isinstance(x, str) for x in order_ids)
    ):
        raise bad(f"order ids: a list of 1 to {ORDERS_PAID_TOGETHER_MAX}")
    if len(set(order_ids)) != len(order_ids):
        raise bad("an order is named twice")
    return list(order_ids)


def pay_together(
    conn: Connection,
    customer_id: str,
    order_ids: object,
    *,
    coupon_ids: object = None,
    reference: object = None,
    coupons_max: int = HUAWEI_COUPONS_PER_PAYMENT,
    now: datetime,
) -> list[Order]:
    """Pay several pending orders of a customer together, all or none: each chosen coupon is
    shared over the orders pro rata by amount (`rules.plan_payments`), then cash, then credit.
    Each order is paid by its own ledger transaction, all in this database transaction. The
    same reference again answers the paid orders. A unified member's orders are paid by its
    master: the master's coupons, cash and credit, on the master's books."""
    reference = reference_of(reference)
    ids = _order_ids(order_ids)
    customer, payer = paying_customers(conn, customer_id, now)
    found = [_payable(conn, customer, oid, reference, now) for oid in ids]
    replays = [order for order, replay in found if replay]
    if replays:
        if len(replays) != len(found):
            raise CloudbillError(
                ErrorCode.IDEMPOTENCY_CONFLICT,
                f"reference {reference!r} paid other orders than these",
            )
        return replays
    pending = [order for order, _ in found]
    figures = customers.overview(conn, payer, now)  # read once: the checks write nothing
    if any(order.order_type in FEE_INCURRING for order in pending):
        # refused if frozen or in arrears; a unified member also while its master (who pays
        # its fees) is, as customers.check_fee_allowed says
        if payer.id != customer.id:
            own = customers.overview(conn, customer, now)
            customer_rules.check_fee_incurring_allowed(customer, own)
        customer_rules.check_fee_incurring_allowed(payer, figures)
    offers = _chosen_coupons(conn, payer, coupon_ids, coupons_max, now)
    for order in pending:
        _still_valid(conn, order, now)
    payables = [
        [rules.PayableLine(x.line_no, x.service, x.amount_units) for x in order.lines]
        for order in pending
    ]
    plans = rules.plan_payments(
        payables,
        offers,
        cash_available=figures.cash_balance_units,
        credit_available=figures.available_credit_units,
        step=rules.step_units(currency_digits(customer.currency)),
        now=now,
    )
    return [
        _settle(conn, customer, payer, order, payable, plan, reference, now)
        for order, payable, plan in zip(pending, payables, plans, strict=True)
    ]


def _settle(conn, customer, payer, order, payable, plan, reference, now) -> Order:  # type: ignore[no-untyped-def]
    """Post one order's planned payment (on the payer's books), record how each line was
    paid, and apply it."""
    posted = payment.post_payment(
        conn,
        customer_id=payer.id,
        currency=customer.currency,
        order_id=order.id,
        coupon_uses=plan.uses,
        cash_units=plan.cash_units,
        credit_units=plan.credit_units,
        now=now,
    )
    for line_no, (coupon, cash, credit) in rules.split_line_payment(plan, payable).items():
        repo.update_line(
            conn, order.id, line_no, coupon_units=coupon, cash_units=cash, credit_units=credit
        )
    repo.add_coupon_uses(conn, order.id, plan.uses)
    repo.update_order(
        conn,
        order.id,
        status=str(OrderStatus.PAID),
        coupon_units=plan.coupon_units,
        cash_units=plan.cash_units,
        credit_units=plan.credit_units,
        paid_at=now,
        pay_reference=reference,
        ledger_transaction_id=posted.id,
    )
    # The order as read (locked) before: applying it reads only what the payment does not
    # change (its type, lines, expire policy, auto-renew), so it is not read again here.
    effects.apply(conn, order, customer, now=now)
    paid = get(conn, order.id)  # with the spans the lines pay for, set by applying it
    expenditure_repo.insert_expenditures(conn, records.payment_records(paid))
    return paid


def cancel(
    conn: Connection, customer_id: str, order_id: str, *, reason: str | None = None, now: datetime
) -> Order:
    customer = customers.get(conn, customer_id, lock=True)
    order = get(conn, order_id, customer_id=customer.id)
    customer_rules.check_not_frozen(customer)
    if order.status is OrderStatus.CANCELLED:
        return order
    if order.status is not OrderStatus.PENDING_PAYMENT:
        raise CloudbillError(
            ErrorCode.ORDER_CLOSED, f"order {order.id} is {order.status}: only a pending order"
        )
    repo.update_order(
        conn,
        order.id,
        status=str(OrderStatus.CANCELLED),
        closed_at=now,
        close_reason=(reason or "cancelled")[:256],
    )
    return get(conn, order.id)


def expire_due(conn: Connection, *, now: datetime) -> list[str]:
    """Pending orders past their payment deadline are cancelled by themselves (`expired`),
    closed at their deadline: one statement, however many there are."""
    return repo.expire_pending(conn, now, reason="not paid by the payment deadline")
