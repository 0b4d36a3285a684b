"""Paying an order (cash coupons, then balance and credit, in one ledger transaction that
also applies it), cancelling it, and expiring it at its payment deadline."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from ..benefits import coupons as coupon_service
from ..benefits.model import CouponStatus
from ..customers import rules as customer_rules
from ..customers import service as customers
from ..customers.model import Customer
from ..expenditure import repo as expenditure_repo
from ..kernel.errors import CloudbillError, ErrorCode
from ..resources import repo as resource_repo
from ..resources.model import ResourceStatus
from . import effects, payment, records, repo, rules
from .drafting import MAX_LINES, bad, check_fee_allowed, get, reference_of
from .model import FEE_INCURRING, Order, OrderStatus, OrderType


def _chosen_coupons(conn: Connection, customer: Customer, coupon_ids: object, now: datetime):  # type: ignore[no-untyped-def]
    if coupon_ids is None:
        return []
    if not isinstance(coupon_ids, list | tuple) or len(coupon_ids) > MAX_LINES:
        raise bad(f"coupon ids: a list of at most {MAX_LINES}")
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
        offers.append(
            rules.CouponOffer(
                coupon.id,
                coupon.balance_units,
                coupon.min_spend_units,
                frozenset(coupon.services) if coupon.services is not None else None,
                frozenset(coupon.billing_modes) if coupon.billing_modes is not None else None,
                coupon.valid_from,
                coupon.valid_to,
            )
        )
    return offers


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


def pay(
    conn: Connection,
    customer_id: str,
    order_id: str,
    *,
    coupon_ids: object = None,
    reference: object = None,
    now: datetime,
) -> Order:
    """Pay a pending order: chosen coupons, then cash, then available credit, in one ledger
    transaction, and apply it. Paying again with the same reference answers the paid order;
    paying a paid order otherwise is refused."""
    reference = reference_of(reference)
    customer = customers.get(conn, customer_id, lock=True)
    order = get(conn, order_id, customer_id=customer.id)
    order = repo.get(conn, order.id, lock=True) or order
    if order.status is OrderStatus.PAID:
        if reference is not None and order.pay_reference == reference:
            return order
        raise CloudbillError(ErrorCode.ORDER_ALREADY_PAID, f"order {order.id} is already paid")
    if order.status is not OrderStatus.PENDING_PAYMENT:
        raise CloudbillError(ErrorCode.ORDER_CLOSED, f"order {order.id} is {order.status}")
    if order.payment_deadline is not None and now >= order.payment_deadline:
        raise CloudbillError(
            ErrorCode.ORDER_CLOSED, f"order {order.id} was not paid by its deadline"
        )
    if order.order_type in FEE_INCURRING:
        check_fee_allowed(conn, customer, now)
    offers = _chosen_coupons(conn, customer, coupon_ids, now)
    _still_valid(conn, order, now)
    figures = customers.overview(conn, customer, now)
    payable = [rules.PayableLine(x.line_no, x.service, x.amount_units) for x in order.lines]
    plan = rules.plan_payment(
        payable,
        offers,
        cash_available=figures.cash_balance_units,
        credit_available=figures.available_credit_units,
        now=now,
    )
    posted = payment.post_payment(
        conn,
        customer_id=customer.id,
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
    effects.apply(conn, get(conn, order.id), customer, now=now)
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
