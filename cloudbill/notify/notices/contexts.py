"""Template variables of each notice kind, from an outbox event's payload (or a reminder's
facts) and the customer. Amounts are exact decimal text with the currency; instants are in the
customer's time zone."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from .rules import amount, local_time

ARREARS_REASON = "the balance could not pay the charges"


def customer_view(row) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return {
        "id": row.id,
        "name": row.name,
        "email": row.email,
        "mobile": row.mobile,
        "currency": row.currency,
        "timezone": row.timezone,
    }


def _arrears_started(p: dict[str, Any], cur: str, tz: str) -> dict[str, Any]:
    owed = p["debt_units"] if "debt_units" in p else p.get("overdue", "0")
    return {
        "debt": amount(owed, cur),
        "since": local_time(p["since"], tz),
        "reason": p.get("reason") or ARREARS_REASON,
    }


def _topup(p: dict[str, Any], cur: str, tz: str) -> dict[str, Any]:
    wrote_off, repaid = amount(p["debt_written_off"], cur), amount(p["unpaid_repaid"], cur)
    return {
        "amount": amount(p["amount"], cur),
        "reference": p["reference"],
        "debt_written_off": wrote_off,
        "unpaid_repaid": repaid,
        "wrote_off_debt": Decimal(p["debt_written_off"]) != 0,
        "repaid_unpaid": Decimal(p["unpaid_repaid"]) != 0,
        "at": local_time(p["at"], tz),
    }


def _alert(p: dict[str, Any], cur: str, tz: str) -> dict[str, Any]:
    return {
        "expenditure_quota": amount(p["expenditure_quota"], cur),
        "threshold": amount(p["threshold"], cur),
        "at": local_time(p["at"], tz),
    }


def _bill(p: dict[str, Any], cur: str, tz: str) -> dict[str, Any]:
    start = datetime.fromisoformat(p["period_start"])
    last = datetime.fromisoformat(p["period_end"]) - timedelta(microseconds=1)  # half-open
    first_day, last_day = local_time(start, tz)[:10], local_time(last, tz)[:10]
    return {
        "bill_id": str(p["bill_id"]),
        "amount": amount(p["amount"], cur),
        "period": f"{first_day} to {last_day}",
        "due_at": local_time(p["due_at"], tz),
    }


def _expiring(p: dict[str, Any], _cur: str, tz: str) -> dict[str, Any]:
    return {
        "resource_id": p["resource_id"],
        "resource_name": p["resource_name"],
        "expire_at": local_time(p["expire_at"], tz),
        "days": p["days"],
        "auto_renew": bool(p.get("auto_renew")),
    }


def _renew_failed(p: dict[str, Any], _cur: str, tz: str) -> dict[str, Any]:
    return {
        "resource_id": p["resource_id"],
        "resource_name": p["resource_name"],
        "expire_at": local_time(p["expire_at"], tz),
        "reason": p["reason"],
        "at": local_time(p["at"], tz),
    }


# An association's change as one sentence, from the side told (`role`).
_ASSOCIATION_WORDS = {
    ("invited", "master"): "you invited customer {member_id} to be your member account",
    ("invited", "member"): "customer {master_id} invited you to be its member account",
    ("associated", "master"): "customer {member_id} was associated as your member account",
    ("associated", "member"): "you were associated as a member account of {master_id}",
    ("accepted", "master"): "customer {member_id} accepted and is now your member account",
    ("accepted", "member"): "you accepted and are now a member account of {master_id}",
    ("declined", "master"): "customer {member_id} declined your invitation",
    ("declined", "member"): "you declined the invitation of {master_id}",
    ("cancelled", "master"): "your invitation of customer {member_id} was cancelled",
    ("cancelled", "member"): "the invitation of {master_id} was cancelled",
    ("ended", "master"): "customer {member_id} is no longer your member account",
    ("ended", "member"): "you are no longer a member account of {master_id}",
}


def _association(p: dict[str, Any], _cur: str, tz: str) -> dict[str, Any]:
    what = _ASSOCIATION_WORDS[(p["change"], p["role"])].format(**p)
    return {
        "change": p["change"],
        "role": p["role"],
        "mode": p["mode"],
        "master_id": p["master_id"],
        "member_id": p["member_id"],
        "association_id": p["association_id"],
        "what": what,
        "headline": f"{p['change']} ({p['role']})",
        "at": local_time(p["at"], tz),
    }


def _budget(p: dict[str, Any], cur: str, tz: str) -> dict[str, Any]:
    return {
        "role": p["role"],
        "member_id": p["member_id"],
        "member_name": p["member_name"],
        "month": p["month"],
        "budget": amount(p["budget"], cur),
        "spent": amount(p["spent"], cur),
        "at": local_time(p["at"], tz),
    }


BUILDERS = {
    "arrears_started": _arrears_started,
    "arrears_cleared": lambda p, _cur, tz: {"at": local_time(p["at"], tz)},
    "topup_received": _topup,
    "balance_alert": _alert,
    "balance_alert_reminder": _alert,
    "postpaid_bill_issued": _bill,
    "subscription_expiring": _expiring,
    "auto_renew_failed": _renew_failed,
    "enterprise_association": _association,
    "member_budget_exceeded": _budget,
    "bill_storage_disabled": lambda p, _cur, tz: {
        "reason": p["reason"],
        "at": local_time(p["at"], tz),
    },
}


def for_customer_event(kind: str, payload: dict[str, Any], customer) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    currency = payload.get("currency") or customer.currency
    extra = BUILDERS[kind](payload, currency, customer.timezone)
    return {"kind": kind, "customer": customer_view(customer), **extra}


def for_resources(
    kind: str, customer, resources: list[dict[str, str]], **facts: Any
) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """frozen / released (facts: at) and the reminders (facts: deadline, days_left)."""
    tz = customer.timezone
    shown = {k: local_time(v, tz) if isinstance(v, datetime | str) else v for k, v in facts.items()}
    return {
        "kind": kind,
        "customer": customer_view(customer),
        "resources": sorted(resources, key=lambda r: r["id"]),
        **shown,
    }
