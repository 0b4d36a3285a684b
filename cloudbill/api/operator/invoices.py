"""Operator routes: invoices of every customer — list, review (start, issue, reject), confirm
returns, PDFs — a customer's invoice information and invoiceable amounts, and the automatic
mode's job run now."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Response

from ...bootstrap import Container
from ...worker.jobs import invoices_due
from ..deps import container, require_operator
from ..shared import invoices as shared
from ..shared.invoices import InvoiceInfo, Reason
from ..shared.params import Limit, Offset

router = APIRouter(tags=["invoices"], dependencies=[Depends(require_operator)])
ANYONE = None


@router.get("/customers/{customer_id}/invoice-info")
def get_info(customer_id: str, c: Container = Depends(container)) -> Any:
    return shared.get_info(c, customer_id)


@router.put("/customers/{customer_id}/invoice-info")
def put_info(customer_id: str, body: InvoiceInfo, c: Container = Depends(container)) -> Any:
    return shared.put_info(c, customer_id, body)


@router.get("/customers/{customer_id}/invoiceable")
def invoiceable(customer_id: str, c: Container = Depends(container)) -> Any:
    return shared.invoiceable(c, customer_id)


@router.get("/invoices")
def list_invoices(
    customer_id: str | None = None,
    status: str | None = Query(None, examples=["pending_review"]),
    kind: str | None = Query(None, examples=["invoice", "credit_memo"]),
    limit: int = Limit,
    offset: int = Offset,
    c: Container = Depends(container),
) -> dict[str, Any]:
    return shared.list_invoices(
        c, customer_id, status=status, kind=kind, limit=limit, offset=offset
    )


@router.post("/invoices/run")
def run_automatic(c: Container = Depends(container)) -> dict[str, Any]:
    """Automatic mode: issue the due invoices and credit memos now (the worker's job)."""
    return {"issued": invoices_due(c)}


@router.get("/invoices/{invoice_id}")
def show(invoice_id: str, c: Container = Depends(container)) -> Any:
    return shared.show(c, ANYONE, invoice_id)


@router.post("/invoices/{invoice_id}/start")
def start(invoice_id: str, c: Container = Depends(container)) -> Any:
    """Pending review -> issuing."""
    return shared.act(c, ANYONE, invoice_id, "start")


@router.post("/invoices/{invoice_id}/issue")
def issue(invoice_id: str, c: Container = Depends(container)) -> Any:
    """Number it and write its document (from pending review or issuing)."""
    return shared.act(c, ANYONE, invoice_id, "issue")


@router.post("/invoices/{invoice_id}/reject")
def reject(invoice_id: str, body: Reason, c: Container = Depends(container)) -> Any:
    """Refuse a request not yet issued, with a reason the customer sees."""
    return shared.act(c, ANYONE, invoice_id, "reject", body.reason)


@router.post("/invoices/{invoice_id}/confirm-return")
def confirm_return(invoice_id: str, c: Container = Depends(container)) -> Any:
    """Return pending -> returned: its money is invoiceable again."""
    return shared.act(c, ANYONE, invoice_id, "confirm_return")


@router.get("/invoices/{invoice_id}/pdf", response_class=Response)
def pdf(invoice_id: str, c: Container = Depends(container)) -> Response:
    return shared.pdf(c, ANYONE, invoice_id)
