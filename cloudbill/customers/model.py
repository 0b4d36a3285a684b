"""Customer data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class PaymentMode(StrEnum):
    PREPAID = "prepaid"
    POSTPAID = "postpaid"


class CustomerStatus(StrEnum):
    ACTIVE = "active"
    FROZEN = "frozen"  # frozen by the operator: no operations


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    name: str
    email: str | None
    mobile: str | None
    currency: str
    payment_mode: PaymentMode
    credit_limit_units: int
    level: int
    timezone: str
    status: CustomerStatus
    arrears_since: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class CustomerInput:
    """What an operator sends to create a customer; validated by rules.validate_input."""

    name: str
    currency: str
    email: str | None = None
    mobile: str | None = None
    payment_mode: str = PaymentMode.PREPAID
    credit_limit: object = "0"
    level: int = 1
    timezone: str = "UTC"


@dataclass(frozen=True, slots=True)
class Overview:
    """The figures of the billing center's overview page, all in `currency` units of 1e-8."""

    customer_id: str
    currency: str
    payment_mode: PaymentMode
    status: CustomerStatus
    cash_balance_units: int
    debt_units: int
    unpaid_units: int
    credit_limit_units: int
    available_credit_units: int
    coupon_units: int
    expenditure_quota_units: int
    in_arrears: bool
    arrears_since: datetime | None
    # Post-paid bills issued and not fully repaid, and of that what is past its due date.
    billed_outstanding_units: int = 0
    overdue_units: int = 0
    # Invoiced money given back (the outstanding invoice amount): not withdrawable. Worked out
    # only where the figure is shown or a withdrawal is checked (`overview(with_hold=True)`).
    held_units: int = 0
    # An enterprise member's cash its master allocated and has not recalled: not withdrawable
    # either (the master recalls it). Worked out with the invoice hold (`with_hold=True`).
    allocated_held_units: int = 0

    @property
    def withdrawable_units(self) -> int:
        if self.in_arrears:
            return 0
        return max(self.cash_balance_units - self.held_units - self.allocated_held_units, 0)
