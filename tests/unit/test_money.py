"""Money: exact parsing, one named rounding, int64 bounds, ISO digits."""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudbill.kernel.errors import CloudbillError, ErrorCode
from cloudbill.kernel.limits import BOOK_UNITS_MAX, INT64_MAX
from cloudbill.kernel.money import SCALE, Money, Rounding


def test_parse_exact_text_and_integers() -> None:
    assert Money.parse("12.34", "usd") == Money(1234 * SCALE // 100, "USD")
    assert Money.parse(7, "EUR").units == 7 * SCALE
    assert Money.parse(Decimal("0.01"), "CNY").units == SCALE // 100
    assert Money.parse("1500", "JPY").to_text() == "1500"


@pytest.mark.parametrize(
    ("value", "currency", "code"),
    [
        (12.5, "USD", ErrorCode.INVALID_AMOUNT),  # floats are never exact
        (True, "USD", ErrorCode.INVALID_AMOUNT),
        ("1e3", "USD", ErrorCode.INVALID_AMOUNT),
        ("1,000", "USD", ErrorCode.INVALID_AMOUNT),
        ("abc", "USD", ErrorCode.INVALID_AMOUNT),
        ("", "USD", ErrorCode.INVALID_AMOUNT),
        ("NaN", "USD", ErrorCode.INVALID_AMOUNT),
        (Decimal("Infinity"), "USD", ErrorCode.INVALID_AMOUNT),
        ("10.001", "USD", ErrorCode.TOO_MANY_DECIMALS),
        ("1.5", "JPY", ErrorCode.TOO_MANY_DECIMALS),
        ("1.0001", "BHD", ErrorCode.TOO_MANY_DECIMALS),
        ("10", "XXX", ErrorCode.UNKNOWN_CURRENCY),
        ("10", "US", ErrorCode.UNKNOWN_CURRENCY),
        ("10", None, ErrorCode.UNKNOWN_CURRENCY),
        ("99999999999999999999", "USD", ErrorCode.AMOUNT_OUT_OF_RANGE),
    ],
)
def test_parse_refuses_bad_input(value: object, currency: object, code: ErrorCode) -> None:
    with pytest.raises(CloudbillError) as info:
        Money.parse(value, currency)
    assert info.value.code == code


def test_trailing_zeros_within_currency_digits_are_fine() -> None:
    assert Money.parse("10.100", "USD", max_places=8).units == Money.parse("10.10", "USD").units
    assert Money.parse("10.10000", "USD").units == 1010 * SCALE // 100


def test_from_decimal_names_its_rule() -> None:
    value = Decimal("0.123456785")
    assert Money.from_decimal(value, "USD", rounding=Rounding.HALF_UP).units == 12345679
    assert Money.from_decimal(value, "USD", rounding=Rounding.TRUNCATE).units == 12345678
    assert Money.from_decimal(Decimal("2.005"), "USD", rounding=Rounding.HALF_UP, places=2) == (
        Money.parse("2.01", "USD")
    )
    assert Money.from_decimal(Decimal("2.009"), "USD", rounding=Rounding.TRUNCATE, places=2) == (
        Money.parse("2.00", "USD")
    )


def test_round_to_currency_uses_iso_digits() -> None:
    assert (
        Money.parse("1.23456789", "USD", max_places=8).round_to_currency(Rounding.HALF_UP).to_text()
        == "1.23"
    )
    assert (
        Money.parse("1234.5", "JPY", max_places=8).round_to_currency(Rounding.HALF_UP).to_text()
        == "1235"
    )
    assert (
        Money.parse("1234.5", "JPY", max_places=8).round_to_currency(Rounding.TRUNCATE).to_text()
        == "1234"
    )


def test_text_shows_at_least_currency_digits_and_keeps_precision() -> None:
    assert Money.parse("5", "USD").to_text() == "5.00"
    assert Money(1, "USD").to_text() == "0.00000001"
    assert Money(-150_000_000, "USD").to_text() == "-1.50"


def test_one_amount_fits_int64_and_a_balance_the_books() -> None:
    assert (Money(INT64_MAX, "USD") + Money(1, "USD")).units == INT64_MAX + 1  # a balance
    Money(BOOK_UNITS_MAX, "VND")
    with pytest.raises(CloudbillError) as info:
        Money(BOOK_UNITS_MAX, "VND") + Money(1, "VND")
    assert info.value.code == ErrorCode.AMOUNT_OUT_OF_RANGE
    with pytest.raises(CloudbillError) as info:  # one movement typed in: within int64
        Money.parse("92233720368.54775808", "USD", max_places=8)
    assert info.value.code == ErrorCode.AMOUNT_OUT_OF_RANGE


def test_currencies_do_not_mix() -> None:
    with pytest.raises(CloudbillError) as info:
        Money.parse("1", "USD") + Money.parse("1", "EUR")
    assert info.value.code == ErrorCode.CURRENCY_MISMATCH


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_text_round_trips_exactly(units: int) -> None:
    money = Money(units, "USD")
    assert Money.parse(money.to_text(), "USD", max_places=8) == money


@given(
    st.decimals(min_value=-(10**9), max_value=10**9, allow_nan=False, allow_infinity=False),
    st.sampled_from(list(Rounding)),
)
def test_rounding_moves_less_than_one_quantum(value: Decimal, rule: Rounding) -> None:
    rounded = Money.from_decimal(value, "USD", rounding=rule, places=2).to_decimal()
    with localcontext() as exact:
        # the default 28 digits would round a difference of 0.00999…9 up to exactly 0.01
        exact.prec = 100
        assert abs(rounded - value) < Decimal("0.01")
    if rule is Rounding.TRUNCATE:
        assert abs(rounded) <= abs(value)
