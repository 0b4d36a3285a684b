"""Pure benefit rules: input checks, package periods and remainders, coupon scope."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal, localcontext

from ..catalog.index import CatalogIndex
from ..kernel.clock import ensure_utc
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.ids import is_valid_id
from ..kernel.limits import NAME_MAX_CHARS, REFERENCE_MAX_CHARS
from ..kernel.money import check_int64, decimal_places, parse_decimal
from ..kernel.periods import Period
from ..kernel.resets import RESET_KINDS, ResetKind, reset_period
from .model import (
    COUPON_BILLING_MODES,
    QUANTITY_PLACES,
    CashCoupon,
    CouponStatus,
    PackageGrant,
    PackageState,
    ResourcePackage,
)

_REGION_RE = re.compile(r"^[a-z0-9][a-z0-9\-]{0,63}$")  # as resources accept them
_LAST_INSTANT = timedelta(microseconds=1)


def _bad(message: str, **details: object) -> CloudbillError:
    return CloudbillError(ErrorCode.INVALID_ARGUMENT, message, **details)


def check_reference(reference: object) -> str:
    if not isinstance(reference, str) or not reference.strip():
        raise _bad("an external reference is required (it makes the request idempotent)")
    if len(reference.strip()) > REFERENCE_MAX_CHARS:
        raise _bad(f"reference longer than {REFERENCE_MAX_CHARS} characters")
    if any(ord(ch) < 32 for ch in reference):  # PostgreSQL refuses NUL in text
        raise _bad("a reference cannot contain control characters")
    return reference.strip()


def is_record_id(value: object) -> bool:
    """Whether `value` can name a package or coupon (anything else is simply not found)."""
    return isinstance(value, str) and is_valid_id(value)


def check_name(name: object, default: str) -> str:
    if name is None:
        return default[:NAME_MAX_CHARS]
    if not isinstance(name, str) or not name.strip():
        raise _bad("name cannot be empty")
    name = name.strip()
    if len(name) > NAME_MAX_CHARS or any(ord(ch) < 32 for ch in name):
        raise _bad(f"name must be 1-{NAME_MAX_CHARS} printable characters")
    return name


def check_validity(valid_from: object, valid_to: object) -> tuple[datetime, datetime]:
    """Both instants in UTC (naive = UTC), `valid_to` strictly after `valid_from`."""
    if not isinstance(valid_from, datetime) or not isinstance(valid_to, datetime):
        raise _bad("valid_from and valid_to must be instants")
    start, end = ensure_utc(valid_from), ensure_utc(valid_to)
    if end <= start:
        raise _bad("valid_to must be after valid_from")
    return start, end


def check_not_over(valid_to: datetime, now: datetime) -> None:
    if valid_to <= now:
        raise _bad("valid_to must be in the future", valid_to=valid_to.isoformat())


# -- resource packages ----------------------------------------------------------------------


def parse_quantity(value: object) -> int:
    """An exact positive quantity with at most 10 decimals, as a count of 10**-10."""
    amount = parse_decimal(value, what="quantity")
    if decimal_places(amount) > QUANTITY_PLACES:
        raise CloudbillError(
            ErrorCode.TOO_MANY_DECIMALS,
            f"a quantity takes at most {QUANTITY_PLACES} decimal places, got {amount}",
        )
    if amount <= 0:
        raise CloudbillError(ErrorCode.INVALID_AMOUNT, "quantity must be greater than zero")
    with localcontext() as ctx:
        ctx.prec = 80
        return check_int64(int(amount.scaleb(QUANTITY_PLACES)), "quantity")


def quantity_text(quantity_e10: int) -> str:
    """Exact text without trailing zeros or exponent: 7440000000000 -> "744"."""
    with localcontext() as ctx:
        ctx.prec = 80
        value = Decimal(quantity_e10).scaleb(-QUANTITY_PLACES).normalize()
    return format(value, "f")


def check_region(region: object) -> str | None:
    if region is None:
        return None
    if not isinstance(region, str) or not _REGION_RE.match(region):
        raise _bad(f"region {region!r}: lowercase letters, digits and '-', like ap-southeast-1")
    return region


def _code(value: object, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _bad(f"{what} must be a non-empty code")
    return value.strip()


def check_reset(
    reset_kind: object, reset_hour: object, resets_monthly: object = None
) -> tuple[ResetKind, int | None]:
    """(kind, local hour of a daily reset). `resets_monthly`, the older form, still says
    true = monthly_calendar (the only monthly reset it had), false = none."""
    if resets_monthly is not None:
        if not isinstance(resets_monthly, bool):
            raise _bad("resets_monthly must be true or false")
        legacy = ResetKind.MONTHLY_CALENDAR if resets_monthly else ResetKind.NONE
        if reset_kind is not None and reset_kind != legacy:
            raise _bad(f"resets_monthly={str(resets_monthly).lower()} contradicts reset_kind")
        reset_kind = legacy
    if reset_kind is None:
        reset_kind = ResetKind.NONE
    if reset_kind not in RESET_KINDS:
        raise _bad(f"reset_kind {reset_kind!r}: use {', '.join(RESET_KINDS)}")
    kind = ResetKind(reset_kind)
    if kind is not ResetKind.DAILY:
        if reset_hour is not None:
            raise _bad("reset_hour is only for a daily reset", field="reset_hour")
        return kind, None
    if isinstance(reset_hour, bool) or not isinstance(reset_hour, int) or not 0 <= reset_hour <= 23:
        raise _bad("a daily reset needs reset_hour, a whole hour from 0 to 23", field="reset_hour")
    return kind, reset_hour


def normalize_grant(
    customer_id: str,
    *,
    name: object,
    usage_type: object,
    quantity: object,
    unit: object,
    service: object,
    resource_type: object,
    spec: object,
    region: object,
    reset_kind: object = None,
    reset_hour: object = None,
    resets_monthly: object = None,
    valid_from: object,
    valid_to: object,
) -> PackageGrant:
    """Check a grant's shape (no catalog, no clock): the result is what a replay is compared on."""
    usage_code, unit_code = _code(usage_type, "usage type"), _code(unit, "unit")
    if usage_code is None or unit_code is None:
        raise _bad("a package needs a usage type and a unit")
    quantity_e10 = parse_quantity(quantity)
    kind, hour = check_reset(reset_kind, reset_hour, resets_monthly)
    start, end = check_validity(valid_from, valid_to)
    default_name = f"{quantity_text(quantity_e10)} {unit_code} {usage_code}"
    return PackageGrant(
        customer_id=customer_id,
        name=check_name(name, default_name),
        usage_type=usage_code,
        unit=unit_code,
        quantity_e10=quantity_e10,
        service=_code(service, "service"),
        resource_type=_code(resource_type, "resource type"),
        spec=_code(spec, "spec"),
        region=check_region(region),
        reset_kind=kind,
        reset_hour=hour,
        valid_from=start,
        valid_to=end,
    )


