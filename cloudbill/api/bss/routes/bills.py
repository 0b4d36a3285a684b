"""Resource fee records and resource records detail (group 1 of the map)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from ....bills import repo as bills_repo
from ....bills import service as bills
from ....bills.model import FeeGroup, FeeRecord, Figures, Item
from ....catalog.index import CatalogIndex
from ....customers.model import Customer
from ....kernel.limits import OFFSET_MAX
from ....resources import repo as resources_repo
from ..errors import bad_parameter
from ..jsonnum import ExactRoute
from . import bill_filters
from .bill_filters import BillQuery
from .common import (
    CHARGE_MODE,
    HOUR_PERIOD_TYPE,
    MONEY_MEASURE_ID,
    PAGE_LIMIT_MAX,
    USAGE_BILL_TYPE,
    Caller,
    Limit,
    Offset,
    amount,
    catalog,
    month,
    owner,
    quantity,
    read,
    resource_type_name,
    service_name,
    service_type_code,
    unit_measure_id,
    utc_text,
)

router = APIRouter(route_class=ExactRoute)
BY_CYCLE, BY_DAY, BY_DETAIL = 1, 2, 3  # Huawei statistic types


def _money_fields(f: Figures, cur: str) -> dict[str, Any]:
    return {
        "official_amount": amount(f.official_units, cur),
        "discount_amount": amount(f.discount_units, cur),
        "amount": amount(f.amount_units, cur),
        "cash_amount": amount(f.cash_units, cur),
        "credit_amount": amount(f.credit_units, cur),
        "coupon_amount": amount(f.coupon_units, cur),
        "debt_amount": amount(f.debt_units, cur),
        "adjustment_amount": amount(0, cur),
        "measure_id": MONEY_MEASURE_ID,
    }


def _item_fields(index: CatalogIndex, item: Item) -> dict[str, Any]:
    return {
        "region": item.region,
        "cloud_service_type": service_type_code(index, item.service),
        "cloud_service_type_name": service_name(index, item.service),
        "resource_type_name": resource_type_name(index, item.resource_type),
        "sku_code": item.spec,
        "product_spec_desc": item.spec,
        "usage_type": item.usage_type,
    }


@dataclass(frozen=True)
class RecordsPage:
    index: CatalogIndex
    rows: list[FeeRecord] | list[FeeGroup]
    total: int
    resource_names: dict[str, str]  # of the page's resources, by id


def _records_page(
    request: Request, customer: Customer, q: BillQuery, statistic: int, offset: int, limit: int
) -> RecordsPage:
    if statistic not in (BY_CYCLE, BY_DAY, BY_DETAIL):
        raise bad_parameter("statistic_type must be 1 (cycle), 2 (day) or 3 (detail)")

    def work(conn, _now):  # type: ignore[no-untyped-def]
        index = catalog(conn)
        clauses = bill_filters.where(customer, q, index)
        if clauses is None:
            return RecordsPage(index, [], 0, {})
        if statistic == BY_DETAIL:
            rows, total = bills_repo.fee_records_page(conn, clauses, limit=limit, offset=offset)
        else:
            days = None
            if statistic == BY_DAY:
                _label, period = bills.month_bounds(customer, q.cycle)
                days = bills.day_buckets(customer, period)
            rows, total = bills_repo.fee_groups_page(
                conn, clauses, days, limit=limit, offset=offset
            )
        names = resources_repo.names(conn, customer.id, {r.item.resource_id for r in rows})
        return RecordsPage(index, rows, total, names)

    return read(request, work)


def _record_view(
    page: RecordsPage, customer: Customer, row: FeeRecord | FeeGroup, cycle: str
) -> dict[str, Any]:
    """The common part of ResFeeRecordV2 and MonthlyBillRes for a fee record or a group."""
    if isinstance(row, FeeRecord):
        start, end = row.hour_start, row.hour_start + timedelta(hours=1)
        ident, trade, day = str(row.id), str(row.settlement_id), None
        usage_e10, package_e10 = row.usage_e10, row.package_usage_e10
    else:
        start, end = row.first_hour, row.last_hour + timedelta(hours=1)
        ident = trade = None
        day = row.day.isoformat() if row.day else None
        usage_e10, package_e10 = row.usage_e10, row.package_usage_e10
    index = page.index
    measure = unit_measure_id(index, row.item.pricing_unit)
    return {
        "cycle": cycle,
        "bill_date": day,
        "bill_type": USAGE_BILL_TYPE,
        **owner(customer),
        **_item_fields(index, row.item),
        "resource_name": page.resource_names.get(row.item.resource_id),
        "effective_time": utc_text(start),
        "expire_time": utc_text(end),
        "consume_time": utc_text(start),
        "trade_id": trade,
        "id": ident,
        "usage": quantity(usage_e10),
        "usage_measure_id": measure,
        "free_resource_usage": quantity(package_e10),
        "free_resource_measure_id": measure,
        **_money_fields(row.figures, row.currency),
    }


@router.get("/v2/bills/customer-bills/res-fee-records")
def list_customerself_resource_records(
    request: Request,
    customer: Customer = Caller,
    cycle: str | None = Query(None),
    cloud_service_type: str | None = Query(None, max_length=128),
    region: str | None = Query(None, max_length=64),
    charge_mode: str | None = Query(None, max_length=8),
    bill_type: int | None = Query(None),
    offset: int = Offset,
    limit: int = Limit,
    resource_id: str | None = Query(None, max_length=128),
    enterprise_project_id: str | None = Query(None, max_length=64),
    include_zero_record: bool | None = Query(None),
    method: str | None = Query(None),
    sub_customer_id: str | None = Query(None, max_length=64),
    trade_id: str | None = Query(None, max_length=64),
    bill_date_begin: str | None = Query(None),
    bill_date_end: str | None = Query(None),
    statistic_type: int = Query(BY_DETAIL),
) -> dict[str, Any]:
    q = BillQuery(
        cycle=month(cycle, "cycle"),
        service_type=cloud_service_type,
        region=region,
        resource_id=resource_id,
        charge_mode=charge_mode,
        bill_type=bill_type,
        method=method,
        date_begin=bill_date_begin,
        date_end=bill_date_end,
        trade_id=trade_id,
        enterprise_project_id=enterprise_project_id,
    )
    page = _records_page(request, customer, q, statistic_type, offset, limit)
    records = []
    for row in page.rows:
        view = _record_view(page, customer, row, q.cycle)
        view.pop("cycle")
        if isinstance(row, FeeRecord):
            view["unit_price"] = row.unit_price
            view["trade_time"] = view["consume_time"]
        view.update(
            resource_id=row.item.resource_id,
            resource_type=row.item.resource_type,
            charge_mode=str(CHARGE_MODE.get(row.item.billing_mode)),
            period_type=str(HOUR_PERIOD_TYPE),
        )
        records.append(view)
    return {"fee_records": records, "total_count": page.total, "currency": customer.currency}


class ResRecordsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")  # reserved fields the SDK may send are ignored
    cycle: str | None = Field(None, max_length=7)
    cloud_service_type: str | None = Field(None, max_length=128)
    resource_type: str | None = Field(None, max_length=128)
    region: str | None = Field(None, max_length=64)
    res_instance_id: str | None = Field(None, max_length=128)
    charge_mode: int | None = None
    bill_type: int | None = None
    enterprise_project_id: str | None = Field(None, max_length=64)
    include_zero_record: bool | None = None
    offset: int = Field(0, ge=0, le=OFFSET_MAX)
    limit: int = Field(10, ge=1, le=PAGE_LIMIT_MAX)
    method: str | None = None
    sub_customer_id: str | None = Field(None, max_length=64)
    statistic_type: int = BY_CYCLE
    query_type: str | None = None
    bill_cycle_begin: str | None = None
    bill_cycle_end: str | None = None
    payer_account_id: str | None = Field(None, max_length=64)


@router.post("/v2/bills/customer-bills/res-records/query")
def list_customerself_resource_record_details(
    request: Request, body: ResRecordsQuery, customer: Customer = Caller
) -> dict[str, Any]:
    if body.query_type not in (None, "", "BILLCYCLE", "DAILY"):
        raise bad_parameter("query_type must be BILLCYCLE or DAILY")
    daily = body.query_type == "DAILY"
    if daily and not (body.bill_cycle_begin and body.bill_cycle_end):
        raise bad_parameter("query_type DAILY needs bill_cycle_begin and bill_cycle_end")
    if body.payer_account_id not in (None, "", customer.id):
        return {"monthly_records": [], "total_count": 0, "currency": customer.currency}
    q = BillQuery(
        cycle=month(body.cycle, "cycle"),
        service_type=body.cloud_service_type,
        resource_type=body.resource_type,
        region=body.region,
        resource_id=body.res_instance_id,
        charge_mode=body.charge_mode,
        bill_type=body.bill_type,
        method=body.method or None,
        date_begin=body.bill_cycle_begin if daily else None,
        date_end=body.bill_cycle_end if daily else None,
        enterprise_project_id=body.enterprise_project_id,
    )
    page = _records_page(request, customer, q, body.statistic_type, body.offset, body.limit)
    records = []
    for row in page.rows:
        view = _record_view(page, customer, row, q.cycle)
        view["consume_amount"] = view.pop("amount")
        view.update(
            res_instance_id=row.item.resource_id,
            resource_Type_code=row.item.resource_type,  # sic: the SDK's wire name
            charge_mode=CHARGE_MODE.get(row.item.billing_mode),
            period_type=HOUR_PERIOD_TYPE,
            payer_account_id=customer.id,
        )
        records.append(view)
    return {"monthly_records": records, "total_count": page.total, "currency": customer.currency}
