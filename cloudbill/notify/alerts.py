"""Balance alerts: a customer sets a threshold and switches the alert on or off. After every
balance change (not on a timer), when the expenditure quota (cash + available credit + coupons)
is at or below the threshold, one `customer.balance_alert` event goes out; while it stays
there, a reminder goes out once a day, so that the customer is told on three days in all; then
silence until the quota rises above the threshold (the alert re-arms) and falls again.

Huawei: "sends a notification if your balance is less than or equal to your set threshold ...
the recipients will receive a notification for 1-3 days by SMS and email" ("Will I Receive a
Notification If My Account Balance Is Insufficient?", ECS pricing FAQ, ecs_billing_11204)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, insert, select, update

from ..customers import service as customers
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.limits import PAGE_SIZE_MAX, SQL_IN_CHUNK
from ..kernel.money import Money
from ..store.schema import balance_alert
from .outbox import Event, emit_many

REMINDER_EVERY = timedelta(days=1)
NOTICE_DAYS = 3  # the day it is crossed, then a reminder on each following day
MAX_REMINDERS = NOTICE_DAYS - 1


@dataclass(frozen=True, slots=True)
class AlertState:
    customer_id: str
    enabled: bool
    threshold_units: int
    armed: bool
    fired_at: datetime | None
    reminders_sent: int
    crossings: int = 0


def _state(row) -> AlertState:  # type: ignore[no-untyped-def]
    return AlertState(
        row.customer_id,
        row.enabled,
        row.threshold_units,
        row.armed,
        row.fired_at,
        row.reminders_sent,
        row.crossings,
    )


def get(conn: Connection, customer_id: str) -> AlertState:
    customers.get(conn, customer_id)
    row = conn.execute(
        select(balance_alert).where(balance_alert.c.customer_id == customer_id)
    ).first()
    return _state(row) if row else AlertState(customer_id, False, 0, True, None, 0)


def configure(
    conn: Connection, customer_id: str, *, enabled: bool, threshold: object | None, now: datetime
) -> AlertState:
    """Switch the alert on or off and/or set its threshold; checked at once against the quota."""
    if not isinstance(enabled, bool):
        raise CloudbillError(ErrorCode.INVALID_ARGUMENT, "enabled must be true or false")
    customer = customers.get(conn, customer_id, lock=True)
    current = get(conn, customer_id)
    units = current.threshold_units
    if threshold is not None:
        units = Money.parse(threshold, customer.currency).units
        if units < 0:
            raise CloudbillError(ErrorCode.INVALID_AMOUNT, "the threshold cannot be negative")
    if enabled and threshold is None and current.threshold_units == 0 and not current.enabled:
        raise CloudbillError(ErrorCode.INVALID_ARGUMENT, "give a threshold to switch the alert on")
    values = {
        "crossings": current.crossings,
        "enabled": enabled,
        "threshold_units": units,
        "armed": True,
        "fired_at": None,
        "reminders_sent": 0,
        "updated_at": now,
    }
    exists = conn.execute(
        select(balance_alert.c.customer_id).where(balance_alert.c.customer_id == customer_id)
    ).first()
    if exists:
        conn.execute(
            update(balance_alert).where(balance_alert.c.customer_id == customer_id).values(**values)
        )
    else:
        conn.execute(insert(balance_alert).values(customer_id=customer_id, **values))
    check(conn, {customer_id}, now)
    return get(conn, customer_id)


def _enabled(conn: Connection, customer_ids: set[str]) -> list[AlertState]:
    found: list[AlertState] = []
    ordered = sorted(customer_ids)
    for start in range(0, len(ordered), SQL_IN_CHUNK):
        rows = conn.execute(
            select(balance_alert).where(
                balance_alert.c.customer_id.in_(ordered[start : start + SQL_IN_CHUNK]),
                balance_alert.c.enabled.is_(True),
            )
        )
        found += [_state(r) for r in rows]
    return found


def _quota(conn: Connection, customer_id: str) -> tuple[int, str]:
    customer = customers.get(conn, customer_id)
    return customers.overview(conn, customer).expenditure_quota_units, customer.currency


def _event(
    topic: str, alert: AlertState, quota: int, currency: str, now: datetime, key: str
) -> Event:
    """`key` numbers the crossing (and the reminder): a rerun writes nothing twice, and two
    crossings at the same instant are still two events."""
    return Event(
        topic,
        alert.customer_id,
        {
            "customer_id": alert.customer_id,
            "currency": currency,
            "expenditure_quota": Money(quota, currency).to_text(),
            "threshold": Money(alert.threshold_units, currency).to_text(),
            "at": now.isoformat(),
        },
        dedupe_key=f"{topic}:{alert.customer_id}:{key}",
    )


def check(conn: Connection, customer_ids: set[str], now: datetime) -> int:
    """After money moved for these customers: fire crossed alerts, re-arm recovered ones."""
    events = []
    for alert in _enabled(conn, customer_ids):
        quota, currency = _quota(conn, alert.customer_id)
        below = quota <= alert.threshold_units
        if alert.armed and below:
            crossing = alert.crossings + 1
            _update(
                conn,
                alert.customer_id,
                armed=False,
                fired_at=now,
                reminders_sent=0,
                crossings=crossing,
                now=now,
            )
            events.append(
                _event("customer.balance_alert", alert, quota, currency, now, str(crossing))
            )
        elif not alert.armed and not below:
            _update(conn, alert.customer_id, armed=True, fired_at=None, reminders_sent=0, now=now)
    emit_many(conn, events, now=now)
    return len(events)


def remind_due(conn: Connection, *, now: datetime) -> int:
    """Daily reminders while the quota stays at or below the threshold, until the customer was
    told on NOTICE_DAYS days (a job)."""
    rows = conn.execute(
        select(balance_alert)
        .where(
            balance_alert.c.enabled.is_(True),
            balance_alert.c.armed.is_(False),
            balance_alert.c.reminders_sent < MAX_REMINDERS,
        )
        .order_by(balance_alert.c.customer_id)
        .limit(PAGE_SIZE_MAX)
    ).all()
    events = []
    for alert in map(_state, rows):
        if (
            alert.fired_at is None
            or alert.fired_at + REMINDER_EVERY * (alert.reminders_sent + 1) > now
        ):
            continue
        quota, currency = _quota(conn, alert.customer_id)
        if quota > alert.threshold_units:
            _update(conn, alert.customer_id, armed=True, fired_at=None, reminders_sent=0, now=now)
            continue
        _update(
            conn,
            alert.customer_id,
            armed=False,
            fired_at=alert.fired_at,
            reminders_sent=alert.reminders_sent + 1,
            now=now,
        )
        key = f"{alert.crossings}:{alert.reminders_sent + 1}"
        events.append(_event("customer.balance_alert_reminder", alert, quota, currency, now, key))
    emit_many(conn, events, now=now)
    return len(events)


def _update(conn: Connection, customer_id: str, **values: object) -> None:
    now = values.pop("now")
    conn.execute(
        update(balance_alert)
        .where(balance_alert.c.customer_id == customer_id)
        .values(updated_at=now, **values)
    )
