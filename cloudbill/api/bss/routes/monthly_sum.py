"""The monthly sum of a billing cycle (ShowCustomerMonthlySum, group 1 of the map): totals and one
line per service and billing mode, each figure rounded once to the currency."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from ....bills import repo as bills_repo
from ....bills import service as bills
from ....bills.model import BREAKDOWN_LINES_MAX, Figures
from ....customers.model import Customer
from ....kernel.errors import CloudbillError, ErrorCode
from ....kernel.money import Money
from ..jsonnum import ExactRoute
from . import bill_filters
from .bill_filters import BillQuery
from .common import (
    CHARGE_MODE,
    MONEY_MEASURE_ID,
    USAGE_BILL_TYPE,
    Caller,
    Limit,
    Offset,
    amount,
    catalog,
    month,
    owner,
    read,
    resource_type_name,
    service_name,
)

# The route's own `service_type_code` query parameter would shadow the function's name.
from .common import service_type_code as huawei_service_code

router = APIRouter(route_class=ExactRoute)


def _rounded_line(f: Figures, cur: str, rounding: Any) -> dict[str, Any]:
    """A monthly-sum line: each figure rounded once; truncated = official - discount - consume,
    so Huawei's identity holds exactly on the printed figures."""
    r = {k: Money(v, cur).round_to_currency(rounding) for k, v in f.units().items()}
    truncated = r["official"] - r["discount"] - r["amount"]
    return {
        "official_amount": r["official"].to_decimal(),
        "official_discount_amount": r["discount"].to_decimal(),
        "truncated_amount": truncated.to_decimal(),
        "consume_amount": r["amount"].to_decimal(),
        "coupon_amount": r["coupon"].to_decimal(),
        "cash_amount": r["cash"].to_decimal(),
        "credit_amount": r["credit"].to_decimal(),
        "debt_amount": r["debt"].to_decimal(),
        "writeoff_amount": amount(0, cur),
        "measure_id": MONEY_MEASURE_ID,
    }


@router.get("/v2/bills/customer-bills/monthly-sum")
def show_customer_monthly_sum(
    request: Request,
    customer: Customer = Caller,
    bill_cycle: str | None = Query(None),
    service_type_code: str | None = Query(None, max_length=128),
    enterprise_project_id: str | None = Query(None, max_length=64),
    offset: int = Offset,
    limit: int = Limit,
    method: str | None = Query(None),
    sub_customer_id: str | None = Query(None, max_length=64),
) -> dict[str, Any]:
    rounding = request.app.state.container.settings.bill_rounding
    query = BillQuery(
        cycle=month(bill_cycle, "bill_cycle"),
        method=method,
        enterprise_project_id=enterprise_project_id,
    )
    cur = customer.currency

    def work(conn, _now):  # type: ignore[no-untyped-def]
        index = catalog(conn)
        q = BillQuery(**{**bill_filters._fields(query), "service_type": service_type_code})
        clauses = bill_filters.where(customer, q, index)
        summary = bills.monthly_summary(conn, customer.id, query.cycle, rounding=rounding)
        dims = ("service", "resource_type", "billing_mode") if service_type_code else None
        rows = []
        if clauses is not None:
            rows = bills_repo.grouped_rows(
                conn, clauses, dims or ("service", "billing_mode"), limit=BREAKDOWN_LINES_MAX + 1
            )
        if len(rows) > BREAKDOWN_LINES_MAX:
            raise CloudbillError(ErrorCode.LIMIT_EXCEEDED, "too many lines in one monthly sum")
        return index, summary, rows

    index, summary, rows = read(request, work)
    lines = []
    for key, figures in rows[offset : offset + limit]:
        service, mode = key[0], key[-1]
        rtype = key[1] if len(key) == 3 else None
        lines.append(
            {
                "bill_cycle": summary.month,
                "service_type_code": huawei_service_code(index, service),
                "service_type_name": service_name(index, service),
                "resource_type_code": rtype,
                "resource_type_name": resource_type_name(index, rtype) if rtype else None,
                "charging_mode": CHARGE_MODE.get(mode),
                "bill_type": USAGE_BILL_TYPE,
                **owner(customer),
                **_rounded_line(figures, cur, rounding),
            }
        )
    total = summary.total
    own = method != "sub_customer"
    return {
        "total_count": len(rows),
        "bill_sums": lines,
        "consume_amount": amount(total["amount"] if own else 0, cur),
        "debt_amount": amount(total["debt"] if own else 0, cur),
        "coupon_amount": amount(total["coupon"] if own else 0, cur),
        "cash_amount": amount(total["cash"] if own else 0, cur),
        "credit_amount": amount(total["credit"] if own else 0, cur),
        "writeoff_amount": amount(0, cur),
        "measure_id": MONEY_MEASURE_ID,
        "currency": cur,
    }
