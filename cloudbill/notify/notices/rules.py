"""Pure decisions of customer notices: which topic makes which notice, which reminder is due,
and how amounts and instants are shown to a customer."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ...kernel.money import Money

EMAIL, SMS = "email", "sms"
CHANNELS = (EMAIL, SMS)
PENDING, SENT, DEAD, SKIPPED = "pending", "sent", "dead", "skipped"
STATUSES = (PENDING, SENT, DEAD, SKIPPED)
DAY = timedelta(days=1)

# Outbox topic -> the notice (template) it makes. `resource.grace_started` is told by
# "arrears started" (same moment, same cause) and `resource.unfrozen` by "arrears cleared".
TOPIC_KINDS = {
    "customer.arrears_started": "arrears_started",
    "resource.frozen": "frozen",
    "resource.released": "released",
    "customer.arrears_cleared": "arrears_cleared",
    "customer.topup_received": "topup_received",
    "customer.balance_alert": "balance_alert",
    "customer.balance_alert_reminder": "balance_alert_reminder",
    "customer.postpaid_bill_issued": "postpaid_bill_issued",
    "customer.subscription_expiring": "subscription_expiring",
    "customer.auto_renew_failed": "auto_renew_failed",
    "customer.bill_storage_disabled": "bill_storage_disabled",  # its bucket kept failing
    "resource.expired": "expired",  # a subscription's expiry: told as `subscription_expired`
    # enterprise accounts: both sides of an association told of each change, and a member's
    # budget passed (told to the member and its master)
    "customer.enterprise_association": "enterprise_association",
    "customer.member_budget_exceeded": "member_budget_exceeded",
}
GRACE_REMINDER, RELEASE_REMINDER = "grace_reminder", "release_reminder"
# A resource event caused by a subscription's expiry has its own wording ("your subscription
# expired"), not the arrears one; an unsubscription the customer made is not told back.
EXPIRY_KINDS = {
    "expired": "subscription_expired",
    "frozen": "subscription_frozen",
    "released": "subscription_released",
}
# Notices written directly by the stage they tell of (no outbox event): an issued invoice.
INVOICE_ISSUED = "invoice_issued"
KINDS = (
    *(k for k in TOPIC_KINDS.values() if k != "expired"),
    *EXPIRY_KINDS.values(),
    GRACE_REMINDER,
    RELEASE_REMINDER,
    INVOICE_ISSUED,
)


def resource_kind(topic: str, payload: dict) -> str | None:  # type: ignore[type-arg]
    """The notice a resource event makes, by its cause; None: no notice."""
    cause = payload.get("cause")
    if cause == "unsubscription":
        return None
    kind = TOPIC_KINDS[topic]
    if cause == "expiry":
        return EXPIRY_KINDS.get(kind)
    return None if kind == "expired" else kind


def parse_days(text: str) -> tuple[int, ...]:
    """The days of a cadence setting such as "7,3,1", ascending (the settings check it)."""
    return tuple(sorted({int(part) for part in re.split(r"\s*,\s*", text.strip()) if part}))


def due_reminder(deadline: datetime, days: Iterable[int], *, now: datetime) -> int | None:
    """The reminder to send now for a deadline: of the cadence's `N days before` whose time has
    come (deadline - N days <= now < deadline), only the nearest (smallest N), so a job that was
    down sends one reminder, never a burst. Dedupe by N makes each one go out at most once."""
    if now >= deadline:
        return None
    come = [n for n in days if n > 0 and deadline - n * DAY <= now]
    return min(come) if come else None


def days_left(deadline: datetime, *, now: datetime) -> int:
    """Whole days until the deadline, rounded up: "in 3 days" is never later than the truth."""
    return max(0, math.ceil((deadline - now) / DAY))


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_time(value: datetime | str, tz_name: str) -> str:
    """An instant as the customer reads it: "2026-04-02 10:00 Asia/Shanghai"."""
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    return f"{instant.astimezone(zone(tz_name)):%Y-%m-%d %H:%M} {tz_name}"


def amount(text_or_units: str | int, currency: str) -> str:
    """Exact decimal text with its currency: "12.5" -> "12.50 USD"; 8 decimals stay 8."""
    if isinstance(text_or_units, int):
        return str(Money(text_or_units, currency))
    return str(Money.parse(text_or_units, currency, max_places=8))


@dataclass(frozen=True, slots=True)
class Route:
    """Where one notice goes on one channel, or why it does not."""

    channel: str
    recipient: str | None
    skip_reason: str | None


def routes(*, email: str | None, mobile: str | None, smtp: bool, sms: bool) -> list[Route]:
    """A notice per channel: the address, or a skip reason the operator can read."""
    out = []
    for channel, address, configured, label in (
        (EMAIL, email, smtp, "SMTP"),
        (SMS, mobile, sms, "SMS gateway"),
    ):
        if not address:
            reason = "no email address" if channel == EMAIL else "no mobile number"
            out.append(Route(channel, None, reason))
        elif not configured:
            out.append(Route(channel, address, f"{label} not configured"))
        else:
            out.append(Route(channel, address, None))
    return out


def backoff(attempt: int, *, first_s: int, cap: timedelta = timedelta(hours=6)) -> timedelta:
    """Delay after failed attempt number `attempt` (1, 2, ...): doubles, at most `cap`."""
    return min(timedelta(seconds=first_s * 2 ** (attempt - 1)), cap)
