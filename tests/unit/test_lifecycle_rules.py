"""The arrears state machine as a pure function: deadlines anchored, catch-up deterministic."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudbill.kernel.periods import utc
from cloudbill.lifecycle.policy import DEFAULT_POLICY, PolicyRow, periods_for
from cloudbill.lifecycle.rules import FROZEN, GRACE, NORMAL, RELEASED, ResourceFacts, decide

ARREARS = utc(2026, 3, 1, 10)
REGISTERED = utc(2026, 2, 1)


def ppu(status=NORMAL, since=REGISTERED, mode="pay_per_use"):  # type: ignore[no-untyped-def]
    return ResourceFacts("r1", status, since, mode)


def walk(now, resource=None, arrears=ARREARS, periods=DEFAULT_POLICY):  # type: ignore[no-untyped-def]
    return [
        (t.to_status, t.at, t.event)
        for t in decide(resource or ppu(), arrears_since=arrears, periods=periods, now=now)
    ]


def test_grace_starts_when_the_customer_went_into_arrears() -> None:
    assert walk(ARREARS + timedelta(hours=1)) == [(GRACE, ARREARS, "resource.grace_started")]


def test_frozen_after_fifteen_days_and_released_after_thirty() -> None:
    in_grace = ppu(GRACE, ARREARS)
    assert walk(ARREARS + timedelta(days=15) - timedelta(seconds=1), in_grace) == []
    assert walk(ARREARS + timedelta(days=15), in_grace) == [
        (FROZEN, ARREARS + timedelta(days=15), "resource.frozen")
    ]
    frozen = ppu(FROZEN, ARREARS + timedelta(days=15))
    assert walk(ARREARS + timedelta(days=30), frozen) == [
        (RELEASED, ARREARS + timedelta(days=30), "resource.released")
    ]


def test_catch_up_after_downtime_dates_each_step_at_its_deadline() -> None:
    assert walk(ARREARS + timedelta(days=40)) == [
        (GRACE, ARREARS, "resource.grace_started"),
        (FROZEN, ARREARS + timedelta(days=15), "resource.frozen"),
        (RELEASED, ARREARS + timedelta(days=30), "resource.released"),
    ]


def test_paying_the_debt_unfreezes_and_released_is_terminal() -> None:
    now = ARREARS + timedelta(days=20)
    assert walk(now, ppu(FROZEN, ARREARS + timedelta(days=15)), arrears=None) == [
        (NORMAL, now, "resource.unfrozen")
    ]
    assert walk(now, ppu(GRACE, ARREARS), arrears=None) == [(NORMAL, now, "resource.unfrozen")]
    assert walk(now, ppu(RELEASED, now), arrears=None) == []
    assert walk(now, ppu(RELEASED, now)) == []
    assert walk(now, ppu(NORMAL), arrears=None) == []


def test_yearly_monthly_resources_keep_running_in_arrears() -> None:
    assert walk(ARREARS + timedelta(days=99), ppu(mode="yearly_monthly")) == []


def test_the_most_specific_policy_row_wins() -> None:
    rows = (
        PolicyRow(7, 7, customer_level=1),
        PolicyRow(10, 20, service="css"),
        PolicyRow(30, 30, service="css", customer_level=3),
    )
    assert periods_for(rows, "ecs", 2) == DEFAULT_POLICY
    assert periods_for(rows, "ecs", 1).grace_days == 7
    assert periods_for(rows, "css", 1).grace_days == 10
    assert periods_for(rows, "css", 3).retention_days == 30
    shorter = periods_for(rows, "css", 1)
    assert walk(ARREARS + timedelta(days=10), periods=shorter)[-1][0] == FROZEN


@pytest.mark.parametrize("days", [-1, 366, 1.5, True])
def test_policy_days_are_bounded_whole_days(days) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        PolicyRow(days, 15)


@given(st.integers(min_value=0, max_value=60 * 24), st.integers(min_value=0, max_value=60 * 24))
def test_evaluating_in_two_steps_equals_one_step(first_h: int, second_h: int) -> None:
    """A job that runs often and one that runs rarely reach the same states at the same times."""
    later = ARREARS + timedelta(hours=first_h + second_h)
    direct = decide(ppu(), arrears_since=ARREARS, periods=DEFAULT_POLICY, now=later)
    resource = ppu()
    steps = decide(
        resource,
        arrears_since=ARREARS,
        periods=DEFAULT_POLICY,
        now=ARREARS + timedelta(hours=first_h),
    )
    if steps:
        resource = ResourceFacts("r1", steps[-1].to_status, steps[-1].at, "pay_per_use")
    steps += decide(resource, arrears_since=ARREARS, periods=DEFAULT_POLICY, now=later)
    assert [(t.to_status, t.at) for t in steps] == [(t.to_status, t.at) for t in direct]
