"""Usage quantities in a pricing unit, as integer counts of 10**-10 of that unit (`*_e10`).

Huawei converts metered usage to the pricing unit and truncates it to 10 decimals; keeping the
result as an integer makes hour splits, package consumption and sums exact and fast.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal, localcontext

from .errors import CloudbillError, ErrorCode
from .limits import INT64_MAX

QUANTITY_PLACES = 10
QUANTITY_SCALE = 10**QUANTITY_PLACES


def to_e10(value: Decimal) -> int:
    """A non-negative decimal quantity, truncated to 10 decimals, as an integer."""
    with localcontext() as ctx:
        ctx.prec = 60
        scaled = value.scaleb(QUANTITY_PLACES).to_integral_value(rounding=ROUND_DOWN)
    result = int(scaled)
    if not 0 <= result <= INT64_MAX:
        raise CloudbillError(
            ErrorCode.AMOUNT_OUT_OF_RANGE, "quantity is outside the storable range"
        )
    return result


def from_e10(value: int) -> Decimal:
    return Decimal(value).scaleb(-QUANTITY_PLACES)


def e10_text(value: int) -> str:
    """Plain decimal text without trailing zeros (never scientific notation)."""
    text = format(from_e10(value), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def split_proportionally(total: int, weights: list[int]) -> list[int]:
    """Split `total` in proportion to `weights`, exactly: floors, then the remainder to the
    largest fractional parts (ties to the earlier piece). The parts always sum to `total`
    (a line's usage shared between the parts of an hour a package cuts)."""
    whole = sum(weights)
    if whole <= 0:
        raise ValueError("weights must sum to more than zero")
    parts = [total * w // whole for w in weights]
    remainders = [(total * w % whole, -i) for i, w in enumerate(weights)]
    for _, negative_index in sorted(remainders, reverse=True)[: total - sum(parts)]:
        parts[-negative_index] += 1
    return parts


def exact_e10(quantity: Decimal, source_factor: Decimal, target_factor: Decimal) -> tuple[int, int]:
    """`quantity` of a unit of `source_factor` base units, in 10**-10 of a unit of
    `target_factor` base units, exactly: (numerator, denominator), never truncated. Its floor is
    the record's stored quantity_e10; its parts are truncated one by one (`truncated_parts`)."""
    qn, qd = quantity.as_integer_ratio()
    sn, sd = Decimal(source_factor).as_integer_ratio()
    tn, td = Decimal(target_factor).as_integer_ratio()
    return qn * sn * td * QUANTITY_SCALE, qd * sd * tn


def truncated_parts(exact: tuple[int, int], weights: list[int]) -> list[int]:
    """Each part of an exact quantity (numerator, denominator) in proportion to `weights`,
    truncated on its own to 10 decimals, as Huawei bills each period's usage in the pricing
    unit: the parts may add up to a little less than the whole truncated once. Integers only
    (the settlement hot path): one product and one floor division a part."""
    whole = sum(weights)
    if whole <= 0:
        raise ValueError("weights must sum to more than zero")
    numerator, denominator = exact
    scale = denominator * whole
    return [numerator * w // scale for w in weights]
