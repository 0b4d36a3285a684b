"""Pure subscription rules: expiry arithmetic, auto-renew timing, expire policies, reminders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from ..catalog.model import PeriodUnit
from ..catalog.service import MAX_PERIOD_COUNT
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.periods import add_months, zone

DAY = timedelta(days=1)
# Huawei charges auto-renewal at 03:00 (customer time) seven days before expiry, daily after;
# a customer may choose 2 to 7 days (SetResourcesRenewConfig DEDUCTION_DATE).
AUTO_RENEW_DAYS_BEFORE = 7
AUTO_RENEW_DAYS_BEFORE_MIN = 2
AUTO_RENEW_LOCAL_TIME = time(3, 0)
# Unified expiry: the day of the month every chosen resource will expire on.
UNIFIED_DAY_MAX = 28


class ExpirePolicy(StrEnum):
    GRACE_THEN_RELEASE = "grace_then_release"  # grace -> frozen -> released (the default)
    TO_PAY_PER_USE = "to_pay_per_use"  # keeps running, billed by the hour from expiry
    RELEASE = "release"  # released at expiry


def check_period(unit: object, count: object) -> tuple[PeriodUnit, int]:
    try:
        period_unit = PeriodUnit(unit)
    except ValueError:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, "period unit must be month or year"
        ) from None
    most = MAX_PERIOD_COUNT[period_unit]
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= most:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT,
            f"number of {period_unit}s must be a whole number from 1 to {most}",
        )
    return period_unit, count


def months_of(unit: PeriodUnit, count: int) -> int:
    return count * (12 if unit is PeriodUnit.YEAR else 1)


def check_policy(policy: object) -> ExpirePolicy:
    try:
        return ExpirePolicy(policy)
    except ValueError:
        choices = ", ".join(p.value for p in ExpirePolicy)
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, f"expire policy must be one of {choices}"
        ) from None


def local_date(instant: datetime, tz_name: str) -> date:
    return instant.astimezone(zone(tz_name)).date()


def end_of_day(day: date, tz_name: str) -> datetime:
    """The end of `day` in the zone (the next local midnight), as a UTC instant (half-open)."""
    return datetime.combine(day + DAY, time(0), tzinfo=zone(tz_name)).astimezone(UTC)


def expiry(anchor: date, months: int, tz_name: str) -> datetime:
    """The end of the same day of the month `months` after the anchor (clamped to the last day of
    a shorter month), in the customer's zone. Always from the anchor: Jan 31 + 1 = Feb 28/29,
    + 2 = Mar 31, never Mar 28."""
    return end_of_day(add_months(anchor, months), tz_name)


def expiry_day(anchor: date, months: int) -> date:
    return add_months(anchor, months)


def auto_renew_first_attempt(
    anchor: date, months: int, tz_name: str, days_before: int = AUTO_RENEW_DAYS_BEFORE
) -> datetime:
    """03:00 local, `days_before` (by default seven) days before the expiry day."""
    day = add_months(anchor, months) - days_before * DAY
    return datetime.combine(day, AUTO_RENEW_LOCAL_TIME, tzinfo=zone(tz_name)).astimezone(UTC)


def latest_daily_slot(now: datetime, tz_name: str) -> datetime:
    """The most recent 03:00 local at or before `now`."""
    local = now.astimezone(zone(tz_name))
    slot = datetime.combine(local.date(), AUTO_RENEW_LOCAL_TIME, tzinfo=local.tzinfo)
    if slot > local:
        slot = datetime.combine(local.date() - DAY, AUTO_RENEW_LOCAL_TIME, tzinfo=local.tzinfo)
    return slot.astimezone(UTC)


def next_daily_slot(instant: datetime, tz_name: str) -> datetime:
    """The first 03:00 local after `instant`."""
    local = latest_daily_slot(instant, tz_name).astimezone(zone(tz_name))
    return datetime.combine(
        local.date() + DAY, AUTO_RENEW_LOCAL_TIME, tzinfo=zone(tz_name)
    ).astimezone(UTC)


def auto_renew_due(
    *,
    anchor: date,
    months: int,
    expire_at: datetime,
    tz_name: str,
    last_attempt: datetime | None,
    now: datetime,
    days_before: int = AUTO_RENEW_DAYS_BEFORE,
    enabled_at: datetime | None = None,
) -> bool:
    """Charge now? From 03:00 `days_before` days before expiry, once per day (at or after 03:00
    local), until it succeeds (the expiry moves on) or the resource expires. Switched on later
    than that first 03:00, the first charge is at the next 03:00, or at once when the resource
    expires before that 03:00 (Huawei, "When Does an Automatic Renewal Take Place?":
    immediately when enabled before 03:00 with expiry before 03:00 that day, or after 03:00
    with expiry before 03:00 the next day)."""
    first = auto_renew_first_attempt(anchor, months, tz_name, days_before)
    if enabled_at is not None and enabled_at > first:
        upcoming = next_daily_slot(enabled_at, tz_name)
        first = enabled_at if expire_at <= upcoming else upcoming
    if now >= expire_at or now < first:
        return False
    return last_attempt is None or last_attempt < latest_daily_slot(now, tz_name)


@dataclass(frozen=True, slots=True)
class ExpiryStep:
    to_status: str  # grace | frozen | released | converted
    at: datetime
    reason: str


def expiry_steps(
    *,
    status: str,
    expire_at: datetime,
    policy: ExpirePolicy,
    grace_days: int,
    retention_days: int,
    now: datetime,
) -> list[ExpiryStep]:
    """What an expired subscription goes through by `now`, each step at its own instant (so a
    worker that was down catches up deterministically). Deadlines count from the expiry."""
    if now < expire_at or status == "released":
        return []
    if policy is ExpirePolicy.RELEASE:
        return [ExpiryStep("released", expire_at, "expired; released by its expire policy")]
    if policy is ExpirePolicy.TO_PAY_PER_USE:
        return [ExpiryStep("converted", expire_at, "expired; billed pay-per-use from now on")]
    frozen_at = expire_at + grace_days * DAY
    released_at = frozen_at + retention_days * DAY
    steps: list[ExpiryStep] = []
    if status == "normal":
        steps.append(ExpiryStep("grace", expire_at, "subscription expired: grace period"))
    if status in ("normal", "grace") and now >= frozen_at:
        steps.append(ExpiryStep("frozen", frozen_at, "grace period over: retention period"))
    if now >= released_at:
        steps.append(ExpiryStep("released", released_at, "retention period over: released"))
    return steps


LAST_DAY = -1  # a unified expiry day: the last day of each month


def check_unified_day(day_of_month: object) -> None:
    if isinstance(day_of_month, bool) or not isinstance(day_of_month, int):
        raise CloudbillError(ErrorCode.INVALID_ARGUMENT, "day of month must be a whole number")
    if day_of_month != LAST_DAY and not 1 <= day_of_month <= UNIFIED_DAY_MAX:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT,
            f"day of month must be from 1 to {UNIFIED_DAY_MAX}, or {LAST_DAY} for the last day",
        )


def unified_day(anchor_expiry_day: date, day_of_month: int) -> date:
    """The first date on or after the current expiry day that falls on `day_of_month` (-1: the
    last day of a month)."""
    check_unified_day(day_of_month)
    if day_of_month == LAST_DAY:
        return _month_end(anchor_expiry_day)
    candidate = anchor_expiry_day.replace(day=day_of_month)
    if candidate < anchor_expiry_day:
        candidate = add_months(candidate, 1)
    return candidate


def _month_end(day: date) -> date:
    return add_months(day.replace(day=1), 1) - timedelta(days=1)
