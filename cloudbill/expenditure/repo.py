"""Expenditure SQL: append a trade's records (never updated, never deleted)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, insert, select

from ..kernel.quantity import QUANTITY_SCALE
from ..store.schema import fee_record, ledger_transaction
from .model import Expenditure


def _row(e: Expenditure, payers: dict[int, str]) -> dict[str, object]:
    payer = payers.get(e.ledger_transaction_id) if e.ledger_transaction_id is not None else None
    return {
        # Whose books the money moved on, when not the consumer's: a unified member's master.
        "payer_id": payer if payer is not None and payer != e.customer_id else None,
        "settlement_id": None,
        "customer_id": e.customer_id,
        "resource_id": e.resource_id,
        "service": e.service,
        "resource_type": e.resource_type,
        "spec": e.spec,
        "region": e.region,
        "billing_mode": e.billing_mode,
        "usage_type": "",  # only pay-per-use meters a usage type
        "hour_start": e.charged_at,
        "is_late": False,
        "currency": e.currency,
        # A period bought is its "usage": so many months (years, days) at the monthly price.
        "pricing_unit": e.period_unit,
        "usage_e10": e.period_count * QUANTITY_SCALE,
        "package_usage_e10": 0,
        "unit_price": None,
        "official_units": e.official_units,
        "discount_units": e.discount_units,
        "amount_units": e.amount_units,
        "coupon_units": e.coupon_units,
        "cash_units": e.cash_units,
        "credit_units": e.credit_units,
        "debt_units": e.debt_units,
        "ledger_transaction_id": e.ledger_transaction_id,
        "created_at": e.charged_at,
        "bill_type": str(e.bill_type),
        "trade_id": e.trade_id,
        "line_no": e.line_no,
        "period_start": e.period_start,
        "period_end": e.period_end,
        "description": e.description,
    }


def insert_expenditures(conn: Connection, records: Sequence[Expenditure]) -> None:
    """Write a trade's records in the caller's transaction (the one that moves the money). The
    unique (trade, bill type, line) key makes a second write of the same trade fail loudly."""
    if records:
        ids = sorted({e.ledger_transaction_id for e in records} - {None})
        t = ledger_transaction.c
        payers = dict(conn.execute(select(t.id, t.customer_id).where(t.id.in_(ids))).all())
        conn.execute(insert(fee_record), [_row(e, payers) for e in records])
