"""JSON-ready views of packages and coupons, shared by the API and the CLI's --json output.

Quantities and amounts are exact decimal strings; instants ISO 8601 UTC.
"""

from __future__ import annotations

from typing import Any

from ..kernel.resets import ResetKind
from ..views import instant, money
from .model import CashCoupon, CouponUsage, PackageBalance, PackageUsage, ResourcePackage
from .rules import quantity_text


def package_view(p: ResourcePackage) -> dict[str, Any]:
    return {
        "id": p.id,
        "customer_id": p.customer_id,
        "name": p.name,
        "usage_type": p.usage_type,
        "unit": p.pricing_unit,
        "quantity": quantity_text(p.quantity_e10),
        "service": p.service,
        "resource_type": p.resource_type,
        "spec": p.spec,
        "region": p.region,
        "reset_kind": str(p.reset_kind),
        "reset_hour": p.reset_hour,
        # The older flag, kept for clients that read it: any monthly reset.
        "resets_monthly": p.reset_kind
        in (ResetKind.MONTHLY_CALENDAR, ResetKind.MONTHLY_PURCHASE_DAY),
        "valid_from": instant(p.valid_from),
        "valid_to": instant(p.valid_to),
        "source": str(p.source),
        "reference": p.reference,
        "created_at": instant(p.created_at),
    }


def package_balance_view(b: PackageBalance) -> dict[str, Any]:
    return {
        **package_view(b.package),
        "state": str(b.state),
        "period": {"start": instant(b.period.start), "end": instant(b.period.end)},
        "used": quantity_text(b.used_e10),
        "remaining": quantity_text(b.remaining_e10),
    }


def package_usage_view(u: PackageUsage) -> dict[str, Any]:
    return {
        "id": u.id,
        "period_start": instant(u.period_start),
        "settlement_id": u.settlement_id,
        "resource_id": u.resource_id,
        "hour_start": instant(u.hour_start),
        "quantity": quantity_text(u.quantity_e10),
    }


def coupon_view(c: CashCoupon) -> dict[str, Any]:
    return {
        "id": c.id,
        "customer_id": c.customer_id,
        "name": c.name,
        "currency": c.currency,
        "face_value": money(c.face_value_units, c.currency),
        "balance": money(c.balance_units, c.currency),
        "min_spend": money(c.min_spend_units, c.currency),
        "services": list(c.services) if c.services is not None else None,
        "billing_modes": list(c.billing_modes) if c.billing_modes is not None else None,
        "valid_from": instant(c.valid_from),
        "valid_to": instant(c.valid_to),
        "status": str(c.status),
        "reference": c.reference,
        "issued_at": instant(c.issued_at),
    }


def coupon_usage_view(u: CouponUsage, currency: str) -> dict[str, Any]:
    return {
        "id": u.id,
        "kind": str(u.kind),
        "amount": money(u.amount_units, currency),
        "settlement_id": u.settlement_id,
        "ledger_transaction_id": u.ledger_transaction_id,
        "at": instant(u.at),
    }
