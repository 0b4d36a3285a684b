"""Invoices' SQL: the paid money they cover, the invoices, items, documents and series."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select, true, update
from sqlalchemy.dialects import postgresql, sqlite

from ..bills.repo import bucket
from ..enterprise import accounting
from ..expenditure.model import ORDER_BILL_TYPES, BillType
from ..kernel.limits import PAGE_SIZE_MAX
from ..ledger.model import AccountKind, TransactionKind, provider_account_code
from ..store.schema import (
    fee_record,
    invoice,
    invoice_document,
    invoice_item,
    invoice_profile,
    invoice_series,
    ledger_account,
    ledger_entry,
    ledger_transaction,
    postpaid_bill,
)
from .model import HOLDING, Invoice, Item, Kind, Method, Profile, SourceKind, Status, TitleType

# Money actually paid: cash and credit (post-paid), never coupons; debt is not paid yet. By
# whoever paid it: an enterprise master invoices what it paid for its unified members, and
# they do not (enterprise/accounting.paid_by).
_PAID = fee_record.c.cash_units + fee_record.c.credit_units


def order_rows(conn: Connection, customer_id: str) -> list[Any]:
    """Per order, resource, service and region: paid money (< 0: given back) and when."""
    c = fee_record.c
    query = (
        select(
            c.trade_id,
            c.resource_id,
            c.service,
            c.region,
            func.min(c.created_at).label("at"),
            func.sum(_PAID).label("units"),
        )
        .where(
            accounting.paid_by(c, customer_id),
            c.bill_type.in_([str(t) for t in ORDER_BILL_TYPES]),
        )
        .group_by(c.trade_id, c.resource_id, c.service, c.region)
    )
    return list(conn.execute(query))


def cycle_rows(
    conn: Connection, customer_id: str, months: Sequence[tuple[str, datetime]], end: datetime
) -> list[Any]:
    """Per billed month (label, first instant; up to `end`), service and region: paid money."""
    if not months:
        return []
    c = fee_record.c
    month = bucket(c.hour_start, months).label("month")
    query = (
        select(month, c.service, c.region, func.sum(_PAID).label("units"))
        .where(
            accounting.paid_by(c, customer_id),
            c.bill_type == str(BillType.USAGE),
            c.hour_start >= months[0][1],
            c.hour_start < end,
        )
        .group_by(month, c.service, c.region)
    )
    return list(conn.execute(query))


def cycle_debt_rows(
    conn: Connection, customer_id: str, months: Sequence[tuple[str, datetime]], end: datetime
) -> list[Any]:
    """Per billed month, service and region: the fees that went to debt (unpaid then)."""
    if not months:
        return []
    c = fee_record.c
    month = bucket(c.hour_start, months).label("month")
    query = (
        select(month, c.service, c.region, func.sum(c.debt_units).label("units"))
        .where(
            accounting.paid_by(c, customer_id),
            c.bill_type == str(BillType.USAGE),
            c.debt_units > 0,
            c.hour_start >= months[0][1],
            c.hour_start < end,
        )
        .group_by(month, c.service, c.region)
    )
    return list(conn.execute(query))


def debt_repaid_units(conn: Connection, customer_id: str) -> int:
    """Debt the customer paid off with money (the debt part of its top-ups), not what the
    operator wrote off."""
    e, t, a = ledger_entry.c, ledger_transaction.c, ledger_account.c
    total = conn.execute(
        select(func.coalesce(func.sum(e.amount_units), 0))
        .select_from(
            ledger_entry.join(ledger_transaction, t.id == e.transaction_id).join(
                ledger_account, a.id == e.account_id
            )
        )
        .where(
            a.customer_id == customer_id,
            a.kind == str(AccountKind.DEBT),
            t.kind == str(TransactionKind.TOPUP),
        )
    ).scalar_one()
    return max(-int(total), 0)  # credits of the debt account are negative


def first_usage_at(conn: Connection, customer_id: str) -> datetime | None:
    c = fee_record.c
    return conn.execute(
        select(func.min(c.hour_start)).where(
            accounting.paid_by(c, customer_id), c.bill_type == str(BillType.USAGE)
        )
    ).scalar_one()


def last_postpaid_bill_end(conn: Connection, customer_id: str) -> datetime | None:
    return conn.execute(
        select(func.max(postpaid_bill.c.period_end)).where(
            postpaid_bill.c.customer_id == customer_id
        )
    ).scalar_one()


def topup_rows(conn: Connection, customer_id: str, currency: str) -> list[Any]:
    """Top-ups (> 0) and withdrawals (< 0) of a customer, as the provider's funds saw them."""
    t, e, a = ledger_transaction.c, ledger_entry.c, ledger_account.c
    query = (
        select(t.id, t.created_at.label("at"), e.amount_units.label("units"))
        .select_from(ledger_transaction.join(ledger_entry, e.transaction_id == t.id))
        .join(ledger_account, a.id == e.account_id)
        .where(
            t.customer_id == customer_id,
            t.kind.in_([str(TransactionKind.TOPUP), str(TransactionKind.WITHDRAWAL)]),
            a.code == provider_account_code(currency, AccountKind.FUNDS),
        )
        .order_by(t.id)
    )
    return list(conn.execute(query))


def invoiced(conn: Connection, customer_id: str) -> list[Any]:
    """Per source and rate, the money held by invoices (credit memos subtract)."""
    i, v = invoice_item.c, invoice.c
    query = (
        select(i.source_kind, i.source_id, i.tax_rate, func.sum(i.amount_units).label("units"))
        .select_from(invoice_item.join(invoice, v.id == i.invoice_id))
        .where(i.customer_id == customer_id, v.status.in_(sorted(str(s) for s in HOLDING)))
        .group_by(i.source_kind, i.source_id, i.tax_rate)
    )
    return list(conn.execute(query))


