"""Pure benefit rules: quantities, package periods in customer zones, grant and coupon checks."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudbill.benefits import rules
from cloudbill.benefits.model import PackageSource, PackageState, ResourcePackage
from cloudbill.catalog import loader
from cloudbill.catalog.index import CatalogIndex
from cloudbill.kernel.errors import CloudbillError, ErrorCode
from cloudbill.kernel.limits import INT64_MAX
from cloudbill.kernel.periods import utc
from cloudbill.kernel.resets import ResetKind

CATALOG = CatalogIndex(loader.read_file(loader.DEFAULT_CATALOG_PATH))
VM = "hws.resource.type.vm"
E10 = 10**10


def package(**overrides: object) -> ResourcePackage:
    base = ResourcePackage(
        id="p1", customer_id="c1", name="vm hours", usage_type="duration", pricing_unit="h",
        quantity_e10=744 * E10, service=None, resource_type=None, spec=None, region=None,
        reset_kind=ResetKind.NONE, reset_hour=None, valid_from=utc(2026, 3, 1),
        valid_to=utc(2026, 6, 1), source=PackageSource.GRANTED, reference="r1",
        created_at=utc(2026, 3, 1),
    )  # fmt: skip
    return replace(base, **overrides)  # type: ignore[arg-type]


def grant_fields(**overrides: object) -> dict[str, object]:
    fields: dict[str, object] = dict(
        name=None, usage_type="duration", quantity="744", unit="h", service=None,
        resource_type=None, spec=None, region=None, reset_kind=None, reset_hour=None,
        valid_from=utc(2026, 3, 1), valid_to=utc(2026, 6, 1),
    )  # fmt: skip
    fields.update(overrides)
    return fields


def code_of(call) -> ErrorCode:  # type: ignore[no-untyped-def]
    with pytest.raises(CloudbillError) as caught:
        call()
    return caught.value.code


# -- quantities -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given_value", "e10"),
    [("744", 744 * E10), (3, 3 * E10), (Decimal("1.5"), 15 * E10 // 10),
     ("0.0000000001", 1), (" 2.50 ", 25 * E10 // 10)],
)  # fmt: skip
def test_parse_quantity_is_exact(given_value: object, e10: int) -> None:
    assert rules.parse_quantity(given_value) == e10


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        (744.0, ErrorCode.INVALID_AMOUNT),  # a float is never exact
        (True, ErrorCode.INVALID_AMOUNT),
        ("0", ErrorCode.INVALID_AMOUNT),
        ("-1", ErrorCode.INVALID_AMOUNT),
        ("1e3", ErrorCode.INVALID_AMOUNT),
        ("abc", ErrorCode.INVALID_AMOUNT),
        ("0.00000000001", ErrorCode.TOO_MANY_DECIMALS),
        ("1000000000", ErrorCode.AMOUNT_OUT_OF_RANGE),  # 1e19 tenths-of-billionths > int64
    ],
)
def test_parse_quantity_refuses(bad: object, code: ErrorCode) -> None:
    assert code_of(lambda: rules.parse_quantity(bad)) == code


@given(st.integers(min_value=1, max_value=INT64_MAX))
def test_quantity_text_round_trips(e10: int) -> None:
    text = rules.quantity_text(e10)
    assert "E" not in text and "e" not in text
    assert rules.parse_quantity(text) == e10


# -- periods --------------------------------------------------------------------------------


def test_a_package_that_does_not_reset_has_one_period() -> None:
    p = package()
    for at in (utc(2026, 2, 1), utc(2026, 3, 1), utc(2026, 4, 15), utc(2026, 7, 1)):
        key, window = rules.current_period(p, "Asia/Shanghai", at)
        assert key == p.valid_from
        assert (window.start, window.end) == (p.valid_from, p.valid_to)


def test_monthly_periods_follow_the_customer_zone() -> None:
    p = package(reset_kind=ResetKind.MONTHLY_CALENDAR)
    # Asia/Shanghai is UTC+8: April begins on 2026-03-31 at 16:00 UTC.
    key, window = rules.current_period(p, "Asia/Shanghai", utc(2026, 3, 31, 15, 59, 59))
    assert key == utc(2026, 2, 28, 16)  # March 1st, Shanghai midnight
    assert (window.start, window.end) == (utc(2026, 3, 1), utc(2026, 3, 31, 16))  # clipped
    key, window = rules.current_period(p, "Asia/Shanghai", utc(2026, 3, 31, 16))
    assert key == window.start == utc(2026, 3, 31, 16)
    assert window.end == utc(2026, 4, 30, 16)
    # The same instant is still March for a UTC customer.
    assert rules.period_start(p, "UTC", utc(2026, 3, 31, 16)) == utc(2026, 3, 1)
    assert rules.period_start(p, "Asia/Shanghai", utc(2026, 3, 31, 16)) == utc(2026, 3, 31, 16)


def test_monthly_periods_across_daylight_saving() -> None:
    p = package(reset_kind=ResetKind.MONTHLY_CALENDAR)
    # New York: March starts at EST (UTC-5), April at EDT (UTC-4).
    assert rules.current_period(p, "America/New_York", utc(2026, 4, 1, 3, 59))[0] == utc(
        2026, 3, 1, 5
    )
    key, window = rules.current_period(p, "America/New_York", utc(2026, 4, 1, 4))
    assert key == utc(2026, 4, 1, 4) and window.end == utc(2026, 5, 1, 4)


def test_the_last_month_ends_with_the_validity() -> None:
    p = package(reset_kind=ResetKind.MONTHLY_CALENDAR, valid_to=utc(2026, 5, 20))
    key, window = rules.current_period(p, "UTC", utc(2026, 5, 19))
    assert key == utc(2026, 5, 1) and window.end == utc(2026, 5, 20)
    # after expiry the last period is shown; before the start, the first
    assert rules.current_period(p, "UTC", utc(2027, 1, 1))[0] == utc(2026, 5, 1)
    assert rules.current_period(p, "UTC", utc(2025, 1, 1))[0] == utc(2026, 3, 1)


ZONES = ["UTC", "Asia/Shanghai", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"]


@given(
    offset_s=st.integers(min_value=0, max_value=92 * 86_400 - 1),
    zone=st.sampled_from(ZONES),
    start_day=st.integers(min_value=1, max_value=28),
)
def test_monthly_period_contains_the_instant(offset_s: int, zone: str, start_day: int) -> None:
    p = package(reset_kind=ResetKind.MONTHLY_CALENDAR, valid_from=utc(2026, 1, start_day, 7))
    p = replace(p, valid_to=p.valid_from + timedelta(days=92))
    at = p.valid_from + timedelta(seconds=offset_s)
    key, window = rules.current_period(p, zone, at)
    assert key <= window.start <= at < window.end
    assert p.valid_from <= window.start and window.end <= p.valid_to
    local = key.astimezone(ZoneInfo(zone))
    assert (local.day, local.hour, local.minute) == (1, 0, 0)


def test_package_state_and_remaining() -> None:
    p = package()
    assert rules.package_state(p, utc(2026, 2, 28, 23, 59)) is PackageState.PENDING
    assert rules.package_state(p, utc(2026, 3, 1)) is PackageState.ACTIVE
    assert rules.package_state(p, utc(2026, 6, 1)) is PackageState.EXPIRED  # end is exclusive
    assert rules.remaining_e10(p, 0) == 744 * E10
    assert rules.remaining_e10(p, 700 * E10) == 44 * E10
    assert rules.remaining_e10(p, 800 * E10) == 0  # over-used: nothing left, never negative


# -- grants ---------------------------------------------------------------------------------


def test_normalize_grant_defaults_and_utc() -> None:
    naive = datetime(2026, 3, 1, 8)
    grant = rules.normalize_grant("c1", **grant_fields(valid_from=naive, quantity="744.50"))
    assert grant.valid_from == datetime(2026, 3, 1, 8, tzinfo=UTC)
    assert grant.name == "744.5 h duration"
    assert grant.quantity_e10 == 7445 * E10 // 10


@pytest.mark.parametrize(
    "overrides",
    [
        {"valid_to": utc(2026, 3, 1)},  # not after valid_from
        {"valid_to": "2026-06-01"},  # not an instant
        {"resets_monthly": "yes"},
        {"reset_kind": "weekly"},
        {"reset_kind": "daily"},  # a daily reset needs its hour
        {"reset_kind": "daily", "reset_hour": 24},
        {"reset_kind": "daily", "reset_hour": True},
        {"reset_kind": "monthly_calendar", "reset_hour": 3},  # the hour is for daily only
        {"reset_kind": "none", "resets_monthly": True},  # the older flag contradicts it
        {"region": "AP South"},
        {"name": "  "},
        {"usage_type": ""},
        {"unit": None},
    ],
)
def test_normalize_grant_refuses(overrides: dict[str, object]) -> None:
    call = lambda: rules.normalize_grant("c1", **grant_fields(**overrides))  # noqa: E731
    assert code_of(call) is ErrorCode.INVALID_ARGUMENT


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"usage_type": "nope"}, ErrorCode.CATALOG_ITEM_NOT_FOUND),
        ({"unit": "parsec"}, ErrorCode.CATALOG_ITEM_NOT_FOUND),
        ({"unit": "GB"}, ErrorCode.INVALID_ARGUMENT),  # data does not measure duration
        ({"service": "nope"}, ErrorCode.CATALOG_ITEM_NOT_FOUND),
        ({"service": "evs", "resource_type": VM}, ErrorCode.INVALID_ARGUMENT),
        ({"spec": "s6.large.2"}, ErrorCode.INVALID_ARGUMENT),  # spec without its type
        ({"resource_type": VM, "spec": "nope"}, ErrorCode.CATALOG_ITEM_NOT_FOUND),
        ({"resource_type": "nope"}, ErrorCode.CATALOG_ITEM_NOT_FOUND),
        ({"usage_type": "capacity", "unit": "GBh", "resource_type": VM},
         ErrorCode.INVALID_ARGUMENT),
        ({"usage_type": "requests", "unit": "count", "service": "ecs"}, ErrorCode.INVALID_ARGUMENT),
    ],
)  # fmt: skip
def test_grant_catalog_checks(overrides: dict[str, object], code: ErrorCode) -> None:
    grant = rules.normalize_grant("c1", **grant_fields(**overrides))
    assert code_of(lambda: rules.check_grant_catalog(grant, CATALOG)) == code


def test_grant_catalog_accepts_a_consistent_scope() -> None:
    for overrides in (
        {},
        {"service": "ecs", "resource_type": VM, "spec": "s6.large.2", "region": "ap-southeast-1"},
        {"usage_type": "capacity", "unit": "GBh", "service": "obs"},
        {"usage_type": "upflow", "unit": "TB", "resource_type": "hws.resource.type.ip"},
    ):
        rules.check_grant_catalog(rules.normalize_grant("c1", **grant_fields(**overrides)), CATALOG)


def test_same_grant_compares_every_field() -> None:
    grant = rules.normalize_grant("c1", **grant_fields())
    stored = package(name=grant.name)
    assert rules.same_grant(stored, grant)
    assert not rules.same_grant(replace(stored, quantity_e10=1), grant)
    assert not rules.same_grant(replace(stored, customer_id="c2"), grant)
    assert not rules.same_grant(replace(stored, region="ap-southeast-1"), grant)
    assert not rules.same_grant(replace(stored, reset_kind=ResetKind.MONTHLY_CALENDAR), grant)
    daily = rules.normalize_grant("c1", **grant_fields(reset_kind="daily", reset_hour=8))
    assert not rules.same_grant(replace(stored, reset_kind=ResetKind.DAILY, reset_hour=9), daily)


def test_the_older_monthly_flag_means_the_calendar_month() -> None:
    grant = rules.normalize_grant("c1", **grant_fields(resets_monthly=True))
    assert (grant.reset_kind, grant.reset_hour) == (ResetKind.MONTHLY_CALENDAR, None)
    same = rules.normalize_grant(
        "c1", **grant_fields(resets_monthly=True, reset_kind="monthly_calendar")
    )
    assert same == grant


# -- coupons and references -----------------------------------------------------------------


def test_coupon_scope_is_sorted_and_distinct() -> None:
    assert rules.normalize_services(None, 7) is None
    assert rules.normalize_services(["obs", "ecs", " ecs"], 7) == ("ecs", "obs")
    assert rules.normalize_billing_modes(None) is None
    modes = ["yearly_monthly", "pay_per_use"]
    assert rules.normalize_billing_modes(modes) == ("pay_per_use", "yearly_monthly")


@pytest.mark.parametrize(
    "call",
    [
        lambda: rules.normalize_services([], 7),
        lambda: rules.normalize_services("ecs", 7),  # a string is not a list of codes
        lambda: rules.normalize_services(["ecs", ""], 7),
        lambda: rules.normalize_services(["ecs"] * 8, 7),
        lambda: rules.normalize_billing_modes(["monthly"]),
        lambda: rules.normalize_billing_modes(["pay_per_use"] * 3),
        lambda: rules.check_reference(""),
        lambda: rules.check_reference("x" * 129),
        lambda: rules.check_reference(42),
    ],
)
def test_coupon_and_reference_checks_refuse(call) -> None:  # type: ignore[no-untyped-def]
    assert code_of(call) is ErrorCode.INVALID_ARGUMENT


def test_coupon_services_must_exist() -> None:
    rules.check_coupon_services(("ecs", "obs"), CATALOG)
    rules.check_coupon_services(None, CATALOG)
    code = code_of(lambda: rules.check_coupon_services(("ecs", "nope"), CATALOG))
    assert code is ErrorCode.CATALOG_ITEM_NOT_FOUND
