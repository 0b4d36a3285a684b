"""Resource fee records and resource records detail (group 1 of the map): every expenditure
record (hourly fees, order payments and refunds, adjustments) one by one, per day or per cycle."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from ....bills import repo as bills_repo
from ....bills import service as bills
from ....bills.model import FeeGroup, FeeRecord, Figures, Item
from ....catalog.index import CatalogIndex
from ....customers import service as customers
from ....customers.model import Customer
from ....expenditure.model import BillType
from ....kernel.limits import OFFSET_MAX
from ....kernel.periods import zone
from ..errors import bad_parameter
from ..jsonnum import ExactRoute
from . import bill_filters
from .bill_filters import BillQuery
from .common import (
    BILL_TYPE_CODE,
    CHARGE_MODE,
    HOUR_PERIOD_TYPE,
    MONEY_MEASURE_ID,
    ONE_OFF_PERIOD_TYPE,
    PAGE_LIMIT_MAX,
    PERIOD_TYPE,
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


def spec_description(index: CatalogIndex, item: Item) -> str | None:
    """The catalog's name of the spec ('s6.large.2 | 2 vCPUs | 4 GiB'), else its code."""
    ref = index.specs.get((item.resource_type, item.spec))
    return ref.spec.name if ref is not None else (item.spec or None)


def _item_fields(index: CatalogIndex, item: Item) -> dict[str, Any]:
    return {
        "region": item.region or None,
        "cloud_service_type": service_type_code(index, item.service) if item.service else None,
        "cloud_service_type_name": service_name(index, item.service),
        "resource_type_name": resource_type_name(index, item.resource_type),
        "resource_name": item.resource_name or None,
        "sku_code": item.spec or None,
        "product_spec_desc": spec_description(index, item),
        "usage_type": item.usage_type or None,
        "bill_type": BILL_TYPE_CODE[BillType(item.bill_type)],
    }


def _usage_fields(index: CatalogIndex, item: Item, usage_e10: int, package_e10: int):  # type: ignore[no-untyped-def]
    """Usage in the pricing unit (hourly fees), or the periods bought (yearly/monthly)."""
    if item.bill_type == BillType.USAGE:
        measure = unit_measure_id(index, item.pricing_unit)
        return {
            "usage": quantity(usage_e10),
            "usage_measure_id": measure,
            "free_resource_usage": quantity(package_e10),
            "free_resource_measure_id": measure,
            "period_type": HOUR_PERIOD_TYPE,
        }
    return {
        "usage": quantity(usage_e10),
        "free_resource_usage": Decimal(0),
        "period_type": PERIOD_TYPE.get(item.pricing_unit, ONE_OFF_PERIOD_TYPE),
        "period_num": quantity(usage_e10) if item.pricing_unit else None,
    }


@dataclass(frozen=True)
class RecordsPage:
    index: CatalogIndex
    rows: list[FeeRecord] | list[FeeGroup]
    total: int
    # The consumers' names, where an enterprise master's records hold its members'.
    names: dict[str, str] = field(default_factory=dict)


def _records_page(
    request: Request, customer: Customer, q: BillQuery, statistic: int, offset: int, limit: int
) -> RecordsPage:
    if statistic not in (BY_CYCLE, BY_DAY, BY_DETAIL):
        raise bad_parameter("statistic_type must be 1 (cycle), 2 (day) or 3 (detail)")

    def work(conn, _now):  # type: ignore[no-untyped-def]
        index = catalog(conn)
        clauses = bill_filters.where(conn, customer, q, index)
        if clauses is None:
            return RecordsPage(index, [], 0)
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
        others = {r.customer_id for r in rows} - {customer.id, ""}
        names = {cid: customers.get(conn, cid).name for cid in sorted(others)}
        return RecordsPage(index, rows, total, names)

    return read(request, work)


def _local_day(instant: datetime, customer: Customer) -> str:
    return instant.astimezone(zone(customer.timezone)).date().isoformat()


def _owner(page: RecordsPage, customer: Customer, consumer: str) -> dict[str, Any]:
    """The record's customer: the caller, or the enterprise member it paid for."""
    if consumer in page.names:
        return {"customer_id": consumer, "account_name": page.names[consumer]}
    return owner(customer)


def _record_view(
    page: RecordsPage, customer: Customer, row: FeeRecord | FeeGroup, cycle: str
) -> dict[str, Any]:
    """The common part of ResFeeRecordV2 and MonthlyBillRes for a record or a group of them.

    A record's bill date is the local day it is billed on; a group's is its day (by day) or the
    day of its first record (by cycle)."""
    order_id = None
    if isinstance(row, FeeRecord):
        ident = str(row.id)
        trade = row.trade_id or str(row.settlement_id)
        order_id = row.order_id
        day = _local_day(row.hour_start, customer)
        if row.item.bill_type == BillType.USAGE:
            start, end = row.hour_start, row.hour_start + timedelta(hours=1)
        else:
            start, end = row.period_start, row.period_end
        consumed = row.hour_start
    else:
        ident = trade = None
        day = row.day.isoformat() if row.day else _local_day(row.first_hour, customer)
        start, end = row.first_hour, row.last_hour
        if row.item.bill_type == BillType.USAGE:
            end = row.last_hour + timedelta(hours=1)
        consumed = row.first_hour
    index = page.index
    return {
        "cycle": cycle,
        "bill_date": day,
        **_owner(page, customer, row.customer_id),
        **_item_fields(index, row.item),
        "effective_time": utc_text(start),
        "expire_time": utc_text(end),
        "consume_time": utc_text(consumed),
        "trade_id": trade,
        "order_id": order_id,
        "id": ident,
        **_usage_fields(index, row.item, row.usage_e10, row.package_usage_e10),
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
    trade_id: str | None = Query(None, max_length=128),
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
        include_zero_record=include_zero_record,
        sub_customer_id=sub_customer_id,
    )
    page = _records_page(request, customer, q, statistic_type, offset, limit)
    records = []
    for row in page.rows:
        view = _record_view(page, customer, row, q.cycle)
        view.pop("cycle")
        period_type = view.pop("period_type")
        if isinstance(row, FeeRecord):
            view["unit_price"] = Decimal(row.unit_price) if row.unit_price else None
            view["trade_time"] = utc_text(row.charged_at)
        view.update(
            resource_id=row.item.resource_id or None,
            resource_type=row.item.resource_type or None,
            charge_mode=_charge_mode_text(row.item.billing_mode),
            period_type=str(period_type),
        )
        records.append(view)
    return {"fee_records": records, "total_count": page.total, "currency": customer.currency}


def _charge_mode_text(mode: str) -> str | None:
    code = CHARGE_MODE.get(mode)
    return None if code is None else str(code)


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
        include_zero_record=body.include_zero_record,
        sub_customer_id=body.sub_customer_id or None,
    )
    page = _records_page(request, customer, q, body.statistic_type, body.offset, body.limit)
    records = []
    for row in page.rows:
        view = _record_view(page, customer, row, q.cycle)
        view["consume_amount"] = view.pop("amount")
        view.pop("order_id")
        view.update(
            res_instance_id=row.item.resource_id or None,
            resource_Type_code=row.item.resource_type or None,  # sic: the SDK's wire name
            charge_mode=CHARGE_MODE.get(row.item.billing_mode),
            payer_account_id=customer.id,
        )
        records.append(view)
    return {"monthly_records": records, "total_count": page.total, "currency": customer.currency}
