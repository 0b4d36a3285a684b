"""Invoices of one customer, or, for the operator, of anyone: the routes of both APIs call
these. `owner` scopes a lookup by id: another customer's invoice answers as one that does not
exist."""

from __future__ import annotations

from typing import Any

from fastapi import Response
from pydantic import BaseModel, ConfigDict, Field

from ...bootstrap import Container
from ...invoices import service
from ...invoices.model import Terms
from ...invoices.pdf import render_pdf
from ...invoices.views import figures_view, invoice_view, profile_view


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InvoiceInfo(_Body):
    title_type: str = Field(examples=["enterprise", "personal"])
    title: str = Field(max_length=200)
    tax_id: str | None = Field(None, max_length=64)
    email: str | None = Field(None, max_length=254)
    address: str | None = Field(None, max_length=512)


class Selection(_Body):
    kind: str = Field(examples=["order", "cycle"])
    id: str = Field(max_length=64, description="an order id, or a billing cycle YYYY-MM")


class InvoiceRequest(_Body):
    items: list[Selection] = Field(min_length=1, max_length=service.SELECTIONS_MAX)
    reference: str = Field(max_length=128, description="idempotency key of the request")


class Reason(_Body):
    reason: str | None = Field(None, max_length=512)


def terms(c: Container) -> Terms:
    return Terms.from_settings(c.settings)


def get_info(c: Container, customer_id: str) -> dict[str, Any]:
    found = c.read(lambda conn, _now: service.get_profile(conn, customer_id))
    return {"invoice_info": profile_view(found)}


def put_info(c: Container, customer_id: str, body: InvoiceInfo) -> dict[str, Any]:
    saved = c.write(
        lambda conn, now: service.set_profile(conn, customer_id, body.model_dump(), now=now)
    )
    return {"invoice_info": profile_view(saved)}


def invoiceable(c: Container, customer_id: str) -> dict[str, Any]:
    t = terms(c)
    figs = c.read(lambda conn, now: service.customer_figures(conn, customer_id, t, now=now))
    return {"mode": str(t.method), **figures_view(figs)}


def request(c: Container, customer_id: str, body: InvoiceRequest) -> dict[str, Any]:
    chosen = [s.model_dump() for s in body.items]
    t = terms(c)
    made = c.write(
        lambda conn, now: service.request(
            conn, customer_id, chosen, t, reference=body.reference, now=now
        )
    )
    return {"invoices": [invoice_view(i) for i in made]}


def list_invoices(
    c: Container,
    owner: str | None,
    *,
    status: str | None,
    kind: str | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    rows, total = c.read(
        lambda conn, _now: service.list_invoices(
            conn, customer_id=owner, status=status, kind=kind, limit=limit, offset=offset
        )
    )
    return {"total": total, "invoices": [invoice_view(i) for i in rows]}


def show(c: Container, owner: str | None, invoice_id: str) -> dict[str, Any]:
    def read(conn, _now):  # type: ignore[no-untyped-def]
        inv = service.get(conn, invoice_id, customer_id=owner)
        return inv, service.document(conn, inv.id, customer_id=owner) if inv.number else None

    inv, doc = c.read(read)
    return {**invoice_view(inv), "document": doc}


def act(
    c: Container, owner: str | None, invoice_id: str, action: str, reason: str | None = None
) -> dict[str, Any]:
    t = terms(c)
    done = c.write(
        lambda conn, now: service.act(
            conn, invoice_id, action, t, now=now, customer_id=owner, reason=reason
        )
    )
    return invoice_view(done)


def pdf(c: Container, owner: str | None, invoice_id: str) -> Response:
    doc = c.read(lambda conn, _now: service.document(conn, invoice_id, customer_id=owner))
    body = render_pdf(doc, c.settings.invoice_template, c.settings.invoice_font)
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{doc["number"]}.pdf"'},
    )