def same_grant(package: ResourcePackage, grant: PackageGrant) -> bool:
    return (
        package.customer_id == grant.customer_id
        and package.name == grant.name
        and package.usage_type == grant.usage_type
        and package.pricing_unit == grant.unit
        and package.quantity_e10 == grant.quantity_e10
        and (package.service, package.resource_type, package.spec, package.region)
        == (grant.service, grant.resource_type, grant.spec, grant.region)
        and (package.reset_kind, package.reset_hour) == (grant.reset_kind, grant.reset_hour)
        and package.valid_from == grant.valid_from
        and package.valid_to == grant.valid_to
    )


def check_grant_catalog(grant: PackageGrant, catalog: CatalogIndex) -> None:
    """The usage type, unit and scope exist and fit together in the active catalog."""
    usage = catalog.usage_type(grant.usage_type)
    unit = catalog.unit(grant.unit)
    if unit.dimension != usage.dimension:
        raise _bad(f"unit {unit.code} ({unit.dimension}) does not measure {usage.code}")
    if grant.spec is not None and grant.resource_type is None:
        raise _bad("a spec is scoped within a resource type: give the resource type too")
    if grant.resource_type is not None:
        service, rtype = catalog.resource_type(grant.resource_type)
        if grant.service is not None and grant.service != service.code:
            raise _bad(f"resource type {rtype.code} belongs to service {service.code}")
        if grant.spec is not None:
            catalog.spec(rtype.code, grant.spec)
        if usage.code not in rtype.usage_types:
            raise _bad(f"{rtype.code} is not metered by {usage.code}")
    elif grant.service is not None:
        service = catalog.service(grant.service)
        if not any(usage.code in rt.usage_types for rt in service.resource_types):
            raise _bad(f"no resource type of {service.code} is metered by {usage.code}")


