"""Bills: the month's summary by service, billing mode and bill type; fee records with filters
and paging; the CSV export; post-paid bills with their due dates."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from ...api.shared.accounts import postpaid_bills
from ...api.shared.bills import FeeFilters, export_csv, fee_records, monthly_summary
from ...api.shared.params import Offset
from ...bills.model import Granularity
from ...bootstrap import Container
from ...kernel.limits import PAGE_SIZE_DEFAULT
from ...kernel.periods import zone
from ..web import Page, SignedIn, container_of, render, signed_in
from .common import account_of

router = APIRouter()
BILLING_MODES = ("pay_per_use", "yearly_monthly")


def _this_month(c: Container, tz: str) -> str:
    return c.now().astimezone(zone(tz)).strftime("%Y-%m")


def _months_before(month: str, count: int) -> list[str]:
    year, mon = (int(p) for p in month.split("-"))
    shown = []
    for _ in range(count):
        shown.append(f"{year:04d}-{mon:02d}")
        year, mon = (year, mon - 1) if mon > 1 else (year - 1, 12)
    return shown


@router.get("/bills", response_class=HTMLResponse)
def bill_summary(
    request: Request, month: str = "", member_id: str = "", who: SignedIn = Depends(signed_in)
) -> Response:
    """An enterprise master's bill holds its unified members' records (a Member breakdown);
    `member_id` shows one member's own (bills.service.viewed)."""
    c = container_of(request)
    account = account_of(c, who)
    chosen = month or _this_month(c, account["tz"])
    summary = monthly_summary(c, who.customer_id, chosen, member_id or None)
    page = Page(request, who, "Bills", nav="bills")
    return render(
        request,
        "bills.html",
        page,
        summary=summary,
        month=chosen,
        months=_months_before(_this_month(c, account["tz"]), 18),
        member_id=member_id,
        **account,
    )


@router.get("/bills/{month}/export.csv")
def bill_export(
    request: Request, month: str, member_id: str = "", who: SignedIn = Depends(signed_in)
) -> Response:
    """The month's fee records as CSV, streamed (the customer API's export, the same file)."""
    return export_csv(container_of(request), who.customer_id, month, member_id or None)


@router.get("/bills/fees", response_class=HTMLResponse)
def fee_list(
    request: Request,
    month: str = "",
    service: str = "",
    billing_mode: str = "",
    resource_id: str = "",
    granularity: str = Granularity.HOUR.value,
    offset: int = Offset,
    member_id: str = "",
    who: SignedIn = Depends(signed_in),
) -> Response:
    c = container_of(request)
    account = account_of(c, who)
    chosen = month or _this_month(c, account["tz"])
    filters = FeeFilters(
        chosen,
        None,
        None,
        resource_id or None,
        service or None,
        None,
        billing_mode or None,
        None,
        granularity,
        PAGE_SIZE_DEFAULT,
        offset,
        member_id or None,
    )
    records = fee_records(c, who.customer_id, filters)
    # The member column: an enterprise master's list holds its members' records too.
    show_member = bool(member_id) or any(
        r["customer_id"] != who.customer_id for r in records["items"]
    )
    page = Page(request, who, "Fee records", nav="bills")
    return render(
        request,
        "fees.html",
        page,
        records=records,
        month=chosen,
        service=service,
        billing_mode=billing_mode,
        resource_id=resource_id,
        granularity=granularity,
        member_id=member_id,
        show_member=show_member,
        granularities=[g.value for g in Granularity],
        billing_modes=BILLING_MODES,
        offset=offset,
        limit=PAGE_SIZE_DEFAULT,
        **account,
    )


@router.get("/bills/postpaid", response_class=HTMLResponse)
def postpaid(request: Request, who: SignedIn = Depends(signed_in)) -> Response:
    c = container_of(request)
    bills = postpaid_bills(c, who.customer_id)
    page = Page(request, who, "Unpaid bills", nav="bills")
    return render(request, "postpaid_bills.html", page, bills=bills["bills"], **account_of(c, who))
