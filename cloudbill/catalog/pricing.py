"""Pure pricing: unit conversion, tiers, discounts, quotes.

Huawei's precision chain: usage converted to the pricing unit is truncated to 10 decimals; a
pay-per-use charge is computed at 8 decimals; a yearly/monthly order at the currency's digits.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, localcontext

from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.money import SCALE, SCALE_DIGITS, Money, Rounding, round_ratio
from ..kernel.quantity import QUANTITY_SCALE
from .model import BillingMode, Discount, MeasureUnit, PeriodUnit, TierMode, UsagePrice

QUANTITY_PLACES = 10
FEE_ROUNDING = Rounding.HALF_UP  # a pay-per-use charge, rounded once to 8 decimals
ONE_HUNDRED = Decimal(100)


def convert_quantity(quantity: Decimal, source: MeasureUnit, target: MeasureUnit) -> Decimal:
    """`quantity` in `source` units expressed in `target` units, truncated to 10 decimals."""
    if source.dimension != target.dimension:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT,
            f"unit {source.code} ({source.dimension}) cannot convert to "
            f"{target.code} ({target.dimension})",
        )
    with localcontext() as ctx:
        ctx.prec = 60
        value = quantity * source.factor / target.factor
        return value.quantize(Decimal(1).scaleb(-QUANTITY_PLACES), rounding=ROUND_DOWN)


def usage_cost(price: UsagePrice, quantity: Decimal, already_used: Decimal = Decimal(0)) -> Decimal:
    """Exact official cost of `quantity` (pricing unit) after `already_used` this month.

    Graduated tiers (the default): each part of the usage is priced by the tier it falls in.
    Volume tiers: what the month's total after this usage costs less what it cost before
    (`volume_cost`), so that the parts of a month always add up to the month's price.
    """
    if quantity < 0 or already_used < 0:
        raise CloudbillError(ErrorCode.INVALID_ARGUMENT, "quantities cannot be negative")
    with localcontext() as ctx:
        ctx.prec = 60
        if price.tiers is None:
            assert price.price is not None
            return quantity * price.price
        if price.tier_mode == TierMode.VOLUME:
            return volume_cost(price, already_used + quantity) - volume_cost(price, already_used)
        total = Decimal(0)
        lower = Decimal(0)
        start, end = already_used, already_used + quantity
        for tier in price.tiers:
            upper = tier.up_to
            part_start = max(start, lower)
            part_end = end if upper is None else min(end, upper)
            if part_end > part_start:
                total += (part_end - part_start) * tier.price
            if upper is None or end <= upper:
                break
            lower = upper
        return total


def volume_cost(price: UsagePrice, total: Decimal) -> Decimal:
    """Exact official cost of a month's `total` (pricing unit) under volume tiers.

    The whole total is priced at the unit price of the tier it reached (a tier holds the
    quantities above the previous bound, up to and including its own `up_to`), but never more
    than the least a larger total would cost: the start of any later tier, at that tier's
    price. Without that cap a cheaper tier makes the cost fall as usage grows, and hourly
    settlement, which bills the growth of this cost, would have to bill a negative hour (a
    refund of fees already paid by coupons, cash or credit) or, clamping it, bill the month
    more than its volume price. With it the cost only grows, every hour's part is >= 0, and
    the month's parts add up to exactly this cost, never above the volume price of the total
    (the "deficit" rule of volume-priced freight rates).
    """
    assert price.tiers is not None
    with localcontext() as ctx:
        ctx.prec = 60
        cost: Decimal | None = None
        lower = Decimal(0)
        for tier in price.tiers:
            if cost is None and (tier.up_to is None or total <= tier.up_to):
                cost = total * tier.price  # the tier the total reached
            elif cost is not None:
                cost = min(cost, lower * tier.price)  # reaching this later tier costs at least
            if tier.up_to is None:
                break
            lower = tier.up_to
        assert cost is not None  # the last tier has no bound (model.py)
        return cost


def applicable(
    discount: Discount,
    *,
    customer_id: str | None,
    customer_level: int | None,
    service: str,
    billing_mode: BillingMode,
    period_unit: PeriodUnit | None,
) -> bool:
    if discount.customer_id is not None and discount.customer_id != customer_id:
        return False
    if discount.customer_level is not None and discount.customer_level != customer_level:
        return False
    if discount.service is not None and discount.service != service:
        return False
    if discount.billing_mode is not None and discount.billing_mode != billing_mode:
        return False
    return discount.period_unit is None or discount.period_unit == period_unit


def best_discount(
    discounts: tuple[Discount, ...],
    *,
    customer_id: str | None,
    customer_level: int | None,
    service: str,
    billing_mode: BillingMode,
    period_unit: PeriodUnit | None = None,
) -> Discount | None:
    """The single best applicable discount (discounts do not stack); first wins a tie."""
    best: Discount | None = None
    for discount in discounts:
        if applicable(
            discount,
            customer_id=customer_id,
            customer_level=customer_level,
            service=service,
            billing_mode=billing_mode,
            period_unit=period_unit,
        ) and (best is None or discount.percent > best.percent):
            best = discount
    return best


@dataclass(frozen=True, slots=True)
class Quote:
    official: Money
    discount: Money
    amount: Money
    discount_id: str | None
    discount_name: str | None = None  # the catalog's name of that discount

    def as_dict(self) -> dict[str, str | None]:
        return {
            "currency": self.official.currency,
            "official_amount": self.official.to_text(),
            "discount_amount": self.discount.to_text(),
            "amount": self.amount.to_text(),
            "discount_id": self.discount_id,
            "discount_name": self.discount_name,
        }


def discount_of(official_units: int, percent: Decimal, *, rounding: Rounding, places: int) -> int:
    """The discount on an official amount (in 1e-8 units), rounded once to `places` decimals."""
    numerator, denominator = percent.as_integer_ratio()
    step = 10 ** (SCALE_DIGITS - places)  # units per smallest step at `places` decimals
    return round_ratio(official_units * numerator, denominator * 100 * step, rounding) * step


def flat_official_units(usage_e10: int, unit_price: Decimal) -> int:
    """usage (1e-10 of the pricing unit) x unit price, rounded once to 8 decimals (1e-8 units).

    Integer arithmetic: the hot path of settlement rates a million lines an hour this way."""
    numerator, denominator = unit_price.as_integer_ratio()
    return round_ratio(usage_e10 * numerator, denominator * QUANTITY_SCALE // SCALE, FEE_ROUNDING)


def quote(
    official_exact: Decimal,
    currency: str,
    discount: Discount | None,
    *,
    rounding: Rounding,
    places: int,
) -> Quote:
    """Round the official price once, derive the discount from it, and amount = official - discount.

    Both roundings use the same named rule, so `official = discount + amount` always holds.
    """
    official = Money.from_decimal(official_exact, currency, rounding=rounding, places=places)
    off_units = (
        0
        if discount is None
        else discount_of(official.units, discount.percent, rounding=rounding, places=places)
    )
    off = Money(off_units, currency)
    if discount is None:
        return Quote(official, off, official - off, None)
    return Quote(official, off, official - off, discount.id, discount.name)
