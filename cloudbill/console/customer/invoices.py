"""Invoices: the invoice information, what may be invoiced per order and billing cycle,
New Invoice (request mode), the account's invoices and credit memos — cancel a pending request,
ask to return an issued invoice, download its PDF."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from ...api.shared import invoices as shared
from ...api.shared.params import Offset
from ...invoices import service as invoices
from ...kernel.errors import CloudbillError, ErrorCode
from ...kernel.limits import PAGE_SIZE_DEFAULT
from ..web import (
    Page,
    Shown,
    SignedIn,
    _,
    acting,
    after,
    apply_form,
    container_of,
    done_redirect,
    render,
    signed_in,
)
from .common import account_of

router = APIRouter()
LOOKUP_FAILURES = (ErrorCode.INVOICE_NOT_FOUND, ErrorCode.NOT_FOUND)


def _page(request: Request, who: SignedIn, offset: int, shown: Shown) -> HTMLResponse:
    c = container_of(request)
    page = Page(request, who, "Invoices", nav="invoices", shown=shown)
    listed = shared.list_invoices(
        c, who.customer_id, status=None, kind=None, limit=PAGE_SIZE_DEFAULT, offset=offset
    )
    return render(
        request,
        "invoices.html",
        page,
        figures=shared.invoiceable(c, who.customer_id),
        info=shared.get_info(c, who.customer_id)["invoice_info"],
        invoices=listed,
        offset=offset,
        limit=PAGE_SIZE_DEFAULT,
        **account_of(c, who),
    )


@router.get("/invoices", response_class=HTMLResponse)
def invoice_list(
    request: Request,
    offset: int = Offset,
    done: str | None = None,
    who: SignedIn = Depends(signed_in),
) -> Response:
    return _page(request, who, offset, after(container_of(request), who, done))


@router.post("/invoices/info")
def set_info(
    request: Request,
    form_key: str = Form("", max_length=64),
    title_type: str = Form("", max_length=16),
    title: str = Form("", max_length=200),
    tax_id: str = Form("", max_length=64),
    email: str = Form("", max_length=254),
    address: str = Form("", max_length=512),
    who: SignedIn = Depends(acting),
) -> Response:
    data = {
        "title_type": title_type,
        "title": title,
        "tax_id": tax_id,
        "email": email,
        "address": address,
    }

    def action(conn, now):  # type: ignore[no-untyped-def]
        invoices.set_profile(conn, who.customer_id, data, now=now)
        return _(request, "Invoice information saved")

    try:
        apply_form(container_of(request), who, form_key, action)
    except CloudbillError as error:
        return _page(request, who, 0, Shown.refused(error, "info", **data))
    return done_redirect(request, "/invoices", form_key)


@router.post("/invoices/new")
def new_invoice(
    request: Request,
    form_key: str = Form("", max_length=64),
    source: list[str] = Form([], max_length=invoices.SELECTIONS_MAX),
    who: SignedIn = Depends(acting),
) -> Response:
    """New Invoice: each checked order or billing cycle ("kind:id"), one invoice a tax rate."""
    chosen = [dict(zip(("kind", "id"), s.split(":", 1), strict=False)) for s in source]
    terms = shared.terms(container_of(request))

    def action(conn, now):  # type: ignore[no-untyped-def]
        made = invoices.request(
            conn, who.customer_id, chosen, terms, reference=f"console-{form_key}", now=now
        )
        return _(request, "Invoice requested") + ": " + ", ".join(i.id for i in made)

    try:
        apply_form(container_of(request), who, form_key, action)
    except CloudbillError as error:
        return _page(request, who, 0, Shown.refused(error, "new", sources=list(source)))
    return done_redirect(request, "/invoices", form_key)


def _act(
    request: Request,
    who: SignedIn,
    form_key: str,
    invoice_id: str,
    verb: str,
    reason: str | None,
    message: str,
) -> Response:
    terms = shared.terms(container_of(request))

    def action(conn, now):  # type: ignore[no-untyped-def]
        invoices.act(
            conn, invoice_id, verb, terms, now=now, customer_id=who.customer_id, reason=reason
        )
        return _(request, message) + f": {invoice_id}"

    try:
        apply_form(container_of(request), who, form_key, action)
    except CloudbillError as error:
        if error.code in LOOKUP_FAILURES:
            raise
        return _page(request, who, 0, Shown.refused(error, f"invoice-{invoice_id}"))
    return done_redirect(request, "/invoices", form_key)


@router.post("/invoices/{invoice_id}/cancel")
def cancel(
    request: Request,
    invoice_id: str,
    form_key: str = Form("", max_length=64),
    who: SignedIn = Depends(acting),
) -> Response:
    return _act(request, who, form_key, invoice_id, "cancel", None, "Invoice request cancelled")


@router.post("/invoices/{invoice_id}/return")
def request_return(
    request: Request,
    invoice_id: str,
    form_key: str = Form("", max_length=64),
    reason: str = Form("", max_length=512),
    who: SignedIn = Depends(acting),
) -> Response:
    return _act(
        request,
        who,
        form_key,
        invoice_id,
        "request_return",
        reason.strip() or None,
        "Return requested",
    )


@router.get("/invoices/{invoice_id}/pdf")
def pdf(request: Request, invoice_id: str, who: SignedIn = Depends(signed_in)) -> Response:
    return shared.pdf(container_of(request), who.customer_id, invoice_id)