def package_state(package: ResourcePackage, at: datetime) -> PackageState:
    if at < package.valid_from:
        return PackageState.PENDING
    if at >= package.valid_to:
        return PackageState.EXPIRED
    return PackageState.ACTIVE


def current_period(package: ResourcePackage, tz_name: str, at: datetime) -> tuple[datetime, Period]:
    """(period key, usable window) of the period containing `at`.

    The key is `package_period.period_start`: the validity start, or for a resetting package
    the start of its reset period (kernel/resets.py; it may precede the validity). The window
    is that period clipped to the validity. An instant outside the validity is taken to its
    nearest end, so a pending package shows its first period and an expired one its last.
    """
    validity = Period(package.valid_from, package.valid_to)
    instant = min(max(ensure_utc(at), validity.start), validity.end - _LAST_INSTANT)
    period = reset_period(
        package.reset_kind, reset_hour=package.reset_hour, valid_from=package.valid_from,
        valid_to=package.valid_to, tz_name=tz_name, instant=instant,
    )  # fmt: skip
    window = period.overlap(validity)
    assert window is not None, "the clamped instant lies in both the period and the validity"
    return period.start, window


def period_start(package: ResourcePackage, tz_name: str, at: datetime) -> datetime:
    """The `package_period.period_start` key of the period containing `at`."""
    return current_period(package, tz_name, at)[0]


def remaining_e10(package: ResourcePackage, used_e10: int) -> int:
    """What is left of the period's quantity (never below zero, even if over-used)."""
    return max(0, package.quantity_e10 - used_e10)


# -- cash coupons ---------------------------------------------------------------------------


def _code_list(values: object, what: str, max_count: int) -> tuple[str, ...] | None:
    if values is None:
        return None
    if not isinstance(values, (list, tuple)):
        raise _bad(f"{what} must be a list of codes")
    if len(values) > max_count:
        raise _bad(f"{what}: give at most {max_count} codes")
    codes = set()
    for item in values:
        if not isinstance(item, str) or not item.strip():
            raise _bad(f"{what} must be non-empty codes")
        codes.add(item.strip())
    if not codes:
        raise _bad(f"{what}: give at least one, or leave it out to mean all")
    return tuple(sorted(codes))


def normalize_services(services: object, max_count: int) -> tuple[str, ...] | None:
    """Sorted, distinct service codes; None = every service.

    `max_count` is the catalog's number of services: a longer list can only hold repeats, and
    it bounds the loop over outside data.
    """
    return _code_list(services, "services", max_count)


def normalize_billing_modes(modes: object) -> tuple[str, ...] | None:
    """Sorted, distinct billing modes; None = both."""
    codes = _code_list(modes, "billing modes", len(COUPON_BILLING_MODES))
    for code in codes or ():
        if code not in COUPON_BILLING_MODES:
            raise _bad(f"billing mode {code!r}: use {' or '.join(COUPON_BILLING_MODES)}")
    return codes


def check_coupon_services(services: tuple[str, ...] | None, catalog: CatalogIndex) -> None:
    for code in services or ():
        catalog.service(code)


def is_due_to_expire(coupon: CashCoupon, now: datetime) -> bool:
    return coupon.status is CouponStatus.ACTIVE and coupon.valid_to <= now
