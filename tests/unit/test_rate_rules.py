"""The budget rule (GCRA): a burst at once, then the rate; never more in any window."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cloudbill.ratelimit.rules import MICROS, Budget, next_tat


def _run(budget: Budget, times_us: list[int]) -> list[bool]:
    tat, out = None, []
    for now in times_us:
        new = next_tat(tat, now, budget)
        out.append(new is not None)
        tat = new if new is not None else tat
    return out


def test_a_burst_then_the_rate() -> None:
    budget = Budget(rate_per_s=10, burst=3)
    assert _run(budget, [0] * 5) == [True, True, True, False, False]
    # 100 ms later one request's worth has come back, not more
    assert _run(budget, [0, 0, 0, 100_000, 100_000]) == [True, True, True, True, False]
    # a full bucket after burst x interval, and never more than the burst
    assert _run(budget, [0, 0, 0, 10 * MICROS, 10 * MICROS, 10 * MICROS, 10 * MICROS]) == [
        True, True, True, True, True, True, False,
    ]  # fmt: skip


def test_a_key_never_seen_is_a_full_bucket() -> None:
    assert next_tat(None, 5, Budget(1, 1)) == 5 + MICROS


@given(
    rate=st.integers(1, 50),
    burst=st.integers(1, 20),
    gaps=st.lists(st.integers(0, 300_000), min_size=1, max_size=200),
)
def test_no_window_lets_through_more_than_burst_plus_rate(
    rate: int, burst: int, gaps: list[int]
) -> None:
    budget = Budget(rate, burst)
    times, t = [], 0
    for gap in gaps:
        t += gap
        times.append(t)
    allowed = [at for at, ok in zip(times, _run(budget, times), strict=True) if ok]
    for i, start in enumerate(allowed):
        for span_us in (MICROS // 10, MICROS, 3 * MICROS):
            inside = sum(1 for at in allowed[i:] if at < start + span_us)
            assert inside <= burst + span_us * rate // MICROS + 1
