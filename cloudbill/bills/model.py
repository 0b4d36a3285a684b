"""Bill data: exact figures (counts of 10**-8 currency units) and the documents made of them.

Nothing here is rounded; `rules.py` rounds once, where a document is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from ..expenditure.model import ORDER_BILL_TYPES
from ..kernel.limits import (  # noqa: F401 - this stage's bounds, re-exported for its modules
    BREAKDOWN_LINES_MAX,
    DAY_RANGE_MAX_DAYS,
    EXPORT_CHUNK_ROWS,
    FILTER_TEXT_MAX_CHARS,
    OFFSET_MAX,
    TREND_MONTHS_MAX,
)
from ..kernel.money import Rounding
from ..kernel.periods import Period

# The printed figures of a bill, in this order (CSV columns, JSON keys, CLI tables).
FIGURES = ("official", "discount", "amount", "coupon", "cash", "credit", "debt", "net")


class Granularity(StrEnum):
    HOUR = "hour"  # the fee records as stored
    DAY = "day"  # per resource, usage type and local day
    RESOURCE = "resource"  # per resource and usage type over the period


@dataclass(frozen=True, slots=True)
class Figures:
    """Exact sums of fee records. amount = official - discount = coupon + cash + credit + debt."""

    official_units: int = 0
    discount_units: int = 0
    amount_units: int = 0
    coupon_units: int = 0
    cash_units: int = 0
    credit_units: int = 0
    debt_units: int = 0

    @property
    def net_units(self) -> int:
        """Huawei's net amount: the amount due minus the cash coupons used."""
        return self.amount_units - self.coupon_units

    def units(self) -> dict[str, int]:
        return {
            "official": self.official_units,
            "discount": self.discount_units,
            "amount": self.amount_units,
            "coupon": self.coupon_units,
            "cash": self.cash_units,
            "credit": self.credit_units,
            "debt": self.debt_units,
            "net": self.net_units,
        }


@dataclass(frozen=True, slots=True)
class BillLine:
    """One line of a breakdown: its exact figures and each figure rounded once."""

    key: str
    exact: Figures
    rounded: dict[str, int]


@dataclass(frozen=True, slots=True)
class Breakdown:
    """Lines by one dimension. Per figure: sum(line.rounded) + rounding_adjustment == total."""

    dimension: str
    lines: list[BillLine]
    rounding_adjustment: dict[str, int]


@dataclass(frozen=True, slots=True)
class MonthlySummary:
    customer_id: str
    currency: str
    timezone: str
    month: str  # YYYY-MM in the customer's zone
    period: Period
    rounding: Rounding
    fee_records: int
    exact: Figures
    total: dict[str, int]  # each figure rounded once to the currency's digits
    breakdowns: list[Breakdown]

    @property
    def truncated(self) -> dict[str, int]:
        """What rounding took off each figure (Huawei's truncated amount): exact - total."""
        exact = self.exact.units()
        return {name: exact[name] - self.total[name] for name in FIGURES}


@dataclass(frozen=True, slots=True)
class Item:
    """What a fee is for: one resource and usage type (or period bought), how it was priced,
    and why it was billed (`bill_type`, expenditure.BillType). `resource_name` is the
    resource's name, empty when the record names no resource."""

    resource_id: str
    resource_name: str
    service: str
    resource_type: str
    spec: str
    region: str
    billing_mode: str
    usage_type: str
    pricing_unit: str
    bill_type: str


@dataclass(frozen=True, slots=True)
class FeeRecord:
    """An expenditure record: an hourly fee as settlement wrote it (one resource, usage type and
    billing hour), or a line of an order's payment or refund, or an operator adjustment.

    `hour_start` places it in the bill (the usage hour, or the instant charged); `charged_at` is
    when the money moved; `trade_id` is the order id or the adjustment's reference (None for
    hourly fees, whose trade is their settlement run)."""

    id: int
    settlement_id: int | None
    item: Item
    hour_start: datetime
    is_late: bool
    currency: str
    usage_e10: int
    package_usage_e10: int
    unit_price: str | None
    figures: Figures
    charged_at: datetime
    trade_id: str | None
    line_no: int | None
    period_start: datetime | None
    period_end: datetime | None
    description: str | None
    # The consumer: the member dimension of an enterprise master's consolidated bill.
    customer_id: str = ""

    @property
    def order_id(self) -> str | None:
        return self.trade_id if self.item.bill_type in ORDER_BILL_TYPES else None


@dataclass(frozen=True, slots=True)
class FeeGroup:
    """Fee records folded per item and local day (`day`) or over the whole period (no day)."""

    item: Item
    currency: str
    day: date | None
    first_hour: datetime
    last_hour: datetime
    records: int
    late_records: int
    usage_e10: int
    package_usage_e10: int
    figures: Figures
    customer_id: str = ""  # the consumer (member dimension), as on FeeRecord


@dataclass(frozen=True, slots=True)
class PackageUse:
    id: int
    package_id: str
    package_name: str
    usage_type: str
    pricing_unit: str
    resource_id: str
    hour_start: datetime
    period_start: datetime
    settlement_id: int
    quantity_e10: int


@dataclass(frozen=True, slots=True)
class TrendMonth:
    currency: str
    month: str  # YYYY-MM in the customer's zone
    period: Period
    amount_units: int  # exact
    net_units: int  # exact
    amount_rounded_units: int
    net_rounded_units: int
