"""Pure order and subscription rules: expiry month arithmetic in customer time zones, auto-renew
timing, exact splits, payment plans and their refusals, unsubscription refunds. Expected values
are worked out by hand in the comments."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudbill.kernel.errors import CloudbillError, ErrorCode
from cloudbill.kernel.money import Rounding
from cloudbill.kernel.periods import utc
from cloudbill.orders.period_refunds import PaidLine, unsubscription_refund
from cloudbill.orders.rules import (
    CouponOffer,
    PayableLine,
    handling_fee_percent,
    plan_payment,
    plan_payments,
    pro_rata_last,
    split_exact,
    split_line_payment,
    term_months,
    year_of_use,
)
from cloudbill.subscriptions.rules import auto_renew_due, end_of_day, expiry, expiry_day

CENT = 1_000_000  # 0.01 USD in 1e-8 units
NY, SH = "America/New_York", "Asia/Shanghai"


def usd(text: str) -> int:
    whole, _, frac = text.partition(".")
    return int(whole) * 100 * CENT + int((frac + "00")[:2]) * CENT


# -- expiry --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("anchor", "months", "expires_on"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2026, 1, 31), 2, date(2026, 3, 31)),  # from the anchor, not from Feb 28
        (date(2026, 1, 31), 3, date(2026, 4, 30)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
        (date(2028, 1, 31), 2, date(2028, 3, 31)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2028, 2, 29), 48, date(2032, 2, 29)),
        (date(2026, 3, 16), 1, date(2026, 4, 16)),
        (date(2026, 12, 31), 2, date(2027, 2, 28)),
        (date(2026, 8, 31), 108, date(2035, 8, 31)),  # 9 years
    ],
)
def test_expiry_is_the_same_day_clamped_from_the_anchor(anchor, months, expires_on) -> None:  # type: ignore[no-untyped-def]
    assert expiry_day(anchor, months) == expires_on
    # end of that day in UTC = the next midnight
    assert expiry(anchor, months, "UTC") == datetime.combine(
        expires_on + timedelta(days=1), datetime.min.time(), tzinfo=utc(2026, 1, 1).tzinfo
    )


def test_expiry_is_the_end_of_the_day_in_shanghai() -> None:
    # end of 16 April in Shanghai (UTC+8, no DST) = 17 April 00:00 +08 = 16 April 16:00 UTC
    assert expiry(date(2026, 3, 16), 1, SH) == utc(2026, 4, 16, 16, 0, 0)
    # Jan 31 -> end of Feb 28 Shanghai = Feb 28 16:00 UTC; -> end of Mar 31 = Mar 31 16:00 UTC
    assert expiry(date(2026, 1, 31), 1, SH) == utc(2026, 2, 28, 16, 0, 0)
    assert expiry(date(2026, 1, 31), 2, SH) == utc(2026, 3, 31, 16, 0, 0)
    assert expiry(date(2028, 1, 31), 1, SH) == utc(2028, 2, 29, 16, 0, 0)


def test_expiry_is_the_end_of_the_day_in_new_york_across_dst() -> None:
    # 2026: DST from 8 March (02:00 EST -> 03:00 EDT) to 1 November (02:00 EDT -> 01:00 EST)
    # end of 15 Feb = 16 Feb 00:00 EST = 05:00 UTC
    assert expiry(date(2026, 1, 15), 1, NY) == utc(2026, 2, 16, 5, 0, 0)
    # end of 15 March = 16 March 00:00 EDT = 04:00 UTC
    assert expiry(date(2026, 2, 15), 1, NY) == utc(2026, 3, 16, 4, 0, 0)
    # end of 1 November = 2 November 00:00 EST = 05:00 UTC
    assert expiry(date(2026, 10, 1), 1, NY) == utc(2026, 11, 2, 5, 0, 0)
    # the spring-forward day is 23 hours long, the fall-back day 25
    assert end_of_day(date(2026, 3, 8), NY) - end_of_day(date(2026, 3, 7), NY) == timedelta(
        hours=23
    )
    assert end_of_day(date(2026, 11, 1), NY) - end_of_day(date(2026, 10, 31), NY) == timedelta(
        hours=25
    )


# -- auto-renew timing ---------------------------------------------------------------------------


def _due(anchor, months, tz, last, now):  # type: ignore[no-untyped-def]
    return auto_renew_due(
        anchor=anchor,
        months=months,
        expire_at=expiry(anchor, months, tz),
        tz_name=tz,
        last_attempt=last,
        now=now,
    )


def test_auto_renew_at_three_local_seven_days_before_then_daily_shanghai() -> None:
    anchor = date(2026, 3, 16)  # expires end of 16 April Shanghai (16 April 16:00 UTC)
    first = utc(2026, 4, 8, 19, 0, 0)  # 9 April 03:00 +08
    second = first + timedelta(days=1)
    assert not _due(anchor, 1, SH, None, first - timedelta(seconds=1))
    assert _due(anchor, 1, SH, None, first)
    assert _due(anchor, 1, SH, None, first + timedelta(hours=5))  # a late worker still charges
    assert not _due(anchor, 1, SH, first, first + timedelta(hours=23, minutes=59))  # once a day
    assert _due(anchor, 1, SH, first, second)
    assert not _due(anchor, 1, SH, second, second + timedelta(hours=12))
    # an attempt late on one day still allows the next day's 03:00 slot
    assert _due(anchor, 1, SH, first + timedelta(hours=20), second)
    # the last slot is 16 April 03:00 local; at and after expiry: never
    last_slot = utc(2026, 4, 15, 19, 0, 0)
    assert _due(anchor, 1, SH, last_slot - timedelta(days=1), last_slot)
    assert not _due(anchor, 1, SH, None, utc(2026, 4, 16, 16, 0, 0))
    assert not _due(anchor, 1, SH, None, utc(2026, 5, 1, 0, 0, 0))


def test_auto_renew_slots_follow_new_york_dst() -> None:
    anchor = date(2026, 2, 14)  # expires end of 14 March; first slot 7 March 03:00 EST
    first = utc(2026, 3, 7, 8, 0, 0)
    assert not _due(anchor, 1, NY, None, first - timedelta(minutes=1))
    assert _due(anchor, 1, NY, None, first)
    # 8 March 03:00 is EDT (the clock jumped 02:00 -> 03:00): 07:00 UTC, 23 hours later
    assert not _due(anchor, 1, NY, first, utc(2026, 3, 8, 6, 59, 0))
    assert _due(anchor, 1, NY, first, utc(2026, 3, 8, 7, 0, 0))


# -- exact splits --------------------------------------------------------------------------------


@given(
    steps=st.integers(min_value=0, max_value=10**7),
    step=st.sampled_from([1, CENT, 100 * CENT]),
    weights=st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=8),
)
def test_split_exact_adds_up_exactly(steps: int, step: int, weights: list[int]) -> None:
    keyed = {f"k{i}": w for i, w in enumerate(weights)}
    total = steps * step
    parts = split_exact(total, keyed, step=step)
    assert set(parts) == set(keyed)
    assert all(p >= 0 and p % step == 0 for p in parts.values())
    weight_sum = sum(weights)
    if weight_sum == 0:
        assert all(p == 0 for p in parts.values())
        return
    assert sum(parts.values()) == total
    for key, w in keyed.items():
        if w == 0:
            assert parts[key] == 0
        # never more than one step from the exact share
        assert abs(parts[key] * weight_sum - total * w) < step * weight_sum


def test_split_exact_largest_remainder() -> None:
    # 0.10 over 1:1:1 -> 0.04 / 0.03 / 0.03 (ties broken by key)
    assert split_exact(10 * CENT, {"a": 1, "b": 1, "c": 1}, step=CENT) == {
        "a": 4 * CENT,
        "b": 3 * CENT,
        "c": 3 * CENT,
    }


# Huawei, "When Does an Automatic Renewal Take Place?",
# https://support.huaweicloud.com/eu/faq-billing/renewals_faq_0000004.html: deduction is
# immediate when auto-renew is enabled before 03:00 and the resource expires before 03:00 that
# day, or after 03:00 and it expires before 03:00 the next day; otherwise (enabled inside the
# window) cloudbill charges at the next 03:00. "Deduction Date for Auto-Renewal",
# https://support.huaweicloud.com/intl/en-us/usermanual-billing/renewals_topic_20000006.html:
# at 03:00 on the chosen deduction day instead of seven days before.


def _due_from(now, *, enabled_at=None, days_before=7, last=None):  # type: ignore[no-untyped-def]
    anchor = date(2026, 3, 16)  # expires at the end of 16 April Shanghai = 16 April 16:00 UTC
    return auto_renew_due(
        anchor=anchor,
        months=1,
        expire_at=expiry(anchor, 1, SH),
        tz_name=SH,
        last_attempt=last,
        now=now,
        days_before=days_before,
        enabled_at=enabled_at,
    )


def test_a_chosen_deduction_day_moves_the_first_charge() -> None:
    # three days before: 13 April 03:00 Shanghai = 12 April 19:00 UTC
    assert not _due_from(utc(2026, 4, 12, 18, 59, 59), days_before=3)
    assert _due_from(utc(2026, 4, 12, 19, 0, 0), days_before=3)
    assert _due_from(utc(2026, 4, 8, 19, 0, 0))  # the default, seven days before


def test_enabled_inside_the_window_charges_at_the_next_three_oclock() -> None:
    enabled = utc(2026, 4, 10, 4, 0, 0)  # 10 April 12:00 Shanghai, six days before expiry
    assert not _due_from(utc(2026, 4, 10, 4, 0, 0), enabled_at=enabled)
    assert not _due_from(utc(2026, 4, 10, 18, 59, 59), enabled_at=enabled)
    assert _due_from(utc(2026, 4, 10, 19, 0, 0), enabled_at=enabled)  # 11 April 03:00
    # enabled before the window opened: its first 03:00 as usual
    assert _due_from(utc(2026, 4, 8, 19, 0, 0), enabled_at=utc(2026, 4, 1, 0, 0, 0))


def test_enabled_when_the_resource_expires_before_the_next_three_oclock_charges_at_once() -> None:
    # the last day (16 April) at 12:00 Shanghai: it expires at midnight, before 03:00 on the
    # 17th, so at once (Huawei: enabled after 03:00, expiring before 03:00 the next day)
    enabled = utc(2026, 4, 16, 4, 0, 0)
    assert _due_from(enabled, enabled_at=enabled)
    # 16 April 02:00 Shanghai (before 03:00): the resource expires after 03:00 that day, so 03:00
    enabled = utc(2026, 4, 15, 18, 0, 0)
    assert not _due_from(enabled, enabled_at=enabled)
    assert _due_from(utc(2026, 4, 15, 19, 0, 0), enabled_at=enabled)


# -- payment plans -------------------------------------------------------------------------------

NOW = utc(2026, 3, 16, 9, 0, 0)


def offer(cid="c1", value="5.00", *, services=None, modes=None, min_spend="0", days=30):  # type: ignore[no-untyped-def]
    return CouponOffer(
        cid,
        usd(value),
        usd(min_spend),
        frozenset(services) if services is not None else None,
        frozenset(modes) if modes is not None else None,
        NOW - timedelta(days=1),
        NOW + timedelta(days=days),
    )


LINES = [PayableLine(1, "ecs", usd("11.60")), PayableLine(2, "evs", usd("3.00"))]


def test_plan_payment_coupons_then_cash_then_credit() -> None:
    plan = plan_payment(
        LINES,
        [offer(services=["ecs"], value="20.00"), offer("c2", "1.00")],
        cash_available=usd("2.00"),
        credit_available=usd("1.00"),
        now=NOW,
    )
    # c1 covers only ecs: 11.60 of it; c2 (any service) then 1.00 of evs; 2.00 left in cash
    assert plan.coupon_by_line == {1: usd("11.60"), 2: usd("1.00")}
    assert plan.uses == [(1, "c1", usd("11.60")), (2, "c2", usd("1.00"))]
    assert (plan.cash_units, plan.credit_units) == (usd("2.00"), 0)
    per_line = split_line_payment(plan, LINES)
    assert per_line == {1: (usd("11.60"), 0, 0), 2: (usd("1.00"), usd("2.00"), 0)}
    plan = plan_payment(
        LINES, [], cash_available=usd("14.00"), credit_available=usd("1.00"), now=NOW
    )
    assert (plan.cash_units, plan.credit_units) == (usd("14.00"), usd("0.60"))
    per_line = split_line_payment(plan, LINES)
    assert sum(sum(v) for v in per_line.values()) == usd("14.60")
    assert all(sum(per_line[x.line_no]) == x.amount_units for x in LINES)


@pytest.mark.parametrize(
    ("coupon", "code"),
    [
        (offer(services=["rds"]), ErrorCode.COUPON_NOT_APPLICABLE),  # outside its services
        (offer(modes=["pay_per_use"]), ErrorCode.COUPON_NOT_APPLICABLE),  # billing mode
        (offer(days=0), ErrorCode.COUPON_NOT_APPLICABLE),  # validity over
        (offer(min_spend="20.00"), ErrorCode.COUPON_NOT_APPLICABLE),  # minimum spend
    ],
)
def test_plan_payment_refuses_a_coupon_that_cannot_apply(coupon, code) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CloudbillError) as err:
        plan_payment(LINES, [coupon], cash_available=usd("100"), credit_available=0, now=NOW)
    assert err.value.code is code


def test_plan_payment_refuses_an_unneeded_coupon_and_a_short_balance() -> None:
    with pytest.raises(CloudbillError) as err:  # c1 pays everything; c2 has nothing to cover
        plan_payment(
            LINES,
            [offer(value="20.00"), offer("c2")],
            cash_available=0,
            credit_available=0,
            now=NOW,
        )
    assert err.value.code is ErrorCode.COUPON_NOT_APPLICABLE
    with pytest.raises(CloudbillError) as err:
        plan_payment(
            LINES, [offer()], cash_available=usd("9.59"), credit_available=0, now=NOW
        )  # 14.60 - 5.00 = 9.60 due
    assert err.value.code is ErrorCode.INSUFFICIENT_BALANCE
    plan = plan_payment(LINES, [offer()], cash_available=usd("9.60"), credit_available=0, now=NOW)
    assert plan.cash_units == usd("9.60")
    with pytest.raises(CloudbillError) as err:  # a negative balance pays nothing
        plan_payment(LINES, [], cash_available=-usd("5"), credit_available=usd("14.59"), now=NOW)
    assert err.value.code is ErrorCode.INSUFFICIENT_BALANCE


# -- several orders paid together ----------------------------------------------------------------
# Huawei, "多订单合并支付时,优惠券如何扣减?" (How are coupons deducted when several orders are paid
# together?), https://support.huaweicloud.com/intl/zh-cn/faq-billing/unpaidorder_faq_0000008.html:
# a coupon deduction of 69.31 USD is shared over three orders, 23.10 USD each, and the extra
# 0.01 USD goes to one of them. cloudbill shares pro rata by what each order owes, and puts the
# remainder on the last order (deterministic, where Huawei's is random).


def test_one_coupon_over_three_equal_orders_is_huaweis_example() -> None:
    orders = [[PayableLine(1, "ecs", usd("100.00"))] for _ in range(3)]
    plans = plan_payments(
        orders,
        [offer(value="69.31")],
        cash_available=usd("1000"),
        credit_available=0,
        step=CENT,
        now=NOW,
    )
    assert [p.coupon_units for p in plans] == [usd("23.10"), usd("23.10"), usd("23.11")]
    assert [p.cash_units for p in plans] == [usd("76.90"), usd("76.90"), usd("76.89")]


def test_a_coupon_over_orders_is_shared_pro_rata_by_amount() -> None:
    # 10.00 over orders of 30.00, 10.00 and 60.00 (and a line out of the coupon's scope):
    # 3.00, 1.00, 6.00; then 0.01 over 0.03, 0.03, 0.03: 0, 0, 0.01 (the remainder, last)
    orders = [
        [PayableLine(1, "ecs", usd("30.00")), PayableLine(2, "rds", usd("50.00"))],
        [PayableLine(1, "ecs", usd("10.00"))],
        [PayableLine(1, "ecs", usd("60.00"))],
    ]
    plans = plan_payments(
        orders,
        [offer(value="10.00", services=["ecs"])],
        cash_available=usd("55.00"),
        credit_available=usd("100"),
        step=CENT,
        now=NOW,
    )
    assert [p.coupon_units for p in plans] == [usd("3.00"), usd("1.00"), usd("6.00")]
    # cash order by order: 77.00 takes the 55.00, the rest of it and the others on credit
    assert [(p.cash_units, p.credit_units) for p in plans] == [
        (usd("55.00"), usd("22.00")),
        (0, usd("9.00")),
        (0, usd("54.00")),
    ]
    assert pro_rata_last(usd("0.01"), [usd("0.03")] * 3, step=CENT) == [0, 0, usd("0.01")]


def test_the_remainder_never_exceeds_the_last_order() -> None:
    # 0.02 over three orders of 0.01: every rounded-down share is 0; the last takes 0.01, the
    # rest goes to the one before it
    assert pro_rata_last(usd("0.02"), [usd("0.01")] * 3, step=CENT) == [0, usd("0.01"), usd("0.01")]


@given(
    st.lists(st.integers(0, 10**12), min_size=1, max_size=6),
    st.integers(0, 10**12),
    st.sampled_from([1, CENT]),
)
def test_pro_rata_shares_add_up_and_fit(weights, total, step) -> None:  # type: ignore[no-untyped-def]
    total = min(total, sum(weights))
    shares = pro_rata_last(total, weights, step=step)
    assert sum(shares) == total
    assert all(0 <= s <= w for s, w in zip(shares, weights, strict=True))


def test_a_minimum_spend_counts_the_orders_together() -> None:
    orders = [[PayableLine(1, "ecs", usd("6.00"))], [PayableLine(1, "ecs", usd("6.00"))]]
    plans = plan_payments(
        orders,
        [offer(value="5.00", min_spend="10.00")],
        cash_available=usd("100"),
        credit_available=0,
        step=CENT,
        now=NOW,
    )
    assert [p.coupon_units for p in plans] == [usd("2.50"), usd("2.50")]
    with pytest.raises(CloudbillError) as err:
        plan_payments(
            orders,
            [offer(value="5.00", min_spend="12.01")],
            cash_available=usd("100"),
            credit_available=0,
            step=CENT,
            now=NOW,
        )
    assert err.value.code is ErrorCode.COUPON_NOT_APPLICABLE


# -- unsubscription refunds ----------------------------------------------------------------------


# -- unsubscription refunds (orders/period_refunds.py) -------------------------------------------

# 11.60 paid on 16 March 09:00 UTC for a month to 16 April 16:00 UTC: 31 days 7 hours = 751 h
BOUGHT = PaidLine(1, utc(2026, 3, 16, 9, 0, 0), utc(2026, 4, 16, 16, 0, 0), "month", 1,
                  usd("11.60"), {"cash": usd("11.60")})  # fmt: skip
RENEWED = PaidLine(2, utc(2026, 4, 16, 16, 0, 0), utc(2026, 5, 16, 16, 0, 0), "month", 1,
                   usd("11.60"), {"cash": usd("6.60"), "coupon:c1": usd("5.00")})  # fmt: skip


def refund(now: datetime, *, full: bool = False, lines=(BOUGHT,), rounding=Rounding.HALF_UP):  # type: ignore[no-untyped-def]
    return unsubscription_refund(
        list(lines),
        now=now,
        tz_name="UTC",
        full_refund=full,
        fee_percent_numerator=10,
        fee_percent_denominator=1,
        digits=2,
        rounding=rounding,
    )


def test_unsubscription_refund_inside_the_full_refund_window() -> None:
    r = refund(utc(2026, 3, 19, 9, 0, 0), full=True, lines=(BOUGHT, RENEWED))
    assert (r.used_units, r.fee_units) == (0, 0)
    assert r.parts == {"cash": usd("18.20"), "coupon:c1": usd("5.00")}


def test_unsubscription_refund_paid_minus_used_whole_hours_minus_fee() -> None:
    """https://support.huaweicloud.com/intl/en-us/faq-billing/unsubscriptions_faq_300007.html:
    refund = paid - consumed - handling fee, consumed counted in whole hours."""
    # 10 days 0h30m in: 240 whole hours used of 751 -> 11.60 x 240 / 751 = 3.7070... -> 3.71
    r = refund(utc(2026, 3, 26, 9, 30, 0))
    assert r.used_units == usd("3.71")
    assert r.fee_units == usd("1.16")  # 10% of 11.60
    assert r.parts == {"cash": usd("11.60") - usd("3.71") - usd("1.16")}  # 6.73
    # truncating: 3.70 used
    assert refund(utc(2026, 3, 26, 9, 30, 0), rounding=Rounding.TRUNCATE).used_units == usd("3.70")
    # within the hour it started: nothing used yet
    assert refund(utc(2026, 3, 16, 9, 59, 0)).used_units == 0


def test_unsubscription_refund_never_below_zero() -> None:
    # one hour before the end: used 750/751 of 11.60 = 11.58; the fee is capped at what is left
    r = refund(utc(2026, 4, 16, 15, 10, 0))
    assert (r.used_units, r.fee_units, r.refund_units) == (usd("11.58"), usd("0.02"), 0)
    after = refund(utc(2026, 5, 1, 0, 0, 0))
    assert (after.used_units, after.fee_units, after.refund_units) == (usd("11.60"), 0, 0)


def test_coupons_of_a_period_in_use_stay_spent() -> None:
    """Huawei: "If you unsubscribe from an in-use resource, handling fee will be charged and any
    cash coupon that was applied will not be returned"; paid is what cash paid (same FAQ)."""
    bought = replace(BOUGHT, sources={"cash": usd("6.60"), "coupon:c0": usd("5.00")})
    r = refund(utc(2026, 3, 26, 9, 30, 0), lines=(bought,))
    # paid 6.60; used 6.60 x 240 / 751 = 2.1092 -> 2.11; fee 0.66: 3.83 back, in cash
    assert (r.paid_units, r.used_units, r.fee_units) == (usd("6.60"), usd("2.11"), usd("0.66"))
    assert r.parts == {"cash": usd("3.83")}


