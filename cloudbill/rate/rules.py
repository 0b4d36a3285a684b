"""Pure rating rules.

A usage record is metered by the second and billed by the hour: its quantity is split between
the clock hours its interval touches, in proportion to the time in each, each hour's piece
truncated to 10 decimals in the pricing unit by itself (Huawei's rule; see split_record).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ..catalog.model import Discount, TierMode, UsagePrice
from ..catalog.pricing import (
    FEE_ROUNDING,
    discount_of,
    flat_official_units,
    usage_cost,
    volume_cost,
)
from ..kernel.money import SCALE_DIGITS, Money
from ..kernel.periods import Period, hour_floor, split_by_hour
from ..kernel.quantity import from_e10, truncated_parts


def split_record(
    start: datetime,
    end: datetime,
    first_hour: datetime,
    last_hour: datetime,
    quantity_e10: int,
    exact: tuple[int, int] | None = None,
) -> list[tuple[datetime, int]]:
    """(hour, quantity) pieces of one record, in hour order.

    Each hour's piece is the record's exact quantity in the pricing unit (`exact`, from its
    quantity as sent: kernel.quantity.exact_e10) times the hour's share of the interval,
    truncated to 10 decimals by itself: Huawei's bills show each period's usage in the pricing
    unit that way (usage / conversion factor, truncated). The pieces may add up to a little
    less than `quantity_e10`, the whole truncated once, never more. A piece depends on its
    own hour only, so the split never depends on when it is computed. Without `exact` (the
    catalog lost the record's unit) the stored quantity_e10 stands for the record's quantity.
    """
    if first_hour == last_hour:
        return [(first_hour, quantity_e10)]
    pieces = list(split_by_hour(Period(start, end)))
    parts = truncated_parts(exact or (quantity_e10, 1), [p.microseconds for p in pieces])
    return [(hour_floor(p.start), part) for p, part in zip(pieces, parts, strict=True)]


@dataclass(frozen=True, slots=True)
class Rated:
    official_units: int
    discount_units: int
    amount_units: int
    unit_price: Decimal | None  # None when tiered


def rate(
    billed_e10: int,
    price: UsagePrice,
    already_e10: int,
    discount: Discount | None,
    currency: str,
) -> Rated:
    """Official price of `billed_e10` after `already_e10` this month (the customer's billed
    quantity of this spec and usage type in the month so far), then the discount.

    Rounded once to 8 decimals by the fee rule; official = discount + amount exactly."""
    if price.tiers is None:
        assert price.price is not None
        official = flat_official_units(billed_e10, price.price)
    elif price.tier_mode == TierMode.VOLUME:
        # The month's cost after this hour less its cost before, each rounded by the fee rule:
        # the hours of a month telescope to exactly the month's cost at 8 decimals.
        after = volume_cost(price, from_e10(already_e10 + billed_e10))
        before = volume_cost(price, from_e10(already_e10))
        official = (
            Money.from_decimal(after, currency, rounding=FEE_ROUNDING).units
            - Money.from_decimal(before, currency, rounding=FEE_ROUNDING).units
        )
    else:
        exact = usage_cost(price, from_e10(billed_e10), from_e10(already_e10))
        official = Money.from_decimal(exact, currency, rounding=FEE_ROUNDING).units
    off = (
        0
        if discount is None
        else discount_of(official, discount.percent, rounding=FEE_ROUNDING, places=SCALE_DIGITS)
    )
    return Rated(official, off, official - off, price.price)
