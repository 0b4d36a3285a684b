"""The budget rule: the generic cell rate algorithm (GCRA), the token bucket as one number.

A budget lets `burst` requests through at once and then `rate_per_s` a second. Its state is one
instant per key, the theoretical arrival time (TAT): the time at which the bucket would be full
again. A request at `now` is allowed when max(TAT, now) + interval lies at most `burst`
intervals after `now`; taking it moves TAT there. A key never seen, or one whose TAT has passed,
is a full bucket, so stale state can be deleted at any time without changing an answer."""

from __future__ import annotations

import math
from dataclasses import dataclass

MICROS = 1_000_000


@dataclass(frozen=True, slots=True)
class Budget:
    rate_per_s: float
    burst: int

    @property
    def interval_us(self) -> int:
        """Microseconds one request costs (at least 1)."""
        return max(1, math.ceil(MICROS / self.rate_per_s))

    @property
    def retry_after_s(self) -> int:
        """Whole seconds until a spent budget holds one request again (HTTP `Retry-After`)."""
        return max(1, math.ceil(self.interval_us / MICROS))

    @property
    def limit_us(self) -> int:
        """How far TAT may run ahead of now: the whole burst."""
        return self.burst * self.interval_us


def next_tat(tat_us: int | None, now_us: int, budget: Budget) -> int | None:
    """The TAT after one more request at `now_us`, or None when that request is over budget."""
    new = max(tat_us if tat_us is not None else now_us, now_us) + budget.interval_us
    return new if new - now_us <= budget.limit_us else None