def test_a_renewal_not_begun_comes_back_whole_with_its_coupons_and_no_fee() -> None:
    """https://support.huaweicloud.com/intl/en-us/usermanual-billing/unsubscription_topic_2000010.html:
    renewal periods are charged neither the consumed amount nor a fee, and the coupon is
    returned."""
    r = refund(utc(2026, 3, 26, 9, 30, 0), lines=(BOUGHT, RENEWED))
    assert (r.used_units, r.fee_units) == (usd("3.71"), usd("1.16"))  # the month in use only
    assert r.parts == {"cash": usd("6.73") + usd("6.60"), "coupon:c1": usd("5.00")}


def test_a_downgrade_is_folded_into_the_periods_it_changed() -> None:
    """A downgrade on 16 March 10:00 gave back 27.50 x 31/31 of the month in use (capped at 1)
    and 27.50 of the renewal ahead: its refund lowers both, so the renewal comes back at
    what it cost after the downgrade, never at its old price."""
    large = replace(BOUGHT, amount_units=usd("39.10"), sources={"cash": usd("39.10")})
    ahead = replace(RENEWED, amount_units=usd("39.10"), sources={"cash": usd("39.10")})
    down = PaidLine(3, utc(2026, 3, 16, 10, 0, 0), ahead.period_end, None, None, -usd("55.00"),
                    {"cash": -usd("55.00")})  # fmt: skip
    r = refund(utc(2026, 3, 16, 11, 0, 0), lines=(large, ahead, down))
    # The change weighs both periods alike (the month in use has 15/31 + 16/30 > 1 left,
    # capped at 1): -27.50 each. The month in use: paid 39.10 - 27.50 = 11.60; used 2 h of
    # 751 of 39.10 (0.1041 -> 0.10) and 1 h of 750 of -27.50 (-0.0367 -> -0.04): 0.06; fee
    # 1.16; 10.38 back. The renewal: 39.10 - 27.50 = 11.60, whole. 21.98 of the 23.20 net.
    assert (r.used_units, r.fee_units) == (usd("0.06"), usd("1.16"))
    assert r.parts == {"cash": usd("21.98")}


