"""Invoices (ListInvoices, group 6 of the map): the caller's invoices and credit memos applied
for between start_time and end_time, in Huawei's fields and codes (InvoiceRequestInfoIntl)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from ....customers.model import Customer
from ....invoices import repo as invoice_repo
from ....invoices import service as invoices
from ....invoices.documents import buyer_of
from ....invoices.model import Invoice, Kind, SourceKind, Status
from ....invoices.rules import rate_text, split_tax
from ..errors import ACCESS_DENIED, BssError, bad_parameter
from ..jsonnum import ExactRoute
from .common import Caller, amount, read, utc_instant, utc_text

router = APIRouter(route_class=ExactRoute)
PAGES_MAX = 99_999  # Huawei: offset is a page number, 1-99999
PAGE_SIZE_MAX = 100  # Huawei: limit is a page size, 1-100

# Huawei's invoiceState: 1 pending review, 4 waiting for the invoice file (issuing), 8 done,
# 13 return pending review, 9 returned; a rejected request goes back to the customer as a
# draft (0) with its cancelReason. A cancelled request is gone (not listed).
STATE_CODE = {
    Status.PENDING_REVIEW: 1,
    Status.ISSUING: 4,
    Status.ISSUED: 8,
    Status.REJECTED: 0,
    Status.RETURN_PENDING: 13,
    Status.RETURNED: 9,
}
# tradeType: 8 yearly/monthly online payment, 6 monthly billing, 7 top-up;
# invoiceMethod: 2 by order, 0 by billing cycle, 1 on receipt (top-up).
TRADE_TYPE = {SourceKind.ORDER: 8, SourceKind.CYCLE: 6, SourceKind.TOPUP: 7}
METHOD_CODE = {SourceKind.ORDER: 2, SourceKind.CYCLE: 0, SourceKind.TOPUP: 1}


def _view(inv: Invoice, title_type: int, title: str, email: str | None) -> dict[str, Any]:
    main = max(inv.items, key=lambda i: abs(i.amount_units)).source_kind
    total, _net, tax = split_tax(inv.amount_units, inv.tax_rate, inv.currency)
    mode = "1" if inv.kind is Kind.CREDIT_MEMO else "2" if inv.status is Status.RETURNED else "0"
    cycles = sorted({i.source_id for i in inv.items if i.source_kind is SourceKind.CYCLE})
    return {
        "requestId": inv.id,
        "cancelReason": inv.reason if inv.status is Status.REJECTED else None,
        "titleType": title_type,
        "channelType": 0,
        "invoiceType": 1,  # an ordinary (not special VAT) invoice
        "invoiceTitle": title,
        "invoiceAmount": amount(total, inv.currency),
        "invoiceMethod": METHOD_CODE[main],
        "invoiceClass": 0,  # a tax invoice
        "invoiceState": STATE_CODE[inv.status],
        "applyTime": utc_text(inv.created_at),
        "email": email,
        "requestMode": mode,
        "srcRequestId": inv.corrects_id,
        "invoiceNo": inv.number_text,
        "tradeType": TRADE_TYPE[main],
        "billCycle": ",".join(cycles) or None,
        "taxList": [
            {
                "taxClass": "VAT",
                "taxRate": rate_text(inv.tax_rate),
                "taxAmount": amount(tax, inv.currency),
                "taxVisibleFlag": "Y",
                "taxAccountingFlag": "Y",
            }
        ],
    }


@router.get("/v1.0/{domain_id}/payments/intl-invoices")
def list_invoices(
    request: Request,
    domain_id: str,
    customer: Customer = Caller,
    start_time: str | None = Query(None, max_length=64),
    end_time: str | None = Query(None, max_length=64),
    offset: int | None = Query(None, ge=1, le=PAGES_MAX),
    limit: int | None = Query(None, ge=1, le=PAGE_SIZE_MAX),
) -> dict[str, Any]:
    # The domain in the path is the caller's own, like X-Domain-Id: any other one (another
    # customer's or none at all) is refused the same way, so nothing tells them apart.
    if domain_id != customer.id:
        raise BssError(403, ACCESS_DENIED, "the domain in the path is not the caller's")
    # Huawei requires all four.
    start = utc_instant(start_time, "start_time")
    end = utc_instant(end_time, "end_time")
    if start is None or end is None or offset is None or limit is None:
        raise bad_parameter("start_time, end_time, offset (page number) and limit are required")
    if end < start:
        raise bad_parameter("end_time is before start_time")

    def work(conn, _now):  # type: ignore[no-untyped-def]
        rows, total = invoices.list_invoices(
            conn, customer_id=customer.id, created_from=start, created_to=end,
            exclude_status=str(Status.CANCELLED), limit=limit, offset=(offset - 1) * limit,
        )  # fmt: skip
        profile = invoice_repo.get_profile(conn, customer.id)
        # An issued document's buyer is what it printed; one not issued yet shows the
        # invoice information as it stands.
        printed = {i.id: invoice_repo.document(conn, i.id) for i in rows}
        return rows, total, profile, printed

    rows, total, profile, printed = read(request, work)
    current = buyer_of(customer, profile)
    views = []
    for inv in rows:
        doc = printed.get(inv.id)
        buyer = doc.get("buyer", current) if doc else current
        title_type = 1 if buyer.get("title_type") == "enterprise" else 0
        email = buyer.get("email") or customer.email
        views.append(_view(inv, title_type, buyer.get("title") or customer.name, email))
    return {"count": total, "invoices": views}
