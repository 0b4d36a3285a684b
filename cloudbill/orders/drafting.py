"""What every kind of order is made with: the operator's terms, reading orders, the checks a
new order passes (idempotent replay, fee-incurring operations allowed, the customer's own
resources), and storing an order with its lines."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from ..catalog.model import BillingMode
from ..catalog.pricing import Quote
from ..config import Settings
from ..customers import service as customers
from ..customers.model import Customer
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.ids import is_valid_id
from ..kernel.limits import PAGE_SIZE_DEFAULT, REFERENCE_MAX_CHARS
from ..kernel.money import Rounding
from ..resources import service as resources
from ..resources.model import Resource, ResourceStatus
from ..subscriptions import repo as sub_repo
from ..subscriptions.repo import Subscription
from . import repo
from .model import Order, OrderSource, OrderStatus, OrderType

MAX_LINES = 100  # resources in one order


@dataclass(frozen=True, slots=True)
class Terms:
    """The operator's order settings."""

    payment_window: timedelta
    full_refund_days: int
    fee_percent: Decimal | None  # None: Huawei's table by term and year of use
    rounding: Rounding
    coupons_max: int = 1  # cash coupons one payment may use (Huawei: one)

    @classmethod
    def from_settings(cls, settings: Settings) -> Terms:
        return cls(
            timedelta(hours=settings.order_payment_hours),
            settings.full_refund_days,
            settings.unsubscribe_fee_percent,
            settings.bill_rounding,
            settings.coupons_per_payment,
        )


@dataclass(frozen=True, slots=True)
class NewItem:
    resource_type: str
    spec: str
    region: str
    name: str
    period_unit: str
    period_count: int
    quantity: int = 1


def bad(message: str, **details: object) -> CloudbillError:
    return CloudbillError(ErrorCode.INVALID_ARGUMENT, message, **details)


def _order_id(now: datetime) -> str:
    tail = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(6))
    return f"CS{now.strftime('%y%m%d%H%M')}{tail}"


def reference_of(reference: object) -> str | None:
    if reference is None:
        return None
    if not isinstance(reference, str) or not reference or len(reference) > REFERENCE_MAX_CHARS:
        raise bad(f"reference (trans_id) must be 1-{REFERENCE_MAX_CHARS} characters")
    return reference


def get(conn: Connection, order_id: str, *, customer_id: str | None = None) -> Order:
    """An order; with `customer_id`, only that customer's (others' look absent)."""
    found = repo.get(conn, order_id) if is_valid_id(order_id) else None
    if found is None or (customer_id is not None and found.customer_id != customer_id):
        raise CloudbillError(ErrorCode.ORDER_NOT_FOUND, f"no order {order_id!r}")
    return found


def list_orders(
    conn: Connection,
    customer_id: str,
    *,
    status: str | None = None,
    order_type: str | None = None,
    limit: int = PAGE_SIZE_DEFAULT,
    offset: int = 0,
) -> tuple[list[Order], int]:
    customer = customers.get(conn, customer_id)
    customers.check_page(limit, offset)
    try:
        status = str(OrderStatus(status)) if status is not None else None
        order_type = str(OrderType(order_type)) if order_type is not None else None
    except ValueError as exc:
        raise bad(str(exc)) from None
    return repo.list_orders(
        conn,
        customer_id=customer.id,
        status=status,
        order_type=order_type,
        limit=limit,
        offset=offset,
    )


def replayed(conn: Connection, customer: Customer, reference: str | None, digest: str):  # type: ignore[no-untyped-def]
    """The order an earlier request with the same reference made, or None."""
    if reference is None:
        return None
    row = repo.by_reference(conn, customer.id, reference)
    if row is None:
        return None
    if row.request_hash != digest:
        raise CloudbillError(
            ErrorCode.IDEMPOTENCY_CONFLICT,
            f"reference {reference!r} was used for another order request",
        )
    return get(conn, row.id)


