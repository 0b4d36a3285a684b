"""Invoice use cases: invoice information, figures, requests and their review, returns.

Each runs in the caller's transaction and changes nothing when it refuses."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from ..customers import service as customers
from ..customers.model import Customer
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.ids import is_valid_id, new_id
from ..kernel.limits import PAGE_SIZE_MAX
from ..ledger.rules import check_key, payload_hash
from ..store.schema import invoice as invoice_table
from . import documents, repo
from .figures import figures
from .model import Figures, Invoice, Item, Kind, Method, Profile, SourceKind, Status, Terms
from .rules import check_profile, next_status, rate_text

SELECTIONS_MAX = 500  # orders and cycles one request may name


def set_profile(
    conn: Connection, customer_id: str, data: dict[str, Any], *, now: datetime
) -> Profile:
    customers.get(conn, customer_id)
    texts = {k: data.get(k) for k in ("email", "address")}
    check_profile(data.get("title_type"), data.get("title"), data.get("tax_id"), **texts)
    values = {
        "customer_id": customer_id,
        "title_type": data["title_type"],
        "title": data["title"].strip(),
        "tax_id": (data.get("tax_id") or "").strip() or None,
        **{k: (v or "").strip() or None for k, v in texts.items()},
        "updated_at": now,
    }
    repo.put_profile(conn, values)
    found = repo.get_profile(conn, customer_id)
    assert found is not None
    return found


def get_profile(conn: Connection, customer_id: str) -> Profile | None:
    customers.get(conn, customer_id)
    return repo.get_profile(conn, customer_id)


def customer_figures(conn: Connection, customer_id: str, terms: Terms, *, now: datetime) -> Figures:
    return figures(conn, customers.get(conn, customer_id), terms, now=now)


def held_units(conn: Connection, customer: Customer, terms: Terms, *, now: datetime) -> int:
    """What cannot be withdrawn: the outstanding invoice amount (invoiced money given back);
    and when top-ups are invoiced (request mode), the invoiced part of the cash balance, taken
    to be spent last. The automatic mode lets it go and makes a credit memo instead."""
    figs = figures(conn, customer, terms, now=now)
    held = figs.outstanding_units
    if terms.on_topup and terms.method is Method.REQUEST:
        cash = customers.overview(conn, customer, now).cash_balance_units
        held = max(held, min(cash, figs.invoiced_units))
    return held


def _selected(figs: Figures, selections: list[Any]) -> dict[Decimal, list[Item]]:
    if not isinstance(selections, list) or not selections or len(selections) > SELECTIONS_MAX:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT,
            f"name 1 to {SELECTIONS_MAX} orders or billing cycles to invoice",
        )
    by_rate: dict[Decimal, list[Item]] = defaultdict(list)
    seen = set()
    for sel in selections:
        kind, source_id = (
            (sel.get("kind"), sel.get("id")) if isinstance(sel, dict) else (None, None)
        )
        if (
            kind not in tuple(SourceKind)
            or not isinstance(source_id, str)
            or (kind, source_id) in seen
        ):
            raise CloudbillError(
                ErrorCode.INVALID_ARGUMENT,
                "each selection is {kind: order|cycle|topup, id}, named once",
            )
        seen.add((kind, source_id))
        found = [s for s in figs.sources if (str(s.kind), s.source_id) == (kind, source_id)]
        if not found and kind == str(SourceKind.ORDER):  # another customer's looks absent too
            raise CloudbillError(
                ErrorCode.ORDER_NOT_FOUND, f"no paid order {source_id!r}", kind=kind, id=source_id
            )
        if not any(s.invoiceable_units > 0 for s in found):
            raise CloudbillError(
                ErrorCode.NOTHING_TO_INVOICE,
                f"{kind} {source_id} has no invoiceable amount",
                kind=kind,
                id=source_id,
            )
        for s in found:
            if s.invoiceable_units > 0:
                by_rate[s.tax_rate].append(
                    Item(s.kind, s.source_id, s.tax_rate, s.invoiceable_units)
                )
    return by_rate


def _new(
    conn: Connection,
    customer: Customer,
    kind: Kind,
    method: Method,
    status: Status,
    items: list[Item],
    *,
    reference: str | None,
    request_hash: str,
    now: datetime,
    corrects_id: str | None = None,
) -> Invoice:
    invoice_id = new_id()
    values = {
        "id": invoice_id,
        "customer_id": customer.id,
        "kind": str(kind),
        "method": str(method),
        "status": str(status),
        "currency": customer.currency,
        "tax_rate": rate_text(items[0].tax_rate),
        "amount_units": sum(i.amount_units for i in items),
        "reference": reference,
        "request_hash": request_hash,
        "corrects_id": corrects_id,
        "created_at": now,
        "updated_at": now,
    }
    repo.insert_invoice(conn, values, items)
    found = repo.get(conn, invoice_id)
    assert found is not None
    return found


def request(
    conn: Connection,
    customer_id: str,
    selections: list[Any],
    terms: Terms,
    *,
    reference: str,
    now: datetime,
) -> list[Invoice]:
    """New Invoice: the invoiceable amount of the chosen orders and billing cycles, one
    invoice per tax rate, pending review. Replayed with the same reference: the same answer."""
    key = check_key(reference)
    customer = customers.get(conn, customer_id, lock=True)
    digest = payload_hash({"selections": selections})
    previous = repo.by_reference(conn, customer.id, f"req:{key}#")
    if previous:
        if any(repo.request_hash(conn, p.id) != digest for p in previous):
            raise CloudbillError(
                ErrorCode.IDEMPOTENCY_CONFLICT,
                f"reference {reference!r} was already used for a different request",
            )
        return previous
    if terms.method is not Method.REQUEST:
        raise CloudbillError(
            ErrorCode.INVALID_STATE, "invoices are issued automatically: there is nothing to ask"
        )
    if repo.get_profile(conn, customer.id) is None:
        raise CloudbillError(
            ErrorCode.INVOICE_PROFILE_MISSING, "set the invoice title (invoice information) first"
        )
    by_rate = _selected(figures(conn, customer, terms, now=now), selections)
    return [
        _new(
            conn,
            customer,
            Kind.INVOICE,
            Method.REQUEST,
            Status.PENDING_REVIEW,
            items,
            reference=f"req:{key}#{n}",
            request_hash=digest,
            now=now,
        )
        for n, (_rate, items) in enumerate(sorted(by_rate.items()))
    ]


def get(
    conn: Connection, invoice_id: str, *, customer_id: str | None = None, lock: bool = False
) -> Invoice:
    found = repo.get(conn, invoice_id, lock=lock) if is_valid_id(invoice_id) else None
    if found is None or (customer_id is not None and found.customer_id != customer_id):
        raise CloudbillError(ErrorCode.INVOICE_NOT_FOUND, f"no invoice {invoice_id!r}")
    return found


def act(
    conn: Connection,
    invoice_id: str,
    action: str,
    terms: Terms,
    *,
    now: datetime,
    customer_id: str | None = None,
    reason: str | None = None,
) -> Invoice:
    """One step of an invoice's life: the customer cancels or asks to return; an operator
    starts, issues, rejects (with a reason) or confirms a return."""
    inv = get(conn, invoice_id, customer_id=customer_id, lock=True)
    to = next_status(action, inv.status)
    if action in ("reject", "request_return") and not (isinstance(reason, str) and reason.strip()):
        raise CloudbillError(ErrorCode.INVALID_ARGUMENT, "a reason is required")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 512):
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, "a reason is text of at most 512 characters"
        )
    if to is Status.ISSUED:
        customer = customers.get(conn, inv.customer_id)
        documents.issue(conn, inv, customer, repo.get_profile(conn, customer.id), terms, now=now)
    else:
        values: dict[str, Any] = {"status": str(to), "updated_at": now}
        if reason:
            values["reason"] = reason.strip()
        repo.set_status(conn, inv.id, values)
    return get(conn, inv.id)


def list_invoices(
    conn: Connection,
    *,
    customer_id: str | None = None,
    status: str | None = None,
    kind: str | None = None,
    limit: int = 50,
    offset: int = 0,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    exclude_status: str | None = None,
) -> tuple[list[Invoice], int]:
    if not (
        isinstance(limit, int)
        and 1 <= limit <= PAGE_SIZE_MAX
        and isinstance(offset, int)
        and offset >= 0
    ):
        raise CloudbillError(ErrorCode.INVALID_ARGUMENT, f"limit 1-{PAGE_SIZE_MAX}, offset >= 0")
    where = []
    c = invoice_table.c
    if customer_id is not None:
        where.append(c.customer_id == customer_id)
    if status is not None:
        if status not in tuple(Status):
            raise CloudbillError(ErrorCode.INVALID_ARGUMENT, f"unknown invoice status {status!r}")
        where.append(c.status == status)
    if kind is not None:
        if kind not in tuple(Kind):
            raise CloudbillError(ErrorCode.INVALID_ARGUMENT, f"unknown invoice kind {kind!r}")
        where.append(c.kind == kind)
    if created_from is not None:
        where.append(c.created_at >= created_from)
    if created_to is not None:
        where.append(c.created_at < created_to)
    if exclude_status is not None:
        where.append(c.status != exclude_status)
    return repo.page(conn, where, limit=limit, offset=offset)


def document(
    conn: Connection, invoice_id: str, *, customer_id: str | None = None
) -> dict[str, Any]:
    inv = get(conn, invoice_id, customer_id=customer_id)
    doc = repo.document(conn, inv.id)
    if doc is None:
        raise CloudbillError(ErrorCode.INVALID_STATE, "the invoice has not been issued yet")
    return doc
