"""Order data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class OrderType(StrEnum):
    NEW = "new"  # new purchase
    RENEWAL = "renewal"
    CHANGE = "change"  # spec upgrade or downgrade
    UNSUBSCRIPTION = "unsubscription"
    CONVERSION = "conversion"  # pay-per-use -> yearly/monthly


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    CANCELLED = "cancelled"  # by the customer or the operator
    EXPIRED = "expired"  # not paid by its deadline: cancelled by itself
    REFUNDED = "refunded"  # an unsubscription or a downgrade, money given back


class OrderSource(StrEnum):
    CUSTOMER = "customer"
    OPERATOR = "operator"
    AUTO_RENEW = "auto_renew"


# Order types that cost money (refused in arrears or frozen). A change is one when it upgrades.
FEE_INCURRING = (OrderType.NEW, OrderType.RENEWAL, OrderType.CONVERSION, OrderType.CHANGE)


@dataclass(frozen=True, slots=True)
class OrderLine:
    line_no: int
    resource_id: str
    service: str
    resource_type: str
    spec: str
    old_spec: str | None
    region: str
    name: str
    period_unit: str | None
    period_count: int | None
    official_units: int
    discount_units: int
    amount_units: int
    coupon_units: int
    cash_units: int
    credit_units: int
    discount_id: str | None
    period_start: datetime | None
    period_end: datetime | None
    used_units: int | None
    fee_units: int | None


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    customer_id: str
    order_type: OrderType
    status: OrderStatus
    source: OrderSource
    currency: str
    official_units: int
    discount_units: int
    amount_units: int
    coupon_units: int
    cash_units: int
    credit_units: int
    fee_units: int
    reference: str | None
    pay_reference: str | None
    ledger_transaction_id: int | None
    created_at: datetime
    payment_deadline: datetime | None
    paid_at: datetime | None
    closed_at: datetime | None
    close_reason: str | None
    auto_renew: bool | None = None
    expire_policy: str | None = None
    lines: tuple[OrderLine, ...] = ()
    coupons: tuple[tuple[int, str, int], ...] = field(default=())  # (line_no, coupon, amount)

    @property
    def net_units(self) -> int:
        """What the customer pays (or, negative, gets back) after cash coupons."""
        return self.amount_units - self.coupon_units
