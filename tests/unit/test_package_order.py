"""Which resource package covers usage first: the one expiring first, and of packages expiring
together the one bought first (Huawei's package rules, see docs/research/huawei-billing-rules.md
§5: "same expiry → first created")."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from cloudbill.kernel.periods import utc
from cloudbill.kernel.resets import ResetKind
from cloudbill.settle.packages import PackageState, consume

HOUR = utc(2026, 3, 16, 9, 0, 0)
FACTS = ("ecs", "hws.resource.type.vm", "s6.large.2", "ap-southeast-1")
E10 = 10**10


def package(pid: str, *, bought_days_ago: int, expires_in_days: int = 30) -> PackageState:
    return PackageState(
        id=pid,
        customer_id="c",
        usage_type="duration",
        unit_factor=Decimal(3600),
        quantity_e10=2 * E10,
        service=None,
        resource_type=None,
        spec=None,
        region=None,
        reset_kind=ResetKind.NONE,
        reset_hour=None,
        valid_from=HOUR - timedelta(days=40),
        valid_to=HOUR + timedelta(days=expires_in_days),
        timezone="UTC",
        created_at=HOUR - timedelta(days=bought_days_ago),
    )


def test_of_packages_expiring_together_the_one_bought_first_is_used_first() -> None:
    # ids sort the other way round, so the order cannot come from them
    later, earlier = (
        package("a-bought-later", bought_days_ago=1),
        package("z-bought-first", bought_days_ago=9),
    )
    covered, uses = consume(
        [later, earlier],
        usage_type="duration",
        facts=FACTS,
        at=HOUR,
        usage_e10=3 * E10,
        pricing_factor=Decimal(3600),
    )
    assert covered == 3 * E10
    assert [(u.package_id, u.quantity_e10) for u in uses] == [
        ("z-bought-first", 2 * E10),
        ("a-bought-later", E10),
    ]


def test_the_package_expiring_first_comes_before_the_one_bought_first() -> None:
    old = package("old", bought_days_ago=30, expires_in_days=60)
    soon = package("soon", bought_days_ago=1, expires_in_days=5)
    _covered, uses = consume(
        [old, soon],
        usage_type="duration",
        facts=FACTS,
        at=HOUR,
        usage_e10=E10,
        pricing_factor=Decimal(3600),
    )
    assert [u.package_id for u in uses] == ["soon"]
