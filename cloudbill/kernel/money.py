"""Exact money.

An amount is an integer count of 10**-8 of a currency unit (`units`), which carries Huawei's
8-decimal usage amounts exactly. One movement of money fits int64 (up to about 92 billion
currency units); a balance, the sum of many, may grow to 10**22 currency units (`check_book`).
No float ever enters: text and Decimal in, integers inside, text out.

`Money.from_decimal` is the one place a rounding happens, and it names its rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from enum import StrEnum

from .currency import currency_digits, normalize_currency
from .errors import CloudbillError, ErrorCode
from .limits import AMOUNT_TEXT_MAX_CHARS, BOOK_UNITS_MAX, INT64_MAX, INT64_MIN

SCALE_DIGITS = 8
SCALE = 10**SCALE_DIGITS

_AMOUNT_RE = re.compile(r"^[+-]?([0-9]+)(?:\.([0-9]+))?$")  # ASCII digits only


class Rounding(StrEnum):
    """Named rounding rules. `HALF_UP` is Huawei's international site; `TRUNCATE` its China site."""

    HALF_UP = "half_up"
    TRUNCATE = "truncate"

    @property
    def decimal_mode(self) -> str:
        return ROUND_HALF_UP if self is Rounding.HALF_UP else ROUND_DOWN


def round_ratio(numerator: int, denominator: int, rounding: Rounding) -> int:
    """numerator / denominator rounded to an integer by the named rule (half-up: away from zero
    at exactly one half; truncate: toward zero). The one rounding of cloudbill: `from_decimal`
    and the columnar settlement both come here."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    quotient, remainder = divmod(abs(numerator), denominator)
    if rounding is Rounding.HALF_UP and 2 * remainder >= denominator:
        quotient += 1
    return quotient if numerator >= 0 else -quotient


def check_int64(units: int, what: str = "amount") -> int:
    if not INT64_MIN <= units <= INT64_MAX:
        raise CloudbillError(
            ErrorCode.AMOUNT_OUT_OF_RANGE, f"{what} is outside the storable range", units=str(units)
        )
    return units


def check_book(units: int, what: str = "balance") -> int:
    """A balance (a sum of movements): within what the books hold."""
    if not -BOOK_UNITS_MAX <= units <= BOOK_UNITS_MAX:
        raise CloudbillError(
            ErrorCode.AMOUNT_OUT_OF_RANGE, f"{what} is outside the storable range", units=str(units)
        )
    return units


def parse_decimal(value: object, *, what: str = "amount") -> Decimal:
    """Parse an exact decimal from outside. Floats are refused: they are not exact."""
    if isinstance(value, (bool, float)):
        raise CloudbillError(
            ErrorCode.INVALID_AMOUNT,
            f"{what} must be given as a decimal string or integer, not a float",
        )
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise CloudbillError(ErrorCode.INVALID_AMOUNT, f"{what} must be a finite number")
        return value
    if not isinstance(value, str):
        raise CloudbillError(ErrorCode.INVALID_AMOUNT, f"{what} must be a decimal string")
    text = value.strip()
    if len(text) > AMOUNT_TEXT_MAX_CHARS or not _AMOUNT_RE.match(text):
        raise CloudbillError(
            ErrorCode.INVALID_AMOUNT,
            f"{what} {value[:AMOUNT_TEXT_MAX_CHARS]!r} is not a plain decimal number like 12.50",
        )
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex already admits only valid text
        raise CloudbillError(ErrorCode.INVALID_AMOUNT, f"{what} is not a number") from None


def decimal_places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


@dataclass(frozen=True, slots=True, order=False)
class Money:
    units: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.units, int) or isinstance(self.units, bool):
            raise TypeError("Money.units must be an int")
        check_book(self.units)  # a balance as well as one amount

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def parse(cls, value: object, currency: object, *, max_places: int | None = None) -> Money:
        """An amount typed by a person or sent by a client: exact, no rounding.

        At most `max_places` decimals (default: the currency's ISO digits), so "10.001 USD" is
        refused rather than silently rounded.
        """
        code = normalize_currency(currency)
        amount = parse_decimal(value)
        places = currency_digits(code) if max_places is None else max_places
        if decimal_places(amount) > places:
            raise CloudbillError(
                ErrorCode.TOO_MANY_DECIMALS,
                f"{code} amounts take at most {places} decimal places, got {amount}",
                currency=code,
            )
        with localcontext() as ctx:
            ctx.prec = 60
            return cls(check_int64(int(amount.scaleb(SCALE_DIGITS))), code)

    @classmethod
    def from_decimal(
        cls, value: Decimal, currency: str, *, rounding: Rounding, places: int = SCALE_DIGITS
    ) -> Money:
        """The one rounding in cloudbill: `value` rounded to `places` decimals by `rounding`."""
        if not 0 <= places <= SCALE_DIGITS:
            raise ValueError("places must be between 0 and 8")
        if not value.is_finite():
            raise CloudbillError(ErrorCode.INVALID_AMOUNT, "amount must be a finite number")
        sign, digits, exponent = value.as_tuple()
        numerator = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
        assert isinstance(exponent, int)
        # value = numerator * 10**exponent; express it in units of 10**-places, then rescale.
        shift = exponent + places
        if shift >= 0:
            whole = numerator * 10**shift
        else:
            whole = round_ratio(numerator, 10**-shift, rounding)
        return cls(check_int64(whole * 10 ** (SCALE_DIGITS - places)), currency)

    # -- views --------------------------------------------------------------------------------
    @property
    def digits(self) -> int:
        return currency_digits(self.currency)

    def to_decimal(self) -> Decimal:
        """Exact value, shown with at least the currency's digits and no trailing zeros beyond."""
        value = Decimal(self.units).scaleb(-SCALE_DIGITS)
        places = max(self.digits, decimal_places(value))
        return value.quantize(Decimal(1).scaleb(-places))

    def to_text(self) -> str:
        return format(self.to_decimal(), "f")  # never scientific notation

    def __str__(self) -> str:
        return f"{self.to_text()} {self.currency}"

    def round_to_currency(self, rounding: Rounding) -> Money:
        return Money.from_decimal(
            Decimal(self.units).scaleb(-SCALE_DIGITS),
            self.currency,
            rounding=rounding,
            places=self.digits,
        )

    # -- arithmetic ---------------------------------------------------------------------------
    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError("Money arithmetic needs Money")
        if other.currency != self.currency:
            raise CloudbillError(
                ErrorCode.CURRENCY_MISMATCH,
                f"cannot combine {self.currency} and {other.currency}",
            )

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.units + other.units, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.units - other.units, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.units, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.units < other.units

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.units <= other.units

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.units > other.units

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.units >= other.units

    def is_zero(self) -> bool:
        return self.units == 0

    def is_positive(self) -> bool:
        return self.units > 0

    def min(self, other: Money) -> Money:
        return self if self <= other else other


def units_to_text(units: int, currency: str) -> str:
    return Money(units, currency).to_text()