# --- profiles --------------------------------------------------------------------------------


def get_profile(conn: Connection, customer_id: str) -> Profile | None:
    row = conn.execute(
        select(invoice_profile).where(invoice_profile.c.customer_id == customer_id)
    ).first()
    if row is None:
        return None
    m = row._mapping
    return Profile(
        customer_id=m["customer_id"],
        title_type=TitleType(m["title_type"]),
        title=m["title"],
        tax_id=m["tax_id"],
        email=m["email"],
        address=m["address"],
        updated_at=m["updated_at"],
    )


def put_profile(conn: Connection, values: dict[str, Any]) -> None:
    updated = conn.execute(
        update(invoice_profile)
        .where(invoice_profile.c.customer_id == values["customer_id"])
        .values(**values)
    ).rowcount
    if not updated:
        conn.execute(insert(invoice_profile).values(**values))


# --- invoices --------------------------------------------------------------------------------


def _invoice(row: Any, items: Sequence[Item] = ()) -> Invoice:
    m = row._mapping
    return Invoice(
        id=m["id"],
        customer_id=m["customer_id"],
        kind=Kind(m["kind"]),
        method=Method(m["method"]),
        status=Status(m["status"]),
        currency=m["currency"],
        tax_rate=Decimal(m["tax_rate"]),
        amount_units=m["amount_units"],
        reason=m["reason"],
        corrects_id=m["corrects_id"],
        series=m["series"],
        number=m["number"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        issued_at=m["issued_at"],
        items=tuple(items),
    )


def items_of(conn: Connection, invoice_ids: Sequence[str]) -> dict[str, list[Item]]:
    out: dict[str, list[Item]] = {i: [] for i in invoice_ids}
    if not invoice_ids:
        return out
    rows = conn.execute(
        select(invoice_item)
        .where(invoice_item.c.invoice_id.in_(list(invoice_ids)))
        .order_by(invoice_item.c.id)
    )
    for r in rows:
        m = r._mapping
        out[m["invoice_id"]].append(
            Item(
                SourceKind(m["source_kind"]),
                m["source_id"],
                Decimal(m["tax_rate"]),
                m["amount_units"],
            )
        )
    return out


def get(conn: Connection, invoice_id: str, *, lock: bool = False) -> Invoice | None:
    query = select(invoice).where(invoice.c.id == invoice_id)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        return None
    return _invoice(row, items_of(conn, [invoice_id])[invoice_id])


def by_reference(conn: Connection, customer_id: str, prefix: str) -> list[Invoice]:
    rows = conn.execute(
        select(invoice)
        .where(invoice.c.customer_id == customer_id, invoice.c.reference.like(prefix + "%"))
        .order_by(invoice.c.reference)
        .limit(PAGE_SIZE_MAX)
    ).all()
    items = items_of(conn, [r.id for r in rows])
    return [_invoice(r, items[r.id]) for r in rows]


def request_hash(conn: Connection, invoice_id: str) -> str:
    return conn.execute(
        select(invoice.c.request_hash).where(invoice.c.id == invoice_id)
    ).scalar_one()


def page(
    conn: Connection, where: list[Any], *, limit: int, offset: int
) -> tuple[list[Invoice], int]:
    total = conn.execute(
        select(func.count()).select_from(invoice).where(and_(true(), *where))
    ).scalar_one()
    rows = conn.execute(
        select(invoice)
        .where(and_(true(), *where))
        .order_by(invoice.c.created_at.desc(), invoice.c.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    items = items_of(conn, [r.id for r in rows])
    return [_invoice(r, items[r.id]) for r in rows], total


def insert_invoice(conn: Connection, values: dict[str, Any], items: Sequence[Item]) -> None:
    conn.execute(insert(invoice).values(**values))
    conn.execute(
        insert(invoice_item),
        [
            {
                "invoice_id": values["id"],
                "customer_id": values["customer_id"],
                "source_kind": str(i.source_kind),
                "source_id": i.source_id,
                "tax_rate": str(i.tax_rate),
                "amount_units": i.amount_units,
            }
            for i in items
        ],
    )


def set_status(conn: Connection, invoice_id: str, values: dict[str, Any]) -> None:
    conn.execute(update(invoice).where(invoice.c.id == invoice_id).values(**values))


def next_number(conn: Connection, series: str) -> int:
    """The series' next number, its row locked until the transaction ends: two issues never
    share a number, and a rolled-back issue gives its number back (gapless)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(
        dialect.insert(invoice_series)
        .values(series=series, next_number=1)
        .on_conflict_do_nothing(index_elements=["series"])
    )
    number = conn.execute(
        select(invoice_series.c.next_number)
        .where(invoice_series.c.series == series)
        .with_for_update()
    ).scalar_one()
    conn.execute(
        update(invoice_series)
        .where(invoice_series.c.series == series)
        .values(next_number=number + 1)
    )
    return int(number)


def insert_document(
    conn: Connection,
    invoice_id: str,
    series: str,
    number: int,
    content: dict[str, Any],
    issued_at: datetime,
) -> None:
    conn.execute(
        insert(invoice_document).values(
            invoice_id=invoice_id,
            series=series,
            number=number,
            content=json.dumps(content, sort_keys=True),
            issued_at=issued_at,
        )
    )


def document(conn: Connection, invoice_id: str) -> dict[str, Any] | None:
    text = conn.execute(
        select(invoice_document.c.content).where(invoice_document.c.invoice_id == invoice_id)
    ).scalar_one_or_none()
    return None if text is None else json.loads(text)
