"""The paid money a customer may invoice, loaded and decided: per order, per billed month
(billing cycle) or, in the "invoice on top-up" mode, per top-up."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import Connection

from ..bills.rules import month_text
from ..catalog import service as catalog_service
from ..customers.model import Customer, PaymentMode
from ..kernel.periods import add_months, month_of, month_period
from ..orders.rules import split_exact
from . import repo
from .model import Figures, Method, Piece, SourceKey, SourceKind, Terms
from .rules import invoice_figures, tax_rate

MONTHS_MAX = 240  # twenty years of billing cycles a customer at most


def _billed_until(conn: Connection, customer: Customer, now: datetime) -> datetime:
    """A month's pay-per-use fees are invoiceable once it is billed: a prepaid month when it
    ends, a post-paid month once a post-paid bill covering its end was issued."""
    year, month = month_of(now, customer.timezone)
    month_start = month_period(year, month, customer.timezone).start
    if customer.payment_mode is not PaymentMode.POSTPAID:
        return month_start
    bill_end = repo.last_postpaid_bill_end(conn, customer.id)
    return min(month_start, bill_end) if bill_end is not None else datetime.min.replace(tzinfo=UTC)


def billed_months(
    conn: Connection, customer: Customer, now: datetime
) -> list[tuple[str, datetime]]:
    """(label, first instant) of the months from the first usage up to the last billed one."""
    first = repo.first_usage_at(conn, customer.id)
    if first is None:
        return []
    until = _billed_until(conn, customer, now)
    year, month = month_of(first, customer.timezone)
    months = []
    for n in range(MONTHS_MAX):
        start_date = add_months(date(year, month, 1), n)
        period = month_period(start_date.year, start_date.month, customer.timezone)
        if period.end > until:
            break
        months.append((month_text(start_date.year, start_date.month), period.start))
    return months


def pieces(conn: Connection, customer: Customer, terms: Terms, now: datetime) -> list[Piece]:
    cur, rates = customer.currency, {**terms.tax_rates, **catalog_tax_rates(conn)}
    if terms.on_topup:
        return [
            Piece(SourceKind.TOPUP, str(r.id), tax_rate(rates, "", cur, ""), "", r.at, int(r.units))
            for r in repo.topup_rows(conn, customer.id, cur)
            if r.at <= now
        ]
    out = [
        Piece(
            SourceKind.ORDER,
            r.trade_id,
            tax_rate(rates, r.service, cur, r.region),
            r.resource_id,
            r.at,
            int(r.units),
        )
        for r in repo.order_rows(conn, customer.id)
        if int(r.units or 0)
    ]
    months = billed_months(conn, customer, now)
    if months:
        year, month = (int(x) for x in months[-1][0].split("-"))
        end = month_period(year, month, customer.timezone).end
        starts = dict(months)
        for r in repo.cycle_rows(conn, customer.id, months, end):
            if int(r.units or 0):
                rate = tax_rate(rates, r.service, cur, r.region)
                out.append(
                    Piece(SourceKind.CYCLE, r.month, rate, "", starts[r.month], int(r.units))
                )
        out += _repaid_debt(conn, customer, months, end, rates)
    return out


def _repaid_debt(conn, customer, months, end, rates) -> list[Piece]:  # type: ignore[no-untyped-def]
    """Fees that went to debt and were paid off since count as paid in their month: the money
    the customer's top-ups paid to debt, oldest month first (as a repayment writes off debt),
    shared within a month over its services and regions by their debt."""
    repaid = repo.debt_repaid_units(conn, customer.id)
    if not repaid:
        return []
    starts, out = dict(months), []
    rows = sorted(repo.cycle_debt_rows(conn, customer.id, months, end), key=lambda r: r.month)
    for month in sorted({r.month for r in rows}):
        of_month = [r for r in rows if r.month == month]
        debt = sum(int(r.units) for r in of_month)
        paid = min(repaid, debt)
        repaid -= paid
        shares = split_exact(paid, {i: int(r.units) for i, r in enumerate(of_month)}, step=1)
        for i, r in enumerate(of_month):
            if shares[i]:
                rate = tax_rate(rates, r.service, customer.currency, r.region)
                out.append(Piece(SourceKind.CYCLE, month, rate, "", starts[month], shares[i]))
        if not repaid:
            break
    return out


def invoiced(conn: Connection, customer_id: str) -> dict[SourceKey, int]:
    return {
        (SourceKind(r.source_kind), r.source_id, Decimal(r.tax_rate)): int(r.units)
        for r in repo.invoiced(conn, customer_id)
    }


def figures(conn: Connection, customer: Customer, terms: Terms, *, now: datetime) -> Figures:
    return invoice_figures(
        customer.currency,
        pieces(conn, customer, terms, now),
        invoiced(conn, customer.id),
        offset=terms.method is Method.REQUEST,
    )


def catalog_tax_rates(conn: Connection) -> dict[tuple[str, str, str], Decimal]:
    """The active catalog's tax rates as (service, currency, region) -> rate ("": any); they
    take precedence over CLOUDBILL_INVOICE_TAX_RATES for the same key."""
    return {
        (t.service or "", t.currency, t.region or ""): t.rate
        for t in catalog_service.active(conn).document.tax_rates
    }