def check_fee_allowed(conn: Connection, customer: Customer, now: datetime) -> None:
    customers.check_fee_allowed(conn, customer, now)  # a unified member's master's arrears too


def own_resources(conn: Connection, customer: Customer, resource_ids: object) -> list[Resource]:
    if not isinstance(resource_ids, list | tuple) or not resource_ids:
        raise bad("name at least one resource")
    if len(resource_ids) > MAX_LINES:
        raise bad(f"at most {MAX_LINES} resources in one order")
    if len(set(resource_ids)) != len(resource_ids):
        raise bad("a resource is named twice")
    found = [resources.get(conn, rid, customer_id=customer.id) for rid in resource_ids]
    pending = repo.pending_for_resources(conn, [r.id for r in found])
    if pending:
        rid, oid = sorted(pending.items())[0]
        raise CloudbillError(
            ErrorCode.INVALID_STATE,
            f"resource {rid} has order {oid} pending payment: pay or cancel it first",
        )
    for r in found:
        if r.status is ResourceStatus.RELEASED:
            raise CloudbillError(ErrorCode.RESOURCE_RELEASED, f"resource {r.id} is released")
    return found


def line_values(
    line_no: int, r: dict[str, Any], quote: Quote, *, unit: str | None, count: int | None
) -> dict[str, Any]:
    return {
        "line_no": line_no,
        "resource_id": r["resource_id"],
        "service": r["service"],
        "resource_type": r["resource_type"],
        "spec": r["spec"],
        "old_spec": r.get("old_spec"),
        "region": r["region"],
        "name": r["name"],
        "period_unit": unit,
        "period_count": count,
        "official_units": quote.official.units,
        "discount_units": quote.discount.units,
        "amount_units": quote.amount.units,
        "coupon_units": 0,
        "cash_units": 0,
        "credit_units": 0,
        "discount_id": quote.discount_id,
    }


def store(
    conn: Connection,
    customer: Customer,
    order_type: OrderType,
    lines: list[dict[str, Any]],
    *,
    source: OrderSource,
    reference: str | None,
    digest: str,
    terms: Terms,
    now: datetime,
    status: OrderStatus = OrderStatus.PENDING_PAYMENT,
    **extra: Any,
) -> str:
    order_id = _order_id(now)
    while repo.get(conn, order_id) is not None:  # 36^6 per minute: practically never
        order_id = _order_id(now)
    values = {
        "id": order_id,
        "customer_id": customer.id,
        "order_type": str(order_type),
        "status": str(status),
        "source": str(source),
        "currency": customer.currency,
        "official_units": sum(v["official_units"] for v in lines),
        "discount_units": sum(v["discount_units"] for v in lines),
        "amount_units": sum(v["amount_units"] for v in lines),
        "coupon_units": 0,
        "cash_units": 0,
        "credit_units": 0,
        "fee_units": 0,
        "reference": reference,
        "request_hash": digest,
        "created_at": now,
        "payment_deadline": now + terms.payment_window
        if status is OrderStatus.PENDING_PAYMENT
        else None,
        **extra,
    }
    repo.insert_order(conn, values, lines)
    return order_id


def resource_line(r: Resource, **extra: Any) -> dict[str, Any]:
    return {
        "resource_id": r.id,
        "service": r.service,
        "resource_type": r.resource_type,
        "spec": r.spec,
        "region": r.region,
        "name": r.name,
        **extra,
    }


def subscription_of(conn: Connection, r: Resource) -> Subscription:
    if r.billing_mode is not BillingMode.YEARLY_MONTHLY:
        raise CloudbillError(ErrorCode.INVALID_STATE, f"resource {r.id} is not yearly/monthly")
    sub = sub_repo.get(conn, r.id)
    if sub is None:
        raise CloudbillError(ErrorCode.INVALID_STATE, f"resource {r.id} has no subscription")
    return sub
