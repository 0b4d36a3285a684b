"""How the console shows money and time: money at the currency's digits (the exact value on
hover), instants in the customer's time zone with the zone named."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from ..kernel.currency import CURRENCY_DIGITS
from ..kernel.money import Rounding
from ..kernel.periods import zone


def shown_money(exact: object, currency: str, rounding: Rounding = Rounding.HALF_UP) -> str:
    """`exact` (a decimal string as the views give it) at the currency's digits, grouped:
    "1,234.57". The rounding is the bills' (Rounding), so a figure reads as its bill does."""
    try:
        value = Decimal(str(exact))
    except (InvalidOperation, ValueError):
        return str(exact)
    digits = CURRENCY_DIGITS.get(currency, 2)
    rounded = value.quantize(Decimal(1).scaleb(-digits), rounding=Rounding(rounding).decimal_mode)
    if rounded.is_zero():
        rounded = abs(rounded)  # -0.004 shows as 0.00, not -0.00
    return f"{rounded:,.{digits}f}"


def exact_money(exact: object) -> str:
    """The exact value, trailing zeros past two decimals dropped: "12.34500000" -> "12.345"."""
    try:
        value = Decimal(str(exact))
    except (InvalidOperation, ValueError):
        return str(exact)
    text = f"{value:f}"
    if "." in text:
        whole, frac = text.split(".")
        frac = frac.rstrip("0").ljust(2, "0")
        text = f"{whole}.{frac}"
    return text


def nonzero(exact: object) -> bool:
    try:
        return Decimal(str(exact)) != 0
    except (InvalidOperation, ValueError):
        return False


def parse_instant(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def local_time(value: object, tz: str, *, with_time: bool = True) -> str:
    """An instant in the zone `tz`, named: "2026-03-16 15:00 (Asia/Shanghai)"."""
    moment = parse_instant(value)
    if moment is None:
        return "—" if value in (None, "") else str(value)
    local = moment.astimezone(zone(tz))
    shown = local.strftime("%Y-%m-%d %H:%M") if with_time else local.strftime("%Y-%m-%d")
    return f"{shown} ({tz})"
