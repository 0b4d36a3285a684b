"""`cloudbill invoice …`: invoice information, invoiceable amounts, requests, review, returns,
documents and PDFs — the operator's tools (the customer's own are the API and the console)."""

from __future__ import annotations

from pathlib import Path

import typer

from ..invoices import service
from ..invoices.model import Terms
from ..invoices.pdf import render_pdf
from ..invoices.views import figures_view, invoice_view, profile_view
from ..kernel.limits import PAGE_SIZE_DEFAULT
from ..worker.jobs import invoices_due
from .context import container, customer_ref
from .output import JsonOption, emit_json, errors_as_lines, show_record, show_rows

app = typer.Typer(
    help="Invoices and credit memos: review, issue, return, print.", no_args_is_help=True
)

COLUMNS = ("id", "customer_id", "kind", "status", "number", "amount", "currency", "tax_rate")
SOURCE_COLUMNS = ("kind", "id", "tax_rate", "paid", "refunded", "invoiced", "offset", "invoiceable")


def _terms() -> Terms:
    return Terms.from_settings(container().settings)


@app.command("info")
def info(
    customer: str = typer.Argument(..., help="a customer id or name", callback=customer_ref),
    title_type: str | None = typer.Option(None, help="personal or enterprise (to set it)"),
    title: str | None = typer.Option(None, help="the invoice title"),
    tax_id: str | None = typer.Option(None, help="required for an enterprise"),
    email: str | None = typer.Option(None),
    address: str | None = typer.Option(None),
    as_json: bool = JsonOption,
) -> None:
    """Show a customer's invoice information, or set it with --title-type and --title."""
    data = {
        "title_type": title_type,
        "title": title,
        "tax_id": tax_id,
        "email": email,
        "address": address,
    }
    with errors_as_lines():
        if title_type is None and title is None:
            found = container().read(lambda conn, _now: service.get_profile(conn, customer))
        else:
            found = container().write(
                lambda conn, now: service.set_profile(conn, customer, data, now=now)
            )
    show_record(profile_view(found) or {"invoice_info": "none"}, as_json=as_json)


@app.command("invoiceable")
def invoiceable(
    customer: str = typer.Argument(..., help="a customer id or name", callback=customer_ref),
    as_json: bool = JsonOption,
) -> None:
    """Per order and billing cycle: paid, given back, invoiced, offset, invoiceable."""
    terms = _terms()
    with errors_as_lines():
        figs = container().read(
            lambda conn, now: service.customer_figures(conn, customer, terms, now=now)
        )
    view = figures_view(figs)
    if as_json:
        emit_json(view)
        return
    show_rows(view["sources"], SOURCE_COLUMNS, as_json=False)
    totals = {k: view[k] for k in ("net_paid", "invoiced", "outstanding", "invoiceable")}
    show_record({**totals, "currency": view["currency"]}, as_json=False)


@app.command("request")
def request(
    customer: str = typer.Argument(..., help="a customer id or name", callback=customer_ref),
    order: list[str] = typer.Option([], "--order", help="an order id (repeatable)"),
    cycle: list[str] = typer.Option([], "--cycle", help="a billing cycle YYYY-MM (repeatable)"),
    topup: list[str] = typer.Option([], "--topup", help="a top-up (invoice on top-up mode)"),
    reference: str = typer.Option(..., help="idempotency key of the request"),
    as_json: bool = JsonOption,
) -> None:
    """New Invoice for a customer: one invoice per tax rate, pending review."""
    chosen = [
        {"kind": k, "id": i}
        for k, ids in (("order", order), ("cycle", cycle), ("topup", topup))
        for i in ids
    ]
    terms = _terms()
    with errors_as_lines():
        made = container().write(
            lambda conn, now: service.request(
                conn, customer, chosen, terms, reference=reference, now=now
            )
        )
    show_rows([invoice_view(i) for i in made], COLUMNS, as_json=as_json)


@app.command("list")
def list_invoices(
    customer: str | None = typer.Option(None, help="a customer id or name", callback=customer_ref),
    status: str | None = typer.Option(None, help="pending_review, issuing, issued, rejected …"),
    kind: str | None = typer.Option(None, help="invoice or credit_memo"),
    limit: int = typer.Option(PAGE_SIZE_DEFAULT, help="rows per page"),
    offset: int = typer.Option(0, help="rows to skip"),
    as_json: bool = JsonOption,
) -> None:
    """Invoices and credit memos, newest first."""
    with errors_as_lines():
        rows, total = container().read(
            lambda conn, _now: service.list_invoices(
                conn, customer_id=customer, status=status, kind=kind, limit=limit, offset=offset
            )
        )
    show_rows([invoice_view(i) for i in rows], COLUMNS, as_json=as_json, total=total)


@app.command("show")
def show(invoice_id: str, as_json: bool = JsonOption) -> None:
    """One invoice, with its document once issued."""

    def work(conn, _now):  # type: ignore[no-untyped-def]
        inv = service.get(conn, invoice_id)
        return invoice_view(inv), service.document(conn, inv.id) if inv.number else None

    with errors_as_lines():
        view, doc = container().read(work)
    show_record({**view, "document": doc} if as_json else view, as_json=as_json)


def _act(invoice_id: str, action: str, reason: str | None, as_json: bool) -> None:
    terms = _terms()
    with errors_as_lines():
        done = container().write(
            lambda conn, now: service.act(conn, invoice_id, action, terms, now=now, reason=reason)
        )
    show_record(invoice_view(done), as_json=as_json)


@app.command("start")
def start(invoice_id: str, as_json: bool = JsonOption) -> None:
    """Pending review -> issuing."""
    _act(invoice_id, "start", None, as_json)


@app.command("issue")
def issue(invoice_id: str, as_json: bool = JsonOption) -> None:
    """Number it and write its document."""
    _act(invoice_id, "issue", None, as_json)


@app.command("reject")
def reject(invoice_id: str, reason: str = typer.Option(...), as_json: bool = JsonOption) -> None:
    """Refuse a request, with a reason the customer sees."""
    _act(invoice_id, "reject", reason, as_json)


@app.command("cancel")
def cancel(invoice_id: str, as_json: bool = JsonOption) -> None:
    """Cancel a request pending review (for the customer)."""
    _act(invoice_id, "cancel", None, as_json)


@app.command("return")
def return_(invoice_id: str, reason: str = typer.Option(...), as_json: bool = JsonOption) -> None:
    """Ask to return an issued invoice (for the customer): return pending."""
    _act(invoice_id, "request_return", reason, as_json)


@app.command("confirm-return")
def confirm_return(invoice_id: str, as_json: bool = JsonOption) -> None:
    """Return pending -> returned: its money is invoiceable again."""
    _act(invoice_id, "confirm_return", None, as_json)


@app.command("pdf")
def pdf(
    invoice_id: str,
    output: Path = typer.Option(None, "--output", "-o", help="file (default: NUMBER.pdf)"),
) -> None:
    """Write an issued invoice's PDF."""
    c = container()
    with errors_as_lines():
        doc = c.read(lambda conn, _now: service.document(conn, invoice_id))
        body = render_pdf(doc, c.settings.invoice_template, c.settings.invoice_font)
    target = output or Path(f"{doc['number']}.pdf")
    target.write_bytes(body)
    typer.echo(str(target))


@app.command("run")
def run() -> None:
    """Automatic mode: issue the due invoices and credit memos now (the worker's job)."""
    with errors_as_lines():
        made = invoices_due(container())
    typer.echo(f"{made} issued")