@given(
    cash=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=3),
    coupon=st.integers(min_value=0, max_value=500),
    change=st.integers(min_value=-20_000, max_value=20_000),
    at_h=st.integers(min_value=0, max_value=2_400),
)
def test_no_source_gets_back_more_than_it_paid_net(cash, coupon, change, at_h) -> None:  # type: ignore[no-untyped-def]
    step = 10**6
    start = utc(2026, 1, 10, 9, 0, 0)
    lines, bounds = [], [start, utc(2026, 2, 11, 0, 0, 0), utc(2026, 3, 11, 0, 0, 0),
                          utc(2026, 4, 11, 0, 0, 0)]  # fmt: skip
    for i, c in enumerate(cash):
        sources = {"cash": c * step, "coupon:k": coupon * step if i == len(cash) - 1 else 0}
        amount = sum(sources.values())
        lines.append(PaidLine(i, bounds[i], bounds[i + 1], "month", 1, amount, sources))
    at = start + timedelta(hours=at_h)
    lines.append(PaidLine(9, start + timedelta(days=3), bounds[len(cash)], None, None,
                          change * step, {"cash": change * step}))  # fmt: skip
    net_cash = sum(line.sources["cash"] for line in lines)
    r = refund(at, lines=lines)
    assert 0 <= r.parts.get("cash", 0) <= max(net_cash, 0)
    assert 0 <= r.parts.get("coupon:k", 0) <= coupon * step
    assert all(units % step == 0 for units in r.parts.values())


