"""Automatic mode (Huawei international): an invoice for every paid order and billed month as
soon as it is invoiceable, a credit memo for every refund or withdrawal of invoiced money.
Run by the worker; what it made is invoiced, so running it again makes nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from ..customers import service as customers
from ..kernel.limits import PAGE_SIZE_MAX
from ..store.schema import customer as customer_table
from ..store.schema import invoice_item
from . import documents, repo
from .figures import figures
from .model import Item, Kind, Method, Status, Terms
from .service import _new


def _corrected(conn: Connection, customer_id: str, kind: str, source_id: str) -> str | None:
    """The latest invoice that covered the source a credit memo corrects."""
    return conn.execute(
        select(invoice_item.c.invoice_id)
        .where(
            invoice_item.c.customer_id == customer_id,
            invoice_item.c.source_kind == kind,
            invoice_item.c.source_id == source_id,
            invoice_item.c.amount_units > 0,
        )
        .order_by(invoice_item.c.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def run_customer(conn: Connection, customer_id: str, terms: Terms, *, now: datetime) -> int:
    customer = customers.get(conn, customer_id, lock=True)
    figs = figures(conn, customer, terms, now=now)
    profile = repo.get_profile(conn, customer.id)
    made = 0
    for out in figs.outstanding:
        item = Item(out.kind, out.source_id, out.tax_rate, -out.units)
        memo = _new(
            conn,
            customer,
            Kind.CREDIT_MEMO,
            Method.AUTOMATIC,
            Status.ISSUING,
            [item],
            reference=None,
            request_hash="",
            now=now,
            corrects_id=_corrected(conn, customer.id, str(out.kind), out.source_id),
        )
        documents.issue(conn, memo, customer, profile, terms, now=now)
        made += 1
    for s in figs.sources:
        if s.invoiceable_units > 0:
            item = Item(s.kind, s.source_id, s.tax_rate, s.invoiceable_units)
            inv = _new(
                conn,
                customer,
                Kind.INVOICE,
                Method.AUTOMATIC,
                Status.ISSUING,
                [item],
                reference=None,
                request_hash="",
                now=now,
            )
            documents.issue(conn, inv, customer, profile, terms, now=now)
            made += 1
    return made


def customer_ids(conn: Connection, after: str) -> list[str]:
    c = customer_table.c
    return list(
        conn.execute(select(c.id).where(c.id > after).order_by(c.id).limit(PAGE_SIZE_MAX)).scalars()
    )
