"""Customer routes: your invoice information, what you may invoice, New Invoice (request
mode), your invoices and credit memos, cancel, return, and their PDFs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Response

from ...bootstrap import Container
from ..deps import container
from ..keyauth import KeyCaller
from ..shared import invoices as shared
from ..shared.invoices import InvoiceInfo, InvoiceRequest, Reason
from ..shared.params import Limit, Offset
from .auth import caller

router = APIRouter(tags=["invoices"])


@router.get("/invoice-info")
def get_info(me: KeyCaller = Depends(caller), c: Container = Depends(container)) -> Any:
    return shared.get_info(c, me.customer.id)


@router.put("/invoice-info")
def put_info(
    body: InvoiceInfo, me: KeyCaller = Depends(caller), c: Container = Depends(container)
) -> Any:
    """The buyer printed on your invoices; an enterprise title needs its tax id."""
    return shared.put_info(c, me.customer.id, body)


@router.get("/invoices/invoiceable")
def invoiceable(me: KeyCaller = Depends(caller), c: Container = Depends(container)) -> Any:
    """Per order and billing cycle: paid, given back, invoiced, offset and invoiceable; the
    outstanding invoice amount (invoiced money given back, not withdrawable)."""
    return shared.invoiceable(c, me.customer.id)


@router.post("/invoices", status_code=201)
def request(
    body: InvoiceRequest, me: KeyCaller = Depends(caller), c: Container = Depends(container)
) -> Any:
    """New Invoice: the chosen orders and billing cycles, one invoice per tax rate."""
    return shared.request(c, me.customer.id, body)


@router.get("/invoices")
def list_invoices(
    status: str | None = Query(None, examples=["pending_review", "issued"]),
    kind: str | None = Query(None, examples=["invoice", "credit_memo"]),
    limit: int = Limit,
    offset: int = Offset,
    me: KeyCaller = Depends(caller),
    c: Container = Depends(container),
) -> dict[str, Any]:
    return shared.list_invoices(
        c, me.customer.id, status=status, kind=kind, limit=limit, offset=offset
    )


@router.get("/invoices/{invoice_id}")
def show(
    invoice_id: str, me: KeyCaller = Depends(caller), c: Container = Depends(container)
) -> Any:
    return shared.show(c, me.customer.id, invoice_id)


@router.post("/invoices/{invoice_id}/cancel")
def cancel(
    invoice_id: str, me: KeyCaller = Depends(caller), c: Container = Depends(container)
) -> Any:
    """Cancel a request still pending review."""
    return shared.act(c, me.customer.id, invoice_id, "cancel")


@router.post("/invoices/{invoice_id}/return")
def request_return(
    invoice_id: str,
    body: Reason,
    me: KeyCaller = Depends(caller),
    c: Container = Depends(container),
) -> Any:
    """Ask to return an issued invoice (with a reason): return pending until confirmed."""
    return shared.act(c, me.customer.id, invoice_id, "request_return", body.reason)


@router.get("/invoices/{invoice_id}/pdf", response_class=Response)
def pdf(
    invoice_id: str, me: KeyCaller = Depends(caller), c: Container = Depends(container)
) -> Response:
    return shared.pdf(c, me.customer.id, invoice_id)
