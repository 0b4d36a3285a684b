"""Pure resource-package consumption: usage is covered by matching packages before money.

A package matches usage when its usage type and scope (service, resource type, spec, region;
unset = any) fit and the usage's own time lies in its validity. The package that expires first
is used first. A resetting package has a fresh quantity in each reset period (kernel/resets.py);
otherwise its quantity lasts the whole validity.

A line is one clock hour of usage. When a package's validity starts or ends, or its period
resets, inside that hour, the hour is cut there and each part is covered on its own, from the
usage inside it (`split_usage`: a record's usage is spread evenly over its interval). Usage
before a package's start is not covered by it, usage after a reset draws on the new period.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from ..kernel.periods import HOUR, Period
from ..kernel.quantity import split_proportionally
from ..kernel.resets import ResetKind, reset_period

Piece = tuple[datetime, datetime, int]  # a record's usage inside the hour: [start, end), e10


@dataclass
class PackageState:
    id: str
    customer_id: str
    usage_type: str
    unit_factor: Decimal  # base units in one of the package's unit
    quantity_e10: int  # per period, in the package's unit
    service: str | None
    resource_type: str | None
    spec: str | None
    region: str | None
    reset_kind: ResetKind
    reset_hour: int | None  # the local hour of a daily reset
    valid_from: datetime
    valid_to: datetime
    timezone: str
    created_at: datetime  # when it was bought or granted: of two expiring together, first used
    used_e10: dict[datetime, int] = field(default_factory=dict)  # period start -> used
    _period: Period | None = None  # the last period looked up: lines come in hour order

    def period(self, instant: datetime) -> Period:
        cached = self._period
        if cached is None or not cached.start <= instant < cached.end:
            cached = self._period = reset_period(
                self.reset_kind, reset_hour=self.reset_hour, valid_from=self.valid_from,
                valid_to=self.valid_to, tz_name=self.timezone, instant=instant,
            )  # fmt: skip
        return cached

    def period_start(self, instant: datetime) -> datetime:
        return self.period(instant).start

    def fits(self, usage_type: str, facts: tuple[str, str, str, str]) -> bool:
        service, resource_type, spec, region = facts
        return (
            self.usage_type == usage_type
            and self.service in (None, service)
            and self.resource_type in (None, resource_type)
            and self.spec in (None, spec)
            and self.region in (None, region)
        )

    def matches(self, usage_type: str, facts: tuple[str, str, str, str], at: datetime) -> bool:
        return self.valid_from <= at < self.valid_to and self.fits(usage_type, facts)

    def cuts(self, hour: datetime) -> list[datetime]:
        """Its boundaries strictly inside the hour: validity start or end, a reset."""
        end = hour + HOUR
        found = [t for t in (self.valid_from, self.valid_to) if hour < t < end]
        if self.reset_kind is not ResetKind.NONE and self.valid_from < end and hour < self.valid_to:
            reset = self.period(hour).end
            if reset < end:  # periods last a day or more: at most one reset in an hour
                found.append(reset)
        return found


def hour_cuts(
    packages: Sequence[PackageState], usage_type: str, facts: tuple[str, str, str, str],
    hour: datetime,
) -> list[datetime]:  # fmt: skip
    """Where the matching packages cut the hour, in order; empty in the common case."""
    end = hour + HOUR
    cuts: set[datetime] = set()
    for p in packages:
        if p.valid_from < end and hour < p.valid_to and p.fits(usage_type, facts):
            cuts.update(p.cuts(hour))
    return sorted(cuts)


def split_usage(pieces: Sequence[Piece], starts: Sequence[datetime], end: datetime) -> list[int]:
    """The usage in each part [starts[i], starts[i+1] or end), exactly: each piece's quantity is
    spread evenly over its interval (to the microsecond, like a record spanning hours) and split
    by how much of it lies in each part; a piece of no length counts where it starts."""
    bounds = [*starts, end]
    totals = [0] * len(starts)
    for start, stop, quantity in pieces:
        weights = [
            max(0, _micros(max(start, bounds[i]), min(stop, bounds[i + 1])))
            for i in range(len(starts))
        ]
        if sum(weights) == 0:
            totals[max(0, bisect_right(starts, start) - 1)] += quantity
            continue
        for i, part in enumerate(split_proportionally(quantity, weights)):
            totals[i] += part
    return totals


def _micros(start: datetime, end: datetime) -> int:
    delta = end - start
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@dataclass(frozen=True, slots=True)
class PackageUse:
    package_id: str
    period_start: datetime
    quantity_e10: int  # in the package's unit


def consume(
    packages: list[PackageState],
    *,
    usage_type: str,
    facts: tuple[str, str, str, str],
    at: datetime,
    usage_e10: int,
    pricing_factor: Decimal,
) -> tuple[int, list[PackageUse]]:
    """(usage covered, in the pricing unit; the package uses) of usage at `at` (a part of an
    hour in which no matching package starts, ends or resets). Mutates the packages' usage."""
    covered = 0
    uses: list[PackageUse] = []
    candidates = [p for p in packages if p.matches(usage_type, facts, at)]
    # Huawei: the package expiring first is used first; of packages expiring together, the
    # one bought first (then by id, so the order is always the same).
    for package in sorted(candidates, key=lambda p: (p.valid_to, p.created_at, p.id)):
        want = usage_e10 - covered
        if want == 0:
            break
        start = package.period_start(at)
        left = package.quantity_e10 - package.used_e10.get(start, 0)
        if left <= 0:
            continue
        # Between the package's unit and the pricing unit: what is left is rounded down and
        # what is taken rounded up, so a package is never overdrawn (equal units are exact).
        p_num, p_den = (pricing_factor / package.unit_factor).as_integer_ratio()
        left_in_pricing = left * p_den // p_num
        take = min(want, left_in_pricing)
        if take <= 0:
            continue
        taken_in_package = min(left, -(-take * p_num // p_den))
        package.used_e10[start] = package.used_e10.get(start, 0) + taken_in_package
        covered += take
        uses.append(PackageUse(package.id, start, taken_in_package))
    return covered, uses