@pytest.mark.parametrize(
    ("term_months", "year", "percent"),
    [
        (1, 1, 10),
        (6, 1, 10),
        (12, 1, 10),
        (24, 1, 15),
        (24, 2, 10),
        (36, 1, 15),
        (36, 2, 10),
        (36, 3, 5),
    ],
)
def test_the_handling_fee_follows_huaweis_table(term_months: int, year: int, percent: int) -> None:
    """Huawei, Billing Center "Unsubscription Rules": a 3-year term 15% / 10% / 5% by the year
    of use, a 2-year term 15% / 10%, a 1-year or monthly term 10% of what was paid."""
    assert handling_fee_percent(term_months, year) == percent


def test_the_year_of_use_counts_anniversaries_in_utc_within_the_term() -> None:
    start = utc(2024, 2, 29, 20, 0, 0)
    assert year_of_use(start, utc(2025, 2, 28, 23, 0, 0), 36) == 1
    assert year_of_use(start, utc(2025, 3, 1, 0, 0, 0), 36) == 2
    shanghai = utc(2025, 3, 1, 0, 0, 0).astimezone(ZoneInfo("Asia/Shanghai"))
    assert year_of_use(start, shanghai, 36) == 2  # the same instant, another zone
    # a 2-year term ends at the end of a local day, a little past its second anniversary
    assert year_of_use(start, utc(2026, 3, 1, 10, 0, 0), 24) == 2


def test_a_terms_months() -> None:
    assert [
        term_months(u, n) for u, n in (("year", 3), ("month", 6), ("day", 12), (None, None))
    ] == [36, 6, 1, None]
