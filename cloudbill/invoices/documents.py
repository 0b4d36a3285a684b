"""Issuing: the next number of a series and the immutable document of an invoice."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ..customers.model import Customer
from ..kernel.money import units_to_text
from ..kernel.periods import zone
from ..notify.notices import store as notices
from ..notify.notices.contexts import customer_view
from ..notify.notices.rules import INVOICE_ISSUED
from ..notify.notices.store import Draft
from . import repo
from .model import Invoice, Kind, Profile, Status, Terms
from .rules import rate_text, round_lines, split_tax

_SOURCE_WORDS = {"order": "Order", "cycle": "Billing cycle", "topup": "Top-up"}


def buyer_of(customer: Customer, profile: Profile | None) -> dict[str, str]:
    """The buyer as printed: the invoice information, else (automatic mode, no information
    given yet) the customer's name and email as a personal title."""
    if profile is None:
        return {
            "title_type": "personal",
            "title": customer.name,
            "tax_id": "",
            "email": customer.email or "",
            "address": "",
        }
    return {
        "title_type": str(profile.title_type),
        "title": profile.title,
        "tax_id": profile.tax_id or "",
        "email": profile.email or customer.email or "",
        "address": profile.address or "",
    }


def content(
    inv: Invoice,
    number_text: str,
    customer: Customer,
    profile: Profile | None,
    terms: Terms,
    corrects: str | None,
    now: datetime,
) -> dict[str, Any]:
    """What the document says, fixed when it is issued. Amounts include tax, rounded once
    (half up) to the currency's digits; the lines add up to the total, net + tax = total."""
    cur = inv.currency
    total, net, tax = split_tax(inv.amount_units, inv.tax_rate, cur)
    lines = round_lines([i.amount_units for i in inv.items], total, cur)
    return {
        "kind": str(inv.kind),
        "number": number_text,
        "invoice_id": inv.id,
        "customer_id": customer.id,
        "issued_at": now.astimezone(zone(customer.timezone)).strftime("%Y-%m-%d %H:%M %Z"),
        "currency": cur,
        "tax_rate": rate_text(inv.tax_rate),
        "tax_percent": rate_text(inv.tax_rate * 100),
        "seller": {
            "name": terms.seller.name,
            "tax_id": terms.seller.tax_id,
            "address": terms.seller.address,
        },
        "buyer": buyer_of(customer, profile),
        "lines": [
            {
                "description": f"{_SOURCE_WORDS[str(i.source_kind)]} {i.source_id}",
                "source_kind": str(i.source_kind),
                "source_id": i.source_id,
                "amount": units_to_text(units, cur),
            }
            for i, units in zip(inv.items, lines, strict=True)
        ],
        "total": units_to_text(total, cur),
        "net": units_to_text(net, cur),
        "tax": units_to_text(tax, cur),
        "corrects": corrects,
    }


def issue(
    conn: Connection,
    inv: Invoice,
    customer: Customer,
    profile: Profile | None,
    terms: Terms,
    *,
    now: datetime,
) -> dict[str, Any]:
    """Number `inv` and write its document, in the caller's transaction."""
    series = terms.credit_memo_series if inv.kind is Kind.CREDIT_MEMO else terms.invoice_series
    number = repo.next_number(conn, series)
    corrects = None
    if inv.corrects_id:
        corrected = repo.get(conn, inv.corrects_id)
        corrects = corrected.number_text if corrected else None
    doc = content(inv, f"{series}-{number:08d}", customer, profile, terms, corrects, now)
    repo.insert_document(conn, inv.id, series, number, doc, now)
    if terms.notice_settings is not None:
        _tell(conn, inv, customer, profile, doc, terms, now)
    repo.set_status(
        conn,
        inv.id,
        {
            "status": str(Status.ISSUED),
            "series": series,
            "number": number,
            "issued_at": now,
            "updated_at": now,
        },
    )
    return doc


def _tell(
    conn: Connection,
    inv: Invoice,
    customer: Customer,
    profile: Profile | None,
    doc: dict[str, Any],
    terms: Terms,
    now: datetime,
) -> None:
    """The issued document by email (with its PDF, made when sent) to the invoice information's
    address, else the customer's, through the customer notice channel; once per document."""
    to = replace(customer, email=(profile.email if profile else None) or customer.email)
    context = {
        "kind": INVOICE_ISSUED,
        "customer": customer_view(to),
        "document_kind": doc["kind"],
        "invoice_id": inv.id,
        "number": doc["number"],
        "total": f"{doc['total']} {doc['currency']}",
        "tax": f"{doc['tax']} {doc['currency']}",
        "issued_at": doc["issued_at"],
    }
    draft = Draft(to, INVOICE_ISSUED, f"invoice_issued:{inv.id}", context)
    notices.add(conn, [draft], terms.notice_settings, now=now)
