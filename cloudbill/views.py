"""Plain JSON-ready views of domain objects, shared by the API and the CLI's --json output.

Amounts are decimal strings (exact); instants are ISO 8601 UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .customers.model import Customer, Overview
from .kernel.money import Money
from .ledger.model import PostedTransaction
from .notify.alerts import AlertState
from .resources.model import HUAWEI_STATUS_CODE, Resource, StatusChange


def instant(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def money(units: int, currency: str) -> str:
    return Money(units, currency).to_text()


def customer_view(c: Customer, figures: Overview | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": c.id,
        "name": c.name,
        "email": c.email,
        "mobile": c.mobile,
        "currency": c.currency,
        "payment_mode": str(c.payment_mode),
        "credit_limit": money(c.credit_limit_units, c.currency),
        "level": c.level,
        "timezone": c.timezone,
        "status": str(c.status),
        "created_at": instant(c.created_at),
        "updated_at": instant(c.updated_at),
    }
    if figures is not None:
        view["overview"] = overview_view(figures)
    return view


def overview_view(o: Overview) -> dict[str, Any]:
    cur = o.currency
    return {
        "currency": cur,
        "payment_mode": str(o.payment_mode),
        "cash_balance": money(o.cash_balance_units, cur),
        "withdrawable": money(o.withdrawable_units, cur),
        "debt": money(o.debt_units, cur),
        "unpaid": money(o.unpaid_units, cur),
        "billed_outstanding": money(o.billed_outstanding_units, cur),
        "overdue": money(o.overdue_units, cur),
        "unbilled": money(max(0, o.unpaid_units - o.billed_outstanding_units), cur),
        "credit_limit": money(o.credit_limit_units, cur),
        "available_credit": money(o.available_credit_units, cur),
        "coupons": money(o.coupon_units, cur),
        "expenditure_quota": money(o.expenditure_quota_units, cur),
        "in_arrears": o.in_arrears,
        "arrears_since": instant(o.arrears_since),
        "status": str(o.status),
    }


def postpaid_bill_view(b: Any) -> dict[str, Any]:
    return {
        "bill_id": b.id,
        "customer_id": b.customer_id,
        "currency": b.currency,
        "period_start": instant(b.period_start),
        "period_end": instant(b.period_end),
        "issued_at": instant(b.issued_at),
        "due_at": instant(b.due_at),
        "amount": money(b.amount_units, b.currency),
        "outstanding": money(b.outstanding_units, b.currency),
        "status": str(b.status),
    }


def transaction_view(tx: PostedTransaction) -> dict[str, Any]:
    result = dict(tx.result)
    currency = result.get("currency")
    if currency:
        for key in list(result):
            if key.endswith("_units"):
                result[key.removesuffix("_units")] = money(result.pop(key), currency)
    return {
        "transaction_id": tx.id,
        "kind": tx.kind,
        "reference": tx.reference,
        "created_at": instant(tx.created_at),
        "replayed": tx.replayed,
        **result,
    }


def history_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "transaction_id": row["transaction_id"],
        "kind": row["kind"],
        "account": row["account"],
        "change": money(row["change_units"], row["currency"]),
        "currency": row["currency"],
        "reference": row["reference"],
        "description": row["description"],
        "created_at": instant(row["created_at"]),
    }


def resource_view(r: Resource) -> dict[str, Any]:
    return {
        "id": r.id,
        "customer_id": r.customer_id,
        "service": r.service,
        "resource_type": r.resource_type,
        "spec": r.spec,
        "billing_mode": str(r.billing_mode),
        "region": r.region,
        "name": r.name,
        "parent_id": r.parent_id,
        "status": str(r.status),
        "status_code": HUAWEI_STATUS_CODE[r.status],
        "status_since": instant(r.status_since),
        "created_at": instant(r.created_at),
        "expire_at": instant(r.expire_at),
        "terms_since": instant(r.terms_since),  # its billing mode or spec last changed
    }


def status_change_view(s: StatusChange) -> dict[str, Any]:
    return {
        "from": str(s.from_status) if s.from_status else None,
        "to": str(s.to_status),
        "at": instant(s.at),
        "reason": s.reason,
    }


def alert_view(state: AlertState, currency: str) -> dict[str, Any]:
    return {
        "customer_id": state.customer_id,
        "enabled": state.enabled,
        "threshold": money(state.threshold_units, currency),
        "armed": state.armed,
        "fired_at": instant(state.fired_at),
        "reminders_sent": state.reminders_sent,
    }
