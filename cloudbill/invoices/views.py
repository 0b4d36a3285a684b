"""Invoices as answers: exact amounts as decimal text with the currency's code."""

from __future__ import annotations

from typing import Any

from ..kernel.money import units_to_text
from .model import Figures, Invoice, Profile
from .rules import rate_text


def profile_view(p: Profile | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {
        "title_type": str(p.title_type),
        "title": p.title,
        "tax_id": p.tax_id,
        "email": p.email,
        "address": p.address,
        "updated_at": p.updated_at.isoformat(),
    }


def figures_view(f: Figures) -> dict[str, Any]:
    cur = f.currency

    def money(units: int) -> str:
        return units_to_text(units, cur)

    return {
        "currency": cur,
        "net_paid": money(f.net_paid_units),
        "invoiced": money(f.invoiced_units),
        "outstanding": money(f.outstanding_units),
        "invoiceable": money(f.invoiceable_units),
        "sources": [
            {
                "kind": str(s.kind),
                "id": s.source_id,
                "tax_rate": rate_text(s.tax_rate),
                "at": s.at.isoformat() if s.at else None,
                "paid": money(s.paid_units),
                "refunded": money(s.refunded_units),
                "invoiced": money(s.invoiced_units),
                "offset": money(s.offset_units),
                "invoiceable": money(s.invoiceable_units),
            }
            for s in f.sources
        ],
    }


def invoice_view(i: Invoice) -> dict[str, Any]:
    return {
        "id": i.id,
        "customer_id": i.customer_id,
        "kind": str(i.kind),
        "method": str(i.method),
        "status": str(i.status),
        "number": i.number_text,
        "currency": i.currency,
        "tax_rate": rate_text(i.tax_rate),
        "amount": units_to_text(i.amount_units, i.currency),
        "reason": i.reason,
        "corrects_id": i.corrects_id,
        "created_at": i.created_at.isoformat(),
        "issued_at": i.issued_at.isoformat() if i.issued_at else None,
        "items": [
            {
                "kind": str(t.source_kind),
                "id": t.source_id,
                "amount": units_to_text(t.amount_units, i.currency),
            }
            for t in i.items
        ],
    }
