"""Column-wise rating: `rules.rate()` over arrays of lines that share one price and discount.

Settlement rates a million lines an hour; one Python object and one Decimal sum per line is
what made it slow. Here a price becomes integers once (every unit price over one common
denominator, tier bounds in the same quantity steps), and the lines are rated with numpy
integer arithmetic: each result is exactly `rate()`'s, to the last 1e-8 unit, because both
round the same exact rational once, half up (kernel.money.round_ratio).

No float enters. Columns are int64 while every intermediate provably fits (a bound checked
before computing); otherwise object arrays of Python ints, the same formulas, exact at any size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from math import lcm

import numpy as np

from ..catalog.model import Discount, TierMode, UsagePrice
from ..kernel.limits import INT64_MAX, INT64_MIN
from ..kernel.money import SCALE
from ..kernel.quantity import QUANTITY_SCALE

# Below this every product, sum and doubled remainder of the int64 path stays inside int64.
_SAFE = 2**62
# 1e-10 of the pricing unit per 1e-8 of the currency: usage_e10 x price / 100 is in units.
_TO_UNITS = QUANTITY_SCALE // SCALE


@dataclass(frozen=True, slots=True)
class RatedColumns:
    """`rate()`'s three amounts per line; int64 arrays, or object arrays of ints past int64."""

    official_units: np.ndarray
    discount_units: np.ndarray
    amount_units: np.ndarray
    # Lines rate() would refuse (a tiered cost past int64) or whose amounts the books cannot
    # store: settlement prices their customers by rate() itself, which names the reason.
    outside: np.ndarray


@dataclass(frozen=True, slots=True)
class _Integral:
    """A price as integers: cost of q steps in tier i is q x prices[i] / denominator units,
    a step being 1 / (1e10 x quantity_steps) of the pricing unit."""

    prices: tuple[int, ...]  # per tier (one for a flat price)
    bounds: tuple[int | None, ...]  # each tier's up_to in steps (None: open)
    quantity_steps: int  # steps per 1e-10 of the pricing unit
    denominator: int  # steps x price -> 1e-8 units


