"""The scheduled job of yearly/monthly resources: unpaid orders past their payment deadline
expire, due auto-renewals are ordered and paid, expiry reminders go out, and expired
subscriptions follow their policy. It makes and pays orders, so it lives with orders;
subscriptions/ keeps what it reads and decides."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection

from ..benefits import coupons as coupon_service
from ..benefits.model import CouponStatus
from ..customers import service as customers
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.limits import PAGE_SIZE_MAX
from ..kernel.money import Money
from ..notify.outbox import Event, emit_many
from ..store.schema import resource, subscription
from ..subscriptions import repo, rules
from ..subscriptions import service as subscriptions
from . import rules as order_rules
from .checkout import coupon_offer, expire_due, pay, paying_customers
from .drafting import Terms
from .model import OrderSource
from .renewal import create_renewal


@dataclass
class SubscriptionReport:
    orders_expired: list[str] = field(default_factory=list)
    renewed: list[str] = field(default_factory=list)  # auto-renewal order ids
    renew_failed: list[str] = field(default_factory=list)  # resource ids
    reminders: int = 0
    expiry_steps: list[tuple[str, str]] = field(default_factory=list)  # (resource, to)


def run_due(
    conn: Connection,
    *,
    terms: Terms,
    reminder_days: tuple[int, ...],
    now: datetime,
) -> SubscriptionReport:
    report = SubscriptionReport(orders_expired=expire_due(conn, now=now))
    _auto_renew(conn, terms, report, now)
    report.reminders = subscriptions.remind_due(conn, reminder_days, now)
    report.expiry_steps.extend(subscriptions.expire_due(conn, now))
    return report


def _auto_renew(conn: Connection, terms: Terms, report: SubscriptionReport, now: datetime) -> None:
    """Charge due auto-renewals. Whether the money is there is checked first, so a failure
    leaves nothing behind but the attempt, its reason and one notice."""
    horizon = now + timedelta(days=rules.AUTO_RENEW_DAYS_BEFORE + 1)
    for row in subscriptions.all_subscribed(
        conn,
        subscription.c.auto_renew.is_(True),
        # a resource set to change to pay-per-use or to go at expiry is not renewed
        subscription.c.expire_policy == str(rules.ExpirePolicy.GRACE_THEN_RELEASE),
        resource.c.status == "normal",
        resource.c.expire_at > now,
        resource.c.expire_at <= horizon,
    ):
        if not rules.auto_renew_due(
            anchor=row.anchor_date,
            months=row.months,
            expire_at=row.expire_at,
            tz_name=row.timezone,
            last_attempt=row.auto_renew_attempted_at,
            now=now,
            days_before=row.deduction_days_before or rules.AUTO_RENEW_DAYS_BEFORE,
            enabled_at=row.auto_renew_enabled_at,
        ):
            continue
        error = _renew_once(conn, row, terms, now, report)
        repo.update_subscription(
            conn,
            row.resource_id,
            auto_renew_attempted_at=now,
            auto_renew_error=error,
            updated_at=now,
        )
        if error is not None:
            report.renew_failed.append(row.resource_id)
            emit_many(conn, [_failed_event(row, error, now)], now=now)


class _Unpaid(Exception):
    """The renewal order cannot be paid: it is rolled back, the reason recorded."""


def _renew_once(conn, row, terms, now, report) -> str | None:  # type: ignore[no-untyped-def]
    """Order and pay one auto-renewal: the customer's applicable cash coupons first (Huawei:
    "Cash coupons and discount coupons can both be used for an automatic renewal"), then
    cash, then credit. The order is made and paid in a savepoint: what the renewal really
    costs (its period, and the days on to a unified expiry day) is checked against what can
    pay it, and a renewal that cannot be paid leaves no order behind, only its reason. One
    customer's failure never stops the others' renewals."""
    try:
        # A unified member's renewal is paid by its master: its coupons, cash and credit.
        cust, payer = paying_customers(conn, row.customer_id, now)
        figures = customers.overview(conn, payer, now)
        customers.check_fee_allowed(conn, cust, now)  # and the paying master's arrears
        with conn.begin_nested():
            order = create_renewal(
                conn,
                cust.id,
                [row.resource_id],
                period_unit=row.auto_renew_period_unit or "month",
                period_count=row.auto_renew_period_count or 1,
                source=OrderSource.AUTO_RENEW,
                terms=terms,
                now=now,
            )
            lines = [
                order_rules.PayableLine(x.line_no, x.service, x.amount_units) for x in order.lines
            ]
            coupons = order_rules.auto_coupons(
                lines, _active_coupons(conn, payer.id), coupons_max=terms.coupons_max, now=now
            )
            try:
                order_rules.plan_payment(  # refuses what the coupons, cash and credit cannot pay
                    lines,
                    coupons,
                    cash_available=figures.cash_balance_units,
                    credit_available=figures.available_credit_units,
                    now=now,
                )
            except CloudbillError as exc:
                if exc.code is not ErrorCode.INSUFFICIENT_BALANCE:
                    raise
                amount = Money(order.amount_units, cust.currency).to_text()
                unpaid = f"the balance cannot pay the renewal ({amount} {cust.currency})"
                raise _Unpaid(unpaid) from None
            pay(
                conn,
                cust.id,
                order.id,
                coupon_ids=[c.id for c in coupons],
                coupons_max=terms.coupons_max,
                now=now,
            )
    except _Unpaid as exc:
        return str(exc)
    except CloudbillError as exc:
        return exc.message[:512]
    report.renewed.append(order.id)
    return None


def _active_coupons(conn: Connection, customer_id: str) -> list[order_rules.CouponOffer]:
    """The customer's active coupons, soonest-expiring first (one page: the bound)."""
    active, _ = coupon_service.list_coupons(
        conn, customer_id, status=str(CouponStatus.ACTIVE), limit=PAGE_SIZE_MAX
    )
    return [coupon_offer(c) for c in active]


def _failed_event(row, error: str, now: datetime) -> Event:  # type: ignore[no-untyped-def]
    return Event(
        "customer.auto_renew_failed",
        row.customer_id,
        {
            "customer_id": row.customer_id,
            "resource_id": row.resource_id,
            "resource_name": row.name,
            "expire_at": row.expire_at.isoformat(),
            "reason": error,
            "at": now.isoformat(),
        },
        dedupe_key=f"customer.auto_renew_failed:{row.resource_id}:{now.isoformat()}",
    )
