"""Pure resource-package consumption: usage is covered by matching packages before money.

A package matches a line when its usage type and scope (service, resource type, spec, region;
unset = any) fit and the usage hour lies in its validity. The package that expires first is used
first. A package that resets monthly has a fresh quantity each calendar month of the customer's
time zone; otherwise its quantity lasts the whole validity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from ..kernel.periods import month_of, month_period


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
    resets_monthly: bool
    valid_from: datetime
    valid_to: datetime
    timezone: str
    created_at: datetime  # when it was bought or granted: of two expiring together, first used
    used_e10: dict[datetime, int] = field(default_factory=dict)  # period start -> used

    def period_start(self, hour: datetime) -> datetime:
        if not self.resets_monthly:
            return self.valid_from
        return month_period(*month_of(hour, self.timezone), self.timezone).start

    def matches(self, usage_type: str, facts: tuple[str, str, str, str], hour: datetime) -> bool:
        service, resource_type, spec, region = facts
        return (
            self.usage_type == usage_type
            and self.valid_from <= hour < self.valid_to
            and self.service in (None, service)
            and self.resource_type in (None, resource_type)
            and self.spec in (None, spec)
            and self.region in (None, region)
        )


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
    hour: datetime,
    usage_e10: int,
    pricing_factor: Decimal,
) -> tuple[int, list[PackageUse]]:
    """(usage covered, in the pricing unit; the package uses). Mutates the packages' usage."""
    covered = 0
    uses: list[PackageUse] = []
    candidates = [p for p in packages if p.matches(usage_type, facts, hour)]
    # Huawei: the package expiring first is used first; of packages expiring together, the
    # one bought first (then by id, so the order is always the same).
    for package in sorted(candidates, key=lambda p: (p.valid_to, p.created_at, p.id)):
        want = usage_e10 - covered
        if want == 0:
            break
        start = package.period_start(hour)
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
