"""Pure bill rules: lines rounded so that they add up to a rounded total (Huawei's monthly sum),
and the expenditure records of an unsubscription (refund before the fee, and the fee)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from cloudbill.bills.model import FIGURES, Figures
from cloudbill.bills.rules import add_figures, allocate_rounded, round_figures
from cloudbill.kernel.money import Rounding
from cloudbill.orders.model import Order, OrderLine, OrderSource, OrderStatus, OrderType
from cloudbill.orders.records import unsubscription_records

STEP = 1_000_000  # 0.01 USD in units of 10**-8


def line(amount: int, coupon: int = 0) -> Figures:
    return Figures(amount, 0, amount, coupon, amount - coupon, 0, 0)


def test_three_thirds_print_as_one_line_up_and_add_up() -> None:
    lines = [line(33_333_333)] * 3  # 0.33333333 each, 0.99999999 in all: 1.00
    total = round_figures(add_figures(lines), "USD", Rounding.HALF_UP)
    out = allocate_rounded(lines, total, "USD", Rounding.HALF_UP)
    assert [x["amount"] for x in out] == [34_000_000, 33_000_000, 33_000_000]
    assert sum(x["amount"] for x in out) == total["amount"] == 100_000_000


def test_the_line_nearest_to_rounding_the_other_way_takes_the_step() -> None:
    lines = [line(33_100_000), line(33_400_000), line(33_400_000)]  # 0.331 .334 .334 = 0.999
    total = round_figures(add_figures(lines), "USD", Rounding.HALF_UP)
    out = allocate_rounded(lines, total, "USD", Rounding.HALF_UP)
    assert [x["amount"] for x in out] == [33_000_000, 34_000_000, 33_000_000]


def test_refunds_round_the_other_way() -> None:
    lines = [line(-33_333_333)] * 3
    total = round_figures(add_figures(lines), "USD", Rounding.HALF_UP)
    out = allocate_rounded(lines, total, "USD", Rounding.HALF_UP)
    assert [x["amount"] for x in out] == [-34_000_000, -33_000_000, -33_000_000]


amounts = st.integers(min_value=-(10**14), max_value=10**14)
figures = st.builds(lambda a, c, d: Figures(a + d, d, a, c, a - c, 0, 0), amounts, amounts, amounts)


@given(
    st.lists(figures, min_size=1, max_size=40),
    st.sampled_from([Rounding.HALF_UP, Rounding.TRUNCATE]),
    st.sampled_from(["USD", "JPY", "KWD"]),
)
def test_lines_add_up_and_move_at_most_one_step(lines, rounding, currency) -> None:  # type: ignore[no-untyped-def]
    total = round_figures(add_figures(lines), currency, rounding)
    out = allocate_rounded(lines, total, currency, rounding)
    step = {"USD": STEP, "JPY": 100_000_000, "KWD": 100_000}[currency]
    for name in FIGURES:
        assert sum(x[name] for x in out) == total[name], name
        for exact, allocated in zip(lines, out, strict=True):
            own = round_figures(exact, currency, rounding)[name]
            assert abs(allocated[name] - own) <= step
            assert allocated[name] % step == 0


def _unsubscription(refund: int, fee: int, coupon: int, cash: int, credit: int):  # type: ignore[no-untyped-def]
    at = datetime(2026, 3, 23, 10, tzinfo=UTC)
    line = OrderLine(
        1, "vm-1", "ecs", "hws.resource.type.vm", "s6.small.1", None, "ap-southeast-1", "vm",
        None, None, -refund, 0, -refund, -coupon, -cash, -credit, None, None, None, 0, fee,
    )  # fmt: skip
    return Order(
        "CS1", "c1", OrderType.UNSUBSCRIPTION, OrderStatus.REFUNDED, OrderSource.CUSTOMER, "USD",
        -refund, 0, -refund, -coupon, -cash, -credit, fee, None, None, 7, at, None, at, at, None,
        lines=(line,),
    )  # fmt: skip


def test_an_unsubscription_bills_the_refund_before_the_fee_and_the_fee() -> None:
    # 6.77 came back (4.00 cash, 2.77 coupon: a renewal not begun); the 1.16 fee was kept out
    # of the money paid, never out of coupons (Huawei: the paid amount excludes cash coupons)
    order = _unsubscription(677 * STEP, 116 * STEP, 277 * STEP, 400 * STEP, 0)
    refund, fee = unsubscription_records(order, {}, credit_to_cash=0)
    assert (refund.bill_type, fee.bill_type) == ("unsubscription_refund", "unsubscription_fee")
    assert fee.amount_units == 116 * STEP and refund.amount_units == -(677 + 116) * STEP
    assert (fee.coupon_units, fee.cash_units) == (0, 116 * STEP)
    for part in ("coupon_units", "cash_units", "credit_units"):
        assert getattr(refund, part) + getattr(fee, part) == getattr(order.lines[0], part)


def test_nothing_given_back_bills_nothing() -> None:
    assert unsubscription_records(_unsubscription(0, 0, 0, 0, 0), {}, credit_to_cash=0) == []


def test_credit_the_customer_had_repaid_comes_back_as_cash() -> None:
    # 6.77 back: 2.77 to the coupon, 4.00 off the unpaid book, but 1.50 of it was repaid since
    order = _unsubscription(677 * STEP, 0, 277 * STEP, 0, 400 * STEP)
    (refund,) = unsubscription_records(order, {}, credit_to_cash=150 * STEP)
    assert (refund.coupon_units, refund.cash_units, refund.credit_units) == (
        -277 * STEP,
        -150 * STEP,
        -250 * STEP,
    )
