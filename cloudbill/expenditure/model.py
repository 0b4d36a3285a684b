"""What an expenditure record is: its bill type, and the values of one record to write."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class BillType(StrEnum):
    """Why money was billed. Each maps to one of Huawei's record bill types (api/bss)."""

    USAGE = "usage"  # hourly pay-per-use fees
    NEW_PURCHASE = "new_purchase"
    CONVERSION = "conversion"  # a pay-per-use resource bought as yearly/monthly
    RENEWAL = "renewal"
    AUTO_RENEWAL = "auto_renewal"
    UPGRADE = "upgrade"  # the pro-rata price of a higher spec
    DOWNGRADE_REFUND = "downgrade_refund"  # the pro-rata difference of a lower spec, given back
    UNSUBSCRIPTION_REFUND = "unsubscription_refund"  # what was paid for the unused time
    UNSUBSCRIPTION_FEE = "unsubscription_fee"  # the handling fee kept from that refund
    COMPENSATION = "compensation"  # an operator adjustment crediting the customer
    DEDUCTION = "deduction"  # an operator adjustment charging the customer


class BillCategory(StrEnum):
    """Huawei's three kinds of bill: consumption, refund, adjustment."""

    CONSUMPTION = "consumption"
    REFUND = "refund"
    ADJUSTMENT = "adjustment"


CATEGORY: dict[BillType, BillCategory] = {
    BillType.USAGE: BillCategory.CONSUMPTION,
    BillType.NEW_PURCHASE: BillCategory.CONSUMPTION,
    BillType.CONVERSION: BillCategory.CONSUMPTION,
    BillType.RENEWAL: BillCategory.CONSUMPTION,
    BillType.AUTO_RENEWAL: BillCategory.CONSUMPTION,
    BillType.UPGRADE: BillCategory.CONSUMPTION,
    BillType.DOWNGRADE_REFUND: BillCategory.REFUND,
    BillType.UNSUBSCRIPTION_REFUND: BillCategory.REFUND,
    BillType.UNSUBSCRIPTION_FEE: BillCategory.REFUND,
    BillType.COMPENSATION: BillCategory.ADJUSTMENT,
    BillType.DEDUCTION: BillCategory.ADJUSTMENT,
}

# Bill types whose trade is an order (their trade id is the order id).
ORDER_BILL_TYPES = frozenset(t for t in BillType if CATEGORY[t] is not BillCategory.ADJUSTMENT)
ORDER_BILL_TYPES -= {BillType.USAGE}


def types_of(category: BillCategory) -> list[str]:
    return sorted(str(t) for t, c in CATEGORY.items() if c is category)


@dataclass(frozen=True, slots=True)
class Attribution:
    """What a record is for, when it is not an order line: a resource (all of it from the
    resource), or only a service (and billing mode), or nothing named (empty texts)."""

    resource_id: str = ""
    service: str = ""
    resource_type: str = ""
    spec: str = ""
    region: str = ""
    billing_mode: str = ""

    def as_requested(self) -> dict[str, str]:
        """What names it (a request's identity): the resource, else the service and mode. The
        rest is read from the resource, whose spec may change before a request is retried."""
        if self.resource_id:
            return {"resource_id": self.resource_id}
        return {"service": self.service, "billing_mode": self.billing_mode}


@dataclass(frozen=True, slots=True)
class Expenditure:
    """One record to write for a trade (an order or an adjustment). Figures are units of 10**-8:
    amount = official - discount = coupon + cash + credit + debt; negative for money given back."""

    customer_id: str
    currency: str
    bill_type: BillType
    trade_id: str
    line_no: int
    resource_id: str
    service: str
    resource_type: str
    spec: str
    region: str
    billing_mode: str
    charged_at: datetime
    ledger_transaction_id: int | None
    official_units: int
    discount_units: int
    amount_units: int
    coupon_units: int = 0
    cash_units: int = 0
    credit_units: int = 0
    debt_units: int = 0
    period_unit: str = ""  # month | year | day: what `period_count` counts
    period_count: int = 0
    period_start: datetime | None = None
    period_end: datetime | None = None
    description: str | None = None

    def __post_init__(self) -> None:
        paid = self.coupon_units + self.cash_units + self.credit_units + self.debt_units
        assert self.official_units - self.discount_units == self.amount_units == paid, self
