"""Subscription use cases: auto-renew and expire policy settings, the renewal views, expiry
reminders and expiry. The scheduled job that also makes and pays auto-renewal orders is
orders/renewal_job.py (orders stand above subscriptions)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from ..customers import rules as customer_rules
from ..customers import service as customers
from ..customers.model import Customer
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.limits import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX
from ..lifecycle.policy import periods_for
from ..lifecycle.service import policy_rows
from ..notify.notices.rules import due_reminder
from ..notify.outbox import Event, emit_many
from ..resources import repo as resource_repo
from ..resources import service as resources
from ..resources.model import ResourceStatus, StatusChange
from ..store.schema import customer, renewal_config, resource, subscription
from ..views import instant
from . import repo, rules
from .repo import Subscription

RENEWAL_WINDOW_DAYS = 30  # "expiring soon": the renewal page's default window
VIEWS = ("expiring", "expired", "frozen", "all")
# The renewal page's tabs (Huawei: manual renewal, auto-renewal, pay-per-use after expiration,
# release after expiration): what happens at expiry.
MODES = ("manual", "auto_renew", "to_pay_per_use", "release")


def _mode_filter(mode: str | None):  # type: ignore[no-untyped-def]
    s = subscription.c
    if mode is None:
        return []
    if mode == "auto_renew":
        return [s.auto_renew.is_(True)]
    not_auto = s.auto_renew.is_(False) | s.auto_renew.is_(None)
    if mode == "manual":
        policy = s.expire_policy == str(rules.ExpirePolicy.GRACE_THEN_RELEASE)
        return [not_auto, policy | s.expire_policy.is_(None)]
    return [not_auto, s.expire_policy == mode]


def start_registered(conn: Connection, resource_id: str, customer: Customer, expire_at: datetime,
                     now: datetime) -> None:  # fmt: skip
    """A yearly/monthly resource the provider registered with its expiry (bought elsewhere):
    anchored on its expiry day, so renewals extend it month by month from there. There was no
    purchase here, so there is no full-refund window. (Called by resources.register, wired
    by bootstrap.)"""
    repo.start(
        conn,
        resource_id,
        customer_id=customer.id,
        anchor_date=rules.local_date(expire_at - timedelta(microseconds=1), customer.timezone),
        months=0,
        first_paid_at=None,
        expire_policy=str(rules.ExpirePolicy.GRACE_THEN_RELEASE),
        auto_renew=False,
        period_unit=None,
        period_count=None,
        now=now,
    )


def get(conn: Connection, resource_id: str, *, customer_id: str | None = None) -> Subscription:
    r = resources.get(conn, resource_id, customer_id=customer_id)
    sub = repo.get(conn, r.id)
    if sub is None:
        raise CloudbillError(
            ErrorCode.RESOURCE_NOT_FOUND, f"resource {r.id} has no yearly/monthly subscription"
        )
    return sub


def set_auto_renew(
    conn: Connection,
    customer_id: str,
    resource_id: str,
    *,
    enabled: object,
    period_unit: object = None,
    period_count: object = None,
    now: datetime,
) -> Subscription:
    """Auto-renew on (for a period: by default the one last bought) or off. Switched on, it
    replaces a change to pay-per-use or a release planned at expiry (Huawei's renewal
    management offers one of the three)."""
    customer_rules.check_not_frozen(customers.get(conn, customer_id, lock=True))
    sub = get(conn, resource_id, customer_id=customer_id)
    r = resources.get(conn, resource_id)
    if not isinstance(enabled, bool):
        raise CloudbillError(ErrorCode.INVALID_ARGUMENT, "enabled must be true or false")
    if r.status is ResourceStatus.RELEASED or r.billing_mode != "yearly_monthly":
        raise CloudbillError(ErrorCode.INVALID_STATE, f"resource {r.id} is not subscribed")
    values: dict[str, Any] = {"auto_renew": enabled, "updated_at": now}
    if enabled and (period_unit is not None or period_count is not None):
        unit, count = rules.check_period(period_unit, period_count)
        values |= {"auto_renew_period_unit": str(unit), "auto_renew_period_count": count}
    elif enabled and sub.auto_renew_period_unit is None:
        values |= {"auto_renew_period_unit": "month", "auto_renew_period_count": 1}
    if enabled:
        values["expire_policy"] = str(rules.ExpirePolicy.GRACE_THEN_RELEASE)
    if enabled and not sub.auto_renew:
        values["auto_renew_enabled_at"] = now  # switched on inside the window: the next 03:00
    repo.update_subscription(conn, r.id, **values)
    return get(conn, r.id)


def set_deduction_days(conn: Connection, customer_id: str, days: object, *, now: datetime) -> int:
    """The customer's auto-renewal deduction day: 2 to 7 days before expiry (Huawei's
    SetResourcesRenewConfig DEDUCTION_DATE; 7 is the default)."""
    low, high = rules.AUTO_RENEW_DAYS_BEFORE_MIN, rules.AUTO_RENEW_DAYS_BEFORE
    if isinstance(days, bool) or not isinstance(days, int) or not low <= days <= high:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, f"deduction day: {low} to {high} days before expiry"
        )
    customers.get(conn, customer_id, lock=True)
    repo.set_renewal_config(conn, customer_id, now, deduction_days_before=days)
    return days


def set_unified_expiry_day(
    conn: Connection, customer_id: str, day: object, *, now: datetime
) -> int:
    """The day of the month the customer's renewals extend to: 1 to 28, or -1 for the month's
    last day (Huawei's SetResourcesRenewConfig EXPIRE_DATE). A renewal for a period then runs
    on, by whole days paid at the daily price, to the first such day on or after the period's
    end, so that renewed resources expire together."""
    rules.check_unified_day(day)
    customers.get(conn, customer_id, lock=True)
    repo.set_renewal_config(conn, customer_id, now, unified_expiry_day=day)
    return day  # type: ignore[return-value]


def set_expire_policy(
    conn: Connection, customer_id: str, resource_id: str, *, policy: object, now: datetime
) -> Subscription:
    """What happens at expiry: grace -> frozen -> released, pay-per-use, or release at once. A
    change to pay-per-use or a release at expiry switches auto-renew off: a resource set to
    change or go at expiry is not renewed (Huawei)."""
    customer_rules.check_not_frozen(customers.get(conn, customer_id, lock=True))
    sub = get(conn, resource_id, customer_id=customer_id)
    checked = rules.check_policy(policy)
    r = resources.get(conn, resource_id)
    if r.status is not ResourceStatus.NORMAL or r.billing_mode != "yearly_monthly":
        raise CloudbillError(
            ErrorCode.INVALID_STATE, f"resource {r.id} is {r.status}: renew it first"
        )
    values: dict[str, Any] = {"expire_policy": str(checked), "updated_at": now}
    if checked is not rules.ExpirePolicy.GRACE_THEN_RELEASE:
        values["auto_renew"] = False
    repo.update_subscription(conn, sub.resource_id, **values)
    return get(conn, sub.resource_id)


# -- the renewal page -------------------------------------------------------------------------


def _view_filter(view: str, now: datetime, within_days: int):  # type: ignore[no-untyped-def]
    r = resource.c
    base = [r.billing_mode == "yearly_monthly"]
    if view == "expiring":
        horizon = now + timedelta(days=within_days)
        return [*base, r.status == "normal", r.expire_at > now, r.expire_at <= horizon]
    if view == "expired":
        return [*base, r.status == "grace"]
    if view == "frozen":
        return [*base, r.status == "frozen"]
    return [*base, r.status != "released"]


def renewals(
    conn: Connection,
    customer_id: str,
    *,
    view: str = "expiring",
    within_days: int = RENEWAL_WINDOW_DAYS,
    limit: int = PAGE_SIZE_DEFAULT,
    offset: int = 0,
    mode: str | None = None,
    now: datetime,
) -> dict[str, Any]:
    """The renewal page: resources expiring within `within_days` (30), expired (in grace),
    frozen (retention), or all subscribed; soonest expiry first; with the count of each view.
    `mode`: only those renewed by hand, auto-renewed, changed to pay-per-use or released at
    expiry (the page's tabs); the counts are of that tab too."""
    cust = customers.get(conn, customer_id)
    customers.check_page(limit, offset)
    if view not in VIEWS:
        raise CloudbillError(ErrorCode.INVALID_ARGUMENT, f"view must be one of {', '.join(VIEWS)}")
    if mode is not None and mode not in MODES:
        raise CloudbillError(ErrorCode.INVALID_ARGUMENT, f"mode must be one of {', '.join(MODES)}")
    tab = _mode_filter(mode)
    joined = resource.outerjoin(subscription, subscription.c.resource_id == resource.c.id)
    if isinstance(within_days, bool) or not isinstance(within_days, int):
        raise CloudbillError(ErrorCode.INVALID_ARGUMENT, "within_days must be a whole number")
    if not 1 <= within_days <= 366:
        raise CloudbillError(ErrorCode.INVALID_ARGUMENT, "within_days must be from 1 to 366")
    counts = {}
    for name in VIEWS[:3]:
        counts[name] = conn.execute(
            select(func.count())
            .select_from(joined)
            .where(resource.c.customer_id == cust.id, *_view_filter(name, now, within_days), *tab)
        ).scalar_one()
    rows = conn.execute(
        select(resource, subscription)
        .select_from(joined)
        .where(resource.c.customer_id == cust.id, *_view_filter(view, now, within_days), *tab)
        .order_by(resource.c.expire_at, resource.c.id)
        .limit(limit)
        .offset(offset)
    ).all()
    total = counts.get(view)
    if total is None:  # "all"
        total = conn.execute(
            select(func.count())
            .select_from(joined)
            .where(resource.c.customer_id == cust.id, *_view_filter(view, now, within_days), *tab)
        ).scalar_one()
    return {"counts": counts, "total": total, "items": [_item(row, now) for row in rows]}


def _item(row, now: datetime) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    left = (row.expire_at - now) if row.expire_at else None
    return {
        "resource_id": row.id,
        "name": row.name,
        "service": row.service,
        "resource_type": row.resource_type,
        "spec": row.spec,
        "region": row.region,
        "status": row.status,
        "expire_at": instant(row.expire_at),
        "days_left": max(0, left.days + (1 if left.seconds or left.microseconds else 0))
        if left is not None and left.total_seconds() > 0
        else 0,
        "auto_renew": bool(row.auto_renew),
        "auto_renew_period": (
            f"{row.auto_renew_period_count} {row.auto_renew_period_unit}"
            if row.auto_renew_period_unit
            else None
        ),
        "expire_policy": row.expire_policy,
    }


# -- the scheduled job ------------------------------------------------------------------------


# -- what the scheduled job (orders/renewal_job.py) reads and applies ----------------------


def _subscribed(conn: Connection, *where: Any):  # type: ignore[no-untyped-def]
    return conn.execute(
        select(
            subscription,
            resource.c.status,
            resource.c.expire_at,
            resource.c.service,
            resource.c.name,
            customer.c.timezone,
            customer.c.level,
            renewal_config.c.deduction_days_before,
        )
        .join(resource, resource.c.id == subscription.c.resource_id)
        .join(customer, customer.c.id == subscription.c.customer_id)
        .outerjoin(renewal_config, renewal_config.c.customer_id == subscription.c.customer_id)
        .where(resource.c.billing_mode == "yearly_monthly", *where)
        .order_by(subscription.c.resource_id)
        .limit(PAGE_SIZE_MAX)
    ).all()


def all_subscribed(conn: Connection, *where: Any):  # type: ignore[no-untyped-def]
    """Every matching subscription, a page at a time (rows already handled, e.g. attempted
    today, must not hide the ones after them)."""
    after = ""
    while True:
        rows = _subscribed(conn, *where, subscription.c.resource_id > after)
        yield from rows
        if len(rows) < PAGE_SIZE_MAX:
            return
        after = rows[-1].resource_id


def remind_due(conn: Connection, days: tuple[int, ...], now: datetime) -> int:
    """'Expires in N days' (7, 3, 1 by default): the nearest due one, once per expiry."""
    if not days:
        return 0
    horizon = now + timedelta(days=max(days))
    rows = all_subscribed(
        conn,
        resource.c.status == "normal",
        resource.c.expire_at > now,
        resource.c.expire_at <= horizon,
    )
    events = []
    for row in rows:
        due = due_reminder(row.expire_at, days, now=now)
        if due is None:
            continue
        same_expiry = row.reminded_expire_at == row.expire_at
        if same_expiry and row.reminded_days is not None and row.reminded_days <= due:
            continue
        repo.update_subscription(
            conn,
            row.resource_id,
            reminded_expire_at=row.expire_at,
            reminded_days=due,
            updated_at=now,
        )
        events.append(
            Event(
                "customer.subscription_expiring",
                row.customer_id,
                {
                    "customer_id": row.customer_id,
                    "resource_id": row.resource_id,
                    "resource_name": row.name,
                    "service": row.service,
                    "expire_at": row.expire_at.isoformat(),
                    "days": due,
                    "auto_renew": bool(row.auto_renew),
                },
                dedupe_key=(
                    f"customer.subscription_expiring:{row.resource_id}:"
                    f"{row.expire_at.isoformat()}:{due}"
                ),
            )
        )
    emit_many(conn, events, now=now)
    return len(events)


_TOPICS = {
    "grace": "resource.expired",
    "frozen": "resource.frozen",
    "released": "resource.released",
}


def expire_due(conn: Connection, now: datetime) -> list[tuple[str, str]]:
    """Expired subscriptions follow their expire policy, each step at its own instant; the
    steps taken, (resource, to)."""
    taken: list[tuple[str, str]] = []
    policy_table = policy_rows(conn)
    after = ""
    while True:
        rows = _subscribed(
            conn,
            resource.c.status != "released",
            resource.c.expire_at <= now,
            subscription.c.resource_id > after,
        )
        events = []
        for row in rows:
            periods = periods_for(policy_table, row.service, row.level)
            steps = rules.expiry_steps(
                status=row.status,
                expire_at=row.expire_at,
                policy=rules.ExpirePolicy(row.expire_policy),
                grace_days=periods.grace_days,
                retention_days=periods.retention_days,
                now=now,
            )
            status = row.status
            for step in steps:
                if step.to_status == "converted":
                    resource_repo.set_billing_mode(conn, row.resource_id, "pay_per_use", at=step.at)
                    topic, to = "resource.converted", "pay_per_use"
                else:
                    resource_repo.set_status(
                        conn,
                        StatusChange(
                            row.resource_id,
                            ResourceStatus(status),
                            ResourceStatus(step.to_status),
                            step.at,
                            step.reason,
                        ),
                    )
                    topic, to = _TOPICS[step.to_status], step.to_status
                events.append(
                    Event(
                        topic,
                        row.resource_id,
                        {
                            "resource_id": row.resource_id,
                            "customer_id": row.customer_id,
                            "from": status,
                            "to": to,
                            "at": step.at.isoformat(),
                            "reason": step.reason,
                            "cause": "expiry",
                            "expire_at": row.expire_at.isoformat(),
                        },
                        dedupe_key=f"{topic}:{row.resource_id}:{step.at.isoformat()}",
                    )
                )
                taken.append((row.resource_id, to))
                status = step.to_status if step.to_status != "converted" else status
        emit_many(conn, events, now=now)
        if len(rows) < PAGE_SIZE_MAX:
            return taken
        after = rows[-1].resource_id
