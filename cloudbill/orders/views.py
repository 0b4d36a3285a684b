"""JSON shapes of orders and subscriptions (operator API, CLI, customer API)."""

from __future__ import annotations

from typing import Any

from ..subscriptions.repo import Subscription
from ..views import instant, money
from .model import Order, OrderLine


def _line(line: OrderLine, currency: str) -> dict[str, Any]:
    def m(units: int | None) -> str | None:
        return None if units is None else money(units, currency)

    return {
        "line_no": line.line_no,
        "resource_id": line.resource_id,
        "service": line.service,
        "resource_type": line.resource_type,
        "spec": line.spec,
        "old_spec": line.old_spec,
        "region": line.region,
        "name": line.name,
        "period_unit": line.period_unit,
        "period_count": line.period_count,
        "official_amount": m(line.official_units),
        "discount_amount": m(line.discount_units),
        "amount": m(line.amount_units),
        "coupon_amount": m(line.coupon_units),
        "net_amount": m(line.amount_units - line.coupon_units),
        "cash_amount": m(line.cash_units),
        "credit_amount": m(line.credit_units),
        "discount_id": line.discount_id,
        "period_start": instant(line.period_start),
        "period_end": instant(line.period_end),
        "used_amount": m(line.used_units),
        "handling_fee": m(line.fee_units),
    }


def order_view(order: Order) -> dict[str, Any]:
    cur = order.currency
    return {
        "id": order.id,
        "customer_id": order.customer_id,
        "order_type": str(order.order_type),
        "status": str(order.status),
        "source": str(order.source),
        "currency": cur,
        "official_amount": money(order.official_units, cur),
        "discount_amount": money(order.discount_units, cur),
        "amount": money(order.amount_units, cur),
        "coupon_amount": money(order.coupon_units, cur),
        "net_amount": money(order.net_units, cur),
        "cash_amount": money(order.cash_units, cur),
        "credit_amount": money(order.credit_units, cur),
        # what an invoice can be made for: money actually paid (refunds reduce it), not coupons
        "invoiceable_amount": money(order.cash_units + order.credit_units, cur),
        "handling_fee": money(order.fee_units, cur),
        "reference": order.reference,
        "created_at": instant(order.created_at),
        "payment_deadline": instant(order.payment_deadline),
        "paid_at": instant(order.paid_at),
        "closed_at": instant(order.closed_at),
        "close_reason": order.close_reason,
        "auto_renew": order.auto_renew,
        "expire_policy": order.expire_policy,
        "lines": [_line(line, cur) for line in order.lines],
        "coupons": [
            {"line_no": n, "coupon_id": cid, "amount": money(units, cur)}
            for n, cid, units in order.coupons
        ],
    }


def subscription_view(sub: Subscription) -> dict[str, Any]:
    return {
        "resource_id": sub.resource_id,
        "customer_id": sub.customer_id,
        "anchor_date": sub.anchor_date.isoformat(),
        "months": sub.months,
        "first_paid_at": instant(sub.first_paid_at),
        "expire_policy": sub.expire_policy,
        "auto_renew": sub.auto_renew,
        "auto_renew_period_unit": sub.auto_renew_period_unit,
        "auto_renew_period_count": sub.auto_renew_period_count,
        "auto_renew_attempted_at": instant(sub.auto_renew_attempted_at),
        "auto_renew_error": sub.auto_renew_error,
    }
