"""Customer rules: where a top-up goes, how a charge is paid, the overview figures."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from cloudbill.customers.model import Customer, CustomerStatus, PaymentMode
from cloudbill.customers.rules import overview, split_charge, split_topup
from cloudbill.ledger.model import AccountKind

NOW = datetime(2026, 1, 1, tzinfo=UTC)
amounts = st.integers(min_value=0, max_value=10**14)


def _customer(mode: PaymentMode = PaymentMode.PREPAID, limit: int = 0) -> Customer:
    return Customer("c", "c", None, None, "USD", mode, limit, 1, "UTC", CustomerStatus.ACTIVE,
                    None, NOW, NOW)  # fmt: skip


def test_topup_writes_off_debt_first() -> None:
    split = split_topup(100, debt_units=30, unpaid_units=50)
    assert (split.debt_written_off_units, split.unpaid_repaid_units, split.cash_credited_units) == (
        30, 50, 20,
    )  # fmt: skip
    partial = split_topup(10, debt_units=30, unpaid_units=50)
    assert (partial.debt_written_off_units, partial.cash_credited_units) == (10, 0)


@given(amounts, amounts, amounts)
def test_topup_split_is_complete_and_ordered(amount: int, debt: int, unpaid: int) -> None:
    s = split_topup(amount, debt, unpaid)
    assert s.debt_written_off_units + s.unpaid_repaid_units + s.cash_credited_units == amount
    assert s.debt_written_off_units <= debt and s.unpaid_repaid_units <= unpaid
    assert s.unpaid_repaid_units == 0 or s.debt_written_off_units == debt
    assert s.cash_credited_units == 0 or (s.debt_written_off_units, s.unpaid_repaid_units) == (
        debt, unpaid,
    )  # fmt: skip


def test_postpaid_charge_uses_credit_then_debt() -> None:
    figures = overview(
        _customer(PaymentMode.POSTPAID, limit=1000),
        {AccountKind.CASH: 100, AccountKind.UNPAID: 800},
    )
    assert figures.available_credit_units == 200
    assert figures.expenditure_quota_units == 300
    split = split_charge(450, figures)
    assert (split.from_cash_units, split.to_unpaid_units, split.to_debt_units) == (100, 200, 150)


def test_prepaid_has_no_credit_even_with_a_stale_limit() -> None:
    figures = overview(_customer(limit=1000), {AccountKind.CASH: 5, AccountKind.COUPON: 7})
    assert figures.available_credit_units == 0
    assert figures.expenditure_quota_units == 12
    assert not figures.in_arrears


@given(amounts, amounts, amounts, amounts, st.integers(min_value=0, max_value=10**14))
def test_charge_split_never_overdraws(amount, cash, unpaid, debt, limit):  # type: ignore[no-untyped-def]
    figures = overview(
        _customer(PaymentMode.POSTPAID, limit),
        {AccountKind.CASH: cash, AccountKind.UNPAID: unpaid, AccountKind.DEBT: debt},
    )
    s = split_charge(amount, figures)
    assert s.from_cash_units + s.to_unpaid_units + s.to_debt_units == amount
    assert s.from_cash_units <= cash
    assert unpaid + s.to_unpaid_units + debt <= max(limit, unpaid + debt)
    assert figures.in_arrears == (debt > 0)
    assert figures.withdrawable_units == (0 if debt > 0 else cash)
