"""Reset periods of resource packages (kernel/resets.py) and the cutting of an hour where a
package starts, ends or resets inside it (settle/packages.py).

Huawei, "Resource Package Usage Rules",
https://support.huaweicloud.com/intl/en-us/usermanual-billing/renewals_topic_30000003.html:
a resettable package's capacity "is cleared at the end of each reset period and restored at
the beginning of the next" (example: a monthly resettable OBS package, 100 GB per month, valid
June 28, 2024 to June 28, 2025). BSS API (FreeResourceDetail.quota_reuse_cycle_type): by
calendar period a monthly package resets on the 1st; by subscription cycle, one bought on the
15th resets on the 15th.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from cloudbill.kernel.periods import HOUR, utc
from cloudbill.kernel.resets import ResetKind, reset_period
from cloudbill.settle.packages import PackageState, consume, hour_cuts, split_usage

E10 = 10**10
FACTS = ("ecs", "vm", "s1", "r1")


def period(kind: ResetKind, at: datetime, *, start: datetime, hour: int | None = None,
           zone: str = "UTC") -> tuple[datetime, datetime]:  # fmt: skip
    p = reset_period(kind, reset_hour=hour, valid_from=start, valid_to=start + timedelta(days=400),
                     tz_name=zone, instant=at)  # fmt: skip
    return p.start, p.end


def test_huawei_obs_example_resets_on_the_purchase_day_each_month() -> None:
    start = utc(2024, 6, 28)  # valid June 28, 2024 to June 28, 2025
    kind = ResetKind.MONTHLY_PURCHASE_DAY
    assert period(kind, utc(2024, 7, 27, 23, 59), start=start) == (start, utc(2024, 7, 28))
    assert period(kind, utc(2024, 7, 28), start=start) == (utc(2024, 7, 28), utc(2024, 8, 28))
    # February 2025 has a 28th too
    assert period(kind, utc(2025, 3, 1), start=start) == (utc(2025, 2, 28), utc(2025, 3, 28))


def test_bought_on_the_15th_resets_on_the_15th_and_the_calendar_kind_on_the_1st() -> None:
    start = utc(2026, 3, 15, 10, 30)  # bought at 10:30: each period starts at 10:30
    at = utc(2026, 5, 3)
    assert period(ResetKind.MONTHLY_PURCHASE_DAY, at, start=start) == (
        utc(2026, 4, 15, 10, 30), utc(2026, 5, 15, 10, 30),
    )  # fmt: skip
    assert period(ResetKind.MONTHLY_CALENDAR, at, start=start) == (utc(2026, 5, 1), utc(2026, 6, 1))


def test_a_purchase_day_the_month_lacks_is_its_last_day_counted_from_the_original_day() -> None:
    start = utc(2026, 1, 31, 9)
    kind = ResetKind.MONTHLY_PURCHASE_DAY
    assert period(kind, utc(2026, 2, 27), start=start) == (start, utc(2026, 2, 28, 9))
    assert period(kind, utc(2026, 3, 1), start=start) == (utc(2026, 2, 28, 9), utc(2026, 3, 31, 9))
    assert period(kind, utc(2026, 4, 30, 9), start=start) == (
        utc(2026, 4, 30, 9), utc(2026, 5, 31, 9),
    )  # fmt: skip
    leap = period(kind, utc(2028, 2, 29, 9), start=start)
    assert leap == (utc(2028, 2, 29, 9), utc(2028, 3, 31, 9))


def test_purchase_day_periods_are_local_to_the_customer() -> None:
    # Bought 2026-03-31 20:00 UTC = April 1st 04:00 in Shanghai: resets on the 1st at 04:00 there.
    start = utc(2026, 3, 31, 20)
    got = period(
        ResetKind.MONTHLY_PURCHASE_DAY, utc(2026, 5, 10), start=start, zone="Asia/Shanghai"
    )
    assert got == (utc(2026, 4, 30, 20), utc(2026, 5, 31, 20))


def test_daily_reset_at_a_local_hour() -> None:
    start = utc(2026, 3, 1)
    kind = ResetKind.DAILY
    # 08:00 in Shanghai is 00:00 UTC
    assert period(kind, utc(2026, 3, 5, 23, 59), start=start, hour=8, zone="Asia/Shanghai") == (
        utc(2026, 3, 5), utc(2026, 3, 6),
    )  # fmt: skip
    assert period(kind, utc(2026, 3, 5, 9), start=start, hour=9) == (
        utc(2026, 3, 5, 9), utc(2026, 3, 6, 9),
    )  # fmt: skip
    assert period(kind, utc(2026, 3, 5, 8, 59), start=start, hour=9)[0] == utc(2026, 3, 4, 9)
    # New York springs forward on 2026-03-08: that day lasts 23 hours, from 05:00 to 04:00 UTC.
    assert period(kind, utc(2026, 3, 8, 12), start=start, hour=0, zone="America/New_York") == (
        utc(2026, 3, 8, 5), utc(2026, 3, 9, 4),
    )  # fmt: skip


ZONES = ["UTC", "Asia/Shanghai", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]


@given(
    kind=st.sampled_from([k for k in ResetKind if k is not ResetKind.NONE]),
    zone=st.sampled_from(ZONES),
    start_s=st.integers(0, 365 * 86_400),
    offset_s=st.integers(0, 200 * 86_400),
    hour=st.integers(0, 23),
)  # fmt: skip
def test_periods_contain_the_instant_and_follow_each_other(
    kind: ResetKind, zone: str, start_s: int, offset_s: int, hour: int
) -> None:
    start = utc(2026, 1, 1) + timedelta(seconds=start_s)
    at = start + timedelta(seconds=offset_s)
    got = period(kind, at, start=start, hour=hour, zone=zone)
    assert got[0] <= at < got[1]
    assert timedelta(hours=22) <= got[1] - got[0] <= timedelta(days=31, hours=2)
    assert period(kind, got[1], start=start, hour=hour, zone=zone)[0] == got[1]  # no gap
    assert (
        period(kind, got[1] - timedelta(microseconds=1), start=start, hour=hour, zone=zone) == got
    )


def package(**overrides: object) -> PackageState:
    fields: dict[str, object] = dict(
        id="p", customer_id="c", usage_type="duration", unit_factor=Decimal(3600),
        quantity_e10=10 * E10, service=None, resource_type=None, spec=None, region=None,
        reset_kind=ResetKind.NONE, reset_hour=None, valid_from=utc(2026, 3, 1),
        valid_to=utc(2026, 6, 1), timezone="UTC", created_at=utc(2026, 3, 1),
    )  # fmt: skip
    fields.update(overrides)
    return PackageState(**fields)  # type: ignore[arg-type]


def test_an_hour_is_cut_only_where_a_matching_package_starts_ends_or_resets() -> None:
    hour = utc(2026, 3, 10, 9)
    plain = package()
    assert hour_cuts([plain], "duration", FACTS, hour) == []  # the common case
    starts = package(id="s", valid_from=utc(2026, 3, 10, 9, 20))
    ends = package(id="e", valid_to=utc(2026, 3, 10, 9, 45, 30))
    other_type = package(id="o", usage_type="capacity", valid_from=utc(2026, 3, 10, 9, 5))
    other_hour = package(id="x", valid_from=utc(2026, 3, 10, 10))  # at the hour's end: no cut
    got = hour_cuts([plain, starts, ends, other_type, other_hour], "duration", FACTS, hour)
    assert got == [utc(2026, 3, 10, 9, 20), utc(2026, 3, 10, 9, 45, 30)]
    daily = package(id="d", reset_kind=ResetKind.DAILY, reset_hour=9, timezone="Asia/Kolkata")
    # 09:00 in Kolkata (UTC+5:30) is 03:30 UTC
    assert hour_cuts([daily], "duration", FACTS, utc(2026, 3, 10, 3)) == [utc(2026, 3, 10, 3, 30)]
    assert hour_cuts([daily], "duration", FACTS, hour) == []


def test_usage_is_split_by_each_records_own_interval() -> None:
    hour = utc(2026, 3, 10, 9)
    cut = utc(2026, 3, 10, 9, 20)
    pieces = [
        (hour, utc(2026, 3, 10, 9, 30), 1800 * E10),  # a record of 08:30-09:30, its part in 09:00
        (utc(2026, 3, 10, 9, 40), utc(2026, 3, 10, 9, 50), 600 * E10),  # all after the cut
        (utc(2026, 3, 10, 9, 10), utc(2026, 3, 10, 9, 10), 7),  # no length: where it starts
    ]
    before, after = split_usage(pieces, [hour, cut], hour + HOUR)
    assert (before, after) == (1200 * E10 + 7, 600 * E10 + 600 * E10)


@given(
    pieces=st.lists(
        st.tuples(st.integers(0, 3600), st.integers(0, 3600), st.integers(0, 10**15)), max_size=6
    ),
    cuts=st.sets(st.integers(1, 3599), max_size=3),
)
def test_a_split_adds_up_to_the_usage(pieces: list[tuple[int, int, int]], cuts: set[int]) -> None:
    hour = utc(2026, 3, 10, 9)
    at = [hour + timedelta(seconds=s) for s in (0, *sorted(cuts))]
    records = [
        (hour + timedelta(seconds=min(a, b)), hour + timedelta(seconds=max(a, b)), q)
        for a, b, q in pieces
    ]
    parts = split_usage(records, at, hour + HOUR)
    assert sum(parts) == sum(q for _, _, q in pieces) and min(parts, default=0) >= 0


def test_usage_after_a_reset_draws_on_the_new_period() -> None:
    daily = package(reset_kind=ResetKind.DAILY, reset_hour=0, quantity_e10=E10)
    before, after = utc(2026, 3, 10, 23, 30), utc(2026, 3, 11, 0, 0)
    kwargs = dict(usage_type="duration", facts=FACTS, pricing_factor=Decimal(3600))
    assert consume([daily], at=before, usage_e10=3 * E10, **kwargs)[0] == E10  # type: ignore[arg-type]
    covered, uses = consume([daily], at=after, usage_e10=3 * E10, **kwargs)  # type: ignore[arg-type]
    assert covered == E10 and uses[0].period_start == utc(2026, 3, 11)
    assert daily.used_e10 == {utc(2026, 3, 10): E10, utc(2026, 3, 11): E10}