def _integral(price: UsagePrice) -> _Integral:
    if price.tiers is None:
        assert price.price is not None
        num, den = price.price.as_integer_ratio()
        return _Integral((num,), (None,), 1, den * _TO_UNITS)
    ratios = [t.price.as_integer_ratio() for t in price.tiers]
    common = lcm(*(den for _, den in ratios))
    bounds = [None if t.up_to is None else Fraction(t.up_to) * QUANTITY_SCALE for t in price.tiers]
    steps = lcm(*(b.denominator for b in bounds if b is not None), 1)
    return _Integral(
        tuple(num * (common // den) for num, den in ratios),
        tuple(None if b is None else int(b * steps) for b in bounds),
        steps,
        common * steps * _TO_UNITS,
    )


def _column(values: Sequence[int], big: bool) -> np.ndarray:
    if big:
        column = np.empty(len(values), dtype=object)
        column[:] = [int(v) for v in values]
        return column
    return np.fromiter(values, dtype=np.int64, count=len(values))


def round_half_up(numerator: np.ndarray, denominator: int) -> np.ndarray:
    """numerator / denominator rounded half away from zero, elementwise (round_ratio's rule)."""
    magnitude = np.abs(numerator)
    quotient, remainder = magnitude // denominator, magnitude % denominator
    quotient = quotient + (2 * remainder >= denominator)
    return np.where(numerator < 0, -quotient, quotient)


def _graduated(start: np.ndarray, end: np.ndarray, p: _Integral, reach: int) -> list:  # type: ignore[type-arg]
    """Each part of [start, end) with the price of the tier it falls in (catalog.usage_cost).
    Bounds past `reach` (no quantity goes beyond it) act as `reach`: the same parts, and
    nothing outside the column's integer type."""
    parts = []
    lower = 0
    for tier_price, upper in zip(p.prices, p.bounds, strict=True):
        top = end if upper is None else np.minimum(end, min(upper, reach))
        part = top - np.maximum(start, lower)
        parts.append((np.where(part > 0, part, 0), tier_price))
        if upper is None:
            break
        lower = min(upper, reach)
    return parts


def _priced(parts: list, denominator: int) -> np.ndarray:  # type: ignore[type-arg]
    """Σ quantity x price / denominator, rounded half up once. Each quantity is taken apart
    into whole denominators and a remainder first, so no product grows past the official
    amount or denominator x price: int64 holds every-day prices with many decimals."""
    whole, rest = 0, 0
    for quantity, price in parts:
        whole = whole + (quantity // denominator) * price
        rest = rest + (quantity % denominator) * price
    return whole + round_half_up(rest, denominator)


def _volume(total: np.ndarray, p: _Integral, reach: int, ceiling: int) -> np.ndarray:
    """The month's total at the price of the tier it reached, capped by what reaching any
    later tier costs (catalog.volume_cost), in steps x price. No cost in the column exceeds
    `ceiling`, so a cap above it never applies and is left out."""
    cost = np.zeros_like(total)
    reached = np.zeros(total.shape, dtype=bool)
    lower = 0
    for tier_price, upper in zip(p.prices, p.bounds, strict=True):
        here = ~reached if upper is None else ~reached & (total <= min(upper, reach))
        # a total that reached an earlier tier costs at most this tier's start at its price
        cap = lower * tier_price
        if cap < ceiling:
            cost = np.where(reached, np.minimum(cost, cap), cost)
        cost = np.where(here, total * tier_price, cost)
        reached = reached | here
        if upper is None:
            break
        lower = upper
    return cost


def rate_columns(
    billed_e10: Sequence[int], already_e10: Sequence[int], price: UsagePrice,
    discount: Discount | None,
) -> RatedColumns:  # fmt: skip
    """`rate(billed, price, already, discount)` of each line, as columns. Quantities must be
    non-negative (rate() refuses negative ones for tiers; settlement never bills them)."""
    assert len(billed_e10) == len(already_e10)
    p = _integral(price)
    if not len(billed_e10):
        empty = np.zeros(0, dtype=np.int64)
        return RatedColumns(empty, empty, empty, np.zeros(0, dtype=bool))
    assert min(billed_e10) >= 0 and min(already_e10) >= 0, "rated quantities are never negative"
    reach = (max(billed_e10) + max(already_e10)) * p.quantity_steps
    ceiling = reach * max(*p.prices, 1)
    if price.tier_mode == TierMode.VOLUME and price.tiers is not None:
        big = 2 * ceiling >= _SAFE or 2 * p.denominator >= _SAFE
    else:  # see _priced: the remainders' sum, and the whole parts' sum
        total = sum(p.prices)
        big = (
            2 * reach >= _SAFE
            or 2 * total * max(p.denominator, reach // p.denominator + 1) >= _SAFE
        )
    billed, already = _column(billed_e10, big), _column(already_e10, big)
    if price.tiers is None:
        official = _priced([(billed, p.prices[0])], p.denominator)
        outside = _past_int64(official)
    elif price.tier_mode == TierMode.VOLUME:
        # Each of the month's two costs rounded by itself, as rate() does: the hours telescope.
        after = _volume((already + billed) * p.quantity_steps, p, reach, ceiling)
        before = _volume(already * p.quantity_steps, p, reach, ceiling)
        after, before = round_half_up(after, p.denominator), round_half_up(before, p.denominator)
        official = after - before
        outside = _past_int64(after) | _past_int64(before)
    else:
        start = already * p.quantity_steps
        end = start + billed * p.quantity_steps
        official = _priced(_graduated(start, end, p, reach), p.denominator)
        outside = _past_int64(official)
    off = _discounts(official, discount, big)
    amount = official - off
    outside = outside | _past_int64(official) | _past_int64(off) | _past_int64(amount)
    return RatedColumns(official, off, amount, outside)


def _past_int64(values: np.ndarray) -> np.ndarray:
    if values.dtype != object:
        return np.zeros(values.shape, dtype=bool)
    return ((values > INT64_MAX) | (values < INT64_MIN)).astype(bool)


def _discounts(official: np.ndarray, discount: Discount | None, big: bool) -> np.ndarray:
    """catalog.discount_of at 8 decimals: official x percent / 100, rounded half up once
    (away from zero: taken on the magnitude, then signed)."""
    if discount is None:
        return np.zeros_like(official)
    num, den = Decimal(discount.percent).as_integer_ratio()
    magnitude = np.abs(official)
    largest = int(magnitude.max()) if len(magnitude) else 0
    most = num * max(100 * den, largest // (100 * den) + 1)
    if not big and 2 * most >= _SAFE:
        magnitude = _column(magnitude.tolist(), True)
    off = _priced([(magnitude, num)], 100 * den)
    return np.where(official < 0, -off, off)
