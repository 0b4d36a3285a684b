"""JSON-ready views of bills, shared by the API, the CLI's --json output and the CSV export.

Amounts are exact decimal strings (`cloudbill.views.money`); quantities are exact decimal
strings in their pricing unit; instants are ISO 8601 UTC.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..views import instant, money
from .model import (
    FIGURES,
    Breakdown,
    FeeGroup,
    FeeRecord,
    Figures,
    Item,
    MonthlySummary,
    PackageUse,
    TrendMonth,
)


def quantity(e10: int) -> str:
    """A count of 10**-10 of a pricing unit as plain decimal text, trailing zeros dropped."""
    text = format(Decimal(e10).scaleb(-10), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def figures_view(units: dict[str, int], currency: str) -> dict[str, str]:
    return {name: money(units[name], currency) for name in FIGURES}


def _breakdown_view(b: Breakdown, currency: str) -> dict[str, Any]:
    return {
        "lines": [
            {b.dimension: line.key, **figures_view(line.rounded, currency)} for line in b.lines
        ],
        "rounding_adjustment": figures_view(b.rounding_adjustment, currency),
    }


def summary_view(s: MonthlySummary) -> dict[str, Any]:
    cur = s.currency
    view: dict[str, Any] = {
        "customer_id": s.customer_id,
        "month": s.month,
        "currency": cur,
        "timezone": s.timezone,
        "period": {"start": instant(s.period.start), "end": instant(s.period.end)},
        "rounding": str(s.rounding),
        "fee_records": s.fee_records,
        "total": figures_view(s.total, cur),
        # Huawei's truncated amount: what rounding the amount due took off (exact - printed).
        "truncated_amount": money(s.truncated["amount"], cur),
        "exact": figures_view(s.exact.units(), cur),
        "truncated": figures_view(s.truncated, cur),
    }
    for b in s.breakdowns:
        view[f"by_{b.dimension}"] = _breakdown_view(b, cur)
    return view


def _item_view(item: Item) -> dict[str, Any]:
    return {
        "bill_type": item.bill_type,
        "resource_id": item.resource_id,
        "resource_name": item.resource_name,
        "service": item.service,
        "resource_type": item.resource_type,
        "spec": item.spec,
        "region": item.region,
        "billing_mode": item.billing_mode,
        "usage_type": item.usage_type,
        "pricing_unit": item.pricing_unit,
    }


def _exact(figures: Figures, currency: str) -> dict[str, str]:
    return figures_view(figures.units(), currency)


def fee_record_view(r: FeeRecord, *, with_figures: bool = True) -> dict[str, Any]:
    """`with_figures=False`: without the amounts as money text (a caller that writes them
    otherwise, e.g. bill storage's exact 8 decimals, skips their cost)."""
    figures = _exact(r.figures, r.currency) if with_figures else {}
    return {
        "id": r.id,
        "hour_start": instant(r.hour_start),
        **_item_view(r.item),
        "usage": quantity(r.usage_e10),
        "package_usage": quantity(r.package_usage_e10),
        "unit_price": r.unit_price,
        **figures,
        "currency": r.currency,
        "is_late": r.is_late,
        "settlement_id": r.settlement_id,
        "trade_id": r.trade_id,
        "order_id": r.order_id,
        "period_start": instant(r.period_start),
        "period_end": instant(r.period_end),
        "charged_at": instant(r.charged_at),
        "description": r.description,
        "customer_id": r.customer_id,
    }


def fee_group_view(g: FeeGroup, *, with_figures: bool = True) -> dict[str, Any]:
    view: dict[str, Any] = {"day": g.day.isoformat()} if g.day is not None else {}
    figures = _exact(g.figures, g.currency) if with_figures else {}
    return {
        **view,
        **_item_view(g.item),
        "first_hour": instant(g.first_hour),
        "last_hour": instant(g.last_hour),
        "records": g.records,
        "late_records": g.late_records,
        "usage": quantity(g.usage_e10),
        "package_usage": quantity(g.package_usage_e10),
        **figures,
        "currency": g.currency,
        "customer_id": g.customer_id,
    }


def fee_view(row: FeeRecord | FeeGroup) -> dict[str, Any]:
    return fee_record_view(row) if isinstance(row, FeeRecord) else fee_group_view(row)


def package_use_view(p: PackageUse) -> dict[str, Any]:
    return {
        "id": p.id,
        "package_id": p.package_id,
        "package_name": p.package_name,
        "usage_type": p.usage_type,
        "pricing_unit": p.pricing_unit,
        "resource_id": p.resource_id,
        "hour_start": instant(p.hour_start),
        "period_start": instant(p.period_start),
        "quantity": quantity(p.quantity_e10),
        "settlement_id": p.settlement_id,
    }


def trend_view(customer_id: str, months: list[TrendMonth]) -> dict[str, Any]:
    currency = months[0].currency if months else None
    return {
        "customer_id": customer_id,
        "currency": currency,
        "months": [
            {
                "month": m.month,
                "start": instant(m.period.start),
                "end": instant(m.period.end),
                "amount": money(m.amount_rounded_units, m.currency),
                "net_amount": money(m.net_rounded_units, m.currency),
                "amount_exact": money(m.amount_units, m.currency),
                "net_amount_exact": money(m.net_units, m.currency),
            }
            for m in months
        ],
    }
