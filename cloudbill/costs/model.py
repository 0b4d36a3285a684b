"""What a cost query asks and what it answers. Figures are units of 10**-8, exact."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class CostType(StrEnum):
    ORIGINAL = "original"  # as billed: each fee record on the day it was charged
    AMORTIZED = "amortized"  # a yearly/monthly purchase spread over the days it pays for


class AmountType(StrEnum):
    AMOUNT = "amount"  # amount due: official price after discounts
    NET = "net"  # net amount: amount due less the cash coupons used


class Granularity(StrEnum):
    DAY = "day"
    MONTH = "month"


class Dimension(StrEnum):
    """What costs can be grouped and filtered by; each is a column of the fee records."""

    SERVICE = "service"
    RESOURCE_TYPE = "resource_type"
    REGION = "region"
    BILLING_MODE = "billing_mode"
    USAGE_TYPE = "usage_type"
    BILL_TYPE = "bill_type"
    SPEC = "spec"
    RESOURCE = "resource"
    # the account that consumed: the customer itself, or for an enterprise master one of the
    # unified members it paid for (Huawei's ASSOCIATED_ACCOUNT)
    ACCOUNT = "account"


COLUMN: dict[Dimension, str] = {
    d: {Dimension.RESOURCE: "resource_id", Dimension.ACCOUNT: "customer_id"}.get(d, str(d))
    for d in Dimension
}


@dataclass(frozen=True, slots=True)
class Filter:
    """Keep only the records whose `dimension` is one of `values`, or (exclude) none of them."""

    dimension: Dimension
    values: tuple[str, ...]
    exclude: bool = False


@dataclass(frozen=True, slots=True)
class CostQuery:
    """Local dates `first` to `last` (both included) in the customer's zone; by month the
    months that hold them (`first` the 1st, `last` the month's last day)."""

    first: date
    last: date
    granularity: Granularity = Granularity.MONTH
    cost_type: CostType = CostType.ORIGINAL
    amount_type: AmountType = AmountType.AMOUNT
    group_by: tuple[Dimension, ...] = ()
    filters: tuple[Filter, ...] = ()


@dataclass(frozen=True, slots=True)
class Figure:
    amount_units: int = 0  # amount due or net amount, as the query asked
    official_units: int = 0

    def __add__(self, other: Figure) -> Figure:
        return Figure(
            self.amount_units + other.amount_units, self.official_units + other.official_units
        )


@dataclass(frozen=True, slots=True)
class CostRow:
    """One group (its values in the order of `group_by`) and its cost in each bucket."""

    key: tuple[str, ...]
    buckets: dict[str, Figure] = field(default_factory=dict)

    @property
    def total(self) -> Figure:
        result = Figure()
        for figure in self.buckets.values():
            result += figure
        return result


@dataclass(frozen=True, slots=True)
class CostReport:
    currency: str
    timezone: str
    query: CostQuery
    labels: tuple[str, ...]  # the buckets, in order: YYYY-MM-DD by day, YYYY-MM by month
    rows: tuple[CostRow, ...]  # by total cost, largest first

    @property
    def totals(self) -> dict[str, Figure]:
        result = {label: Figure() for label in self.labels}
        for row in self.rows:
            for label, figure in row.buckets.items():
                result[label] += figure
        return result

    @property
    def total(self) -> Figure:
        result = Figure()
        for figure in self.totals.values():
            result += figure
        return result
