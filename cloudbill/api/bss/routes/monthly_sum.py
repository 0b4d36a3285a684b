"""The monthly sum of a billing cycle (ShowCustomerMonthlySum, group 1 of the map): one line per
service (per resource type when a service is named), charging mode and bill type (consumption,
refund, adjustment), and totals.

Huawei's answer carries no rounding line: its lines add up to its totals, and each line says what
rounding took off it (`truncated_amount`, so official - discount - truncated = consume). The
totals are the bill's (each figure rounded once, as `cloudbill bill summary` prints them); the
lines are rounded so that they add up to them (bills/rules.allocate_rounded).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from ....bills import repo as bills_repo
from ....bills import rules as bill_rules
from ....bills.model import BREAKDOWN_LINES_MAX, Figures
from ....customers.model import Customer
from ....expenditure.model import CATEGORY, BillType
from ....kernel.errors import CloudbillError, ErrorCode
from ..jsonnum import ExactRoute
from . import bill_filters
from .bill_filters import BillQuery
from .common import (
    CATEGORY_CODE,
    CHARGE_MODE,
    MONEY_MEASURE_ID,
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
LINE_DIMENSIONS = ("service", "resource_type", "billing_mode", "bill_type")
SERVICE_DIMENSIONS = ("service", "billing_mode", "bill_type")
ROWS_MAX = BREAKDOWN_LINES_MAX * len(BillType)  # before bill types fold into Huawei's three


def _line_money(r: dict[str, int], cur: str) -> dict[str, Any]:
    return {
        "official_amount": amount(r["official"], cur),
        "official_discount_amount": amount(r["discount"], cur),
        "truncated_amount": amount(r["official"] - r["discount"] - r["amount"], cur),
        "consume_amount": amount(r["amount"], cur),
        "coupon_amount": amount(r["coupon"], cur),
        "cash_amount": amount(r["cash"], cur),
        "credit_amount": amount(r["credit"], cur),
        "debt_amount": amount(r["debt"], cur),
        "writeoff_amount": amount(0, cur),
        "measure_id": MONEY_MEASURE_ID,
    }


def _by_category(
    rows: list[tuple[tuple[str, ...], Figures]],
) -> list[tuple[tuple[str, str, str, int], Figures]]:
    """Lines per service, resource type ('' when grouped per service), mode and Huawei bill
    type (cloudbill's bill types folded into Huawei's three)."""
    folded: dict[tuple[str, str, str, int], list[Figures]] = {}
    for key, figures in rows:
        service, rtype, mode, bill_type = key if len(key) == 4 else (key[0], "", *key[1:])
        code = CATEGORY_CODE[CATEGORY[BillType(bill_type)]]
        folded.setdefault((service, rtype, mode, code), []).append(figures)
    return [(key, bill_rules.add_figures(parts)) for key, parts in sorted(folded.items())]


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
        service_type=service_type_code,
        method=method,
        enterprise_project_id=enterprise_project_id,
        sub_customer_id=sub_customer_id,
    )
    cur = customer.currency

    def work(conn, _now):  # type: ignore[no-untyped-def]
        index = catalog(conn)
        clauses = bill_filters.where(conn, customer, query, index)
        if clauses is None:
            return index, [], Figures()
        # Huawei: per service; with a service named, per resource type of that service.
        dims = LINE_DIMENSIONS if service_type_code else SERVICE_DIMENSIONS
        rows = bills_repo.grouped_rows(conn, clauses, dims, limit=ROWS_MAX + 1)
        if len(rows) > ROWS_MAX:
            raise CloudbillError(ErrorCode.LIMIT_EXCEEDED, "too many lines in one monthly sum")
        exact, _count, _currencies = bills_repo.totals(conn, clauses)
        return index, _by_category(rows), exact

    index, lines, exact = read(request, work)
    if len(lines) > BREAKDOWN_LINES_MAX:
        raise CloudbillError(ErrorCode.LIMIT_EXCEEDED, "too many lines in one monthly sum")
    total = bill_rules.round_figures(exact, cur, rounding)
    rounded = bill_rules.allocate_rounded([f for _k, f in lines], total, cur, rounding)
    views = []
    for ((service, rtype, mode, code), _figures), money in zip(lines, rounded, strict=True):
        views.append(
            {
                "bill_cycle": query.cycle,
                "service_type_code": huawei_service_code(index, service) if service else None,
                "service_type_name": service_name(index, service),
                "resource_type_code": rtype or None,
                "resource_type_name": resource_type_name(index, rtype) if rtype else None,
                "charging_mode": CHARGE_MODE.get(mode),
                "bill_type": code,
                **owner(customer),
                **_line_money(money, cur),
            }
        )
    return {
        "total_count": len(views),
        "bill_sums": views[offset : offset + limit],
        "consume_amount": amount(total["amount"], cur),
        "debt_amount": amount(total["debt"], cur),
        "coupon_amount": amount(total["coupon"], cur),
        "cash_amount": amount(total["cash"], cur),
        "credit_amount": amount(total["credit"], cur),
        "writeoff_amount": amount(0, cur),
        "measure_id": MONEY_MEASURE_ID,
        "currency": cur,
    }
