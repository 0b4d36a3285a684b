"""The filters Huawei's bill queries take, turned into WHERE clauses over the caller's own fee
records (bills/repo.scope starts with the customer, so no filter reaches another customer)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, and_, or_
from sqlalchemy.sql import ColumnElement

from ....bills import repo as bills_repo
from ....bills import service as bills
from ....catalog.index import CatalogIndex
from ....customers.model import Customer
from ....kernel.periods import Period, zone
from ....store.schema import fee_record
from ..errors import bad_parameter
from .common import CHARGE_MODE, bill_types_of_code, service_of_type_code

METHODS = ("oneself", "sub_customer", "all")
DEFAULT_PROJECT = "0"


@dataclass(frozen=True, slots=True)
class BillQuery:
    cycle: str
    service_type: str | None = None
    resource_type: str | None = None
    region: str | None = None
    resource_id: str | None = None
    charge_mode: str | int | None = None
    bill_type: int | None = None
    method: str | None = None
    date_begin: str | None = None
    date_end: str | None = None
    trade_id: str | None = None
    enterprise_project_id: str | None = None
    include_zero_record: bool | None = None
    sub_customer_id: str | None = None  # one enterprise member's records (with its master's)


def _local_day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise bad_parameter(f"{name} must be YYYY-MM-DD") from None


def _day_range(customer: Customer, q: BillQuery, month: Period) -> Period | None:
    """[begin, end] local days, both in the cycle's month (Huawei's rule)."""
    if not (q.date_begin and q.date_end):
        return None  # Huawei: without both, only the cycle counts
    begin = _local_day(q.date_begin, "bill_date_begin")
    end = _local_day(q.date_end, "bill_date_end")
    if end < begin or begin.strftime("%Y-%m") != q.cycle or end.strftime("%Y-%m") != q.cycle:
        raise bad_parameter("bill dates must be in the cycle's month, begin <= end")
    tz = zone(customer.timezone)
    start = datetime(begin.year, begin.month, begin.day, tzinfo=tz)
    after = end + timedelta(days=1)
    stop = datetime(after.year, after.month, after.day, tzinfo=tz)
    return Period(max(start, month.start), min(stop, month.end))


def where(
    conn: Connection, customer: Customer, q: BillQuery, index: CatalogIndex
) -> list[ColumnElement[bool]] | None:
    """The WHERE of the query, or None when it can match nothing cloudbill keeps (a bill type
    cloudbill does not bill, another charging mode, no enterprise sub-customer, an unknown
    service). `method`: oneself (the caller's own records), sub_customer (those it paid for
    its active unified members: enterprise/), all or none (both: an enterprise master's
    consolidated bill, bills.service.viewed)."""
    if q.method is not None and q.method not in METHODS:
        raise bad_parameter(f"method must be one of {', '.join(METHODS)}")
    cycle, month = bills.month_bounds(customer, q.cycle)
    q = BillQuery(**{**_fields(q), "cycle": cycle})
    days = _day_range(customer, q, month)
    members = () if q.method == "oneself" else bills.viewed(conn, customer)[1]
    if q.method == "sub_customer" and not members:
        return None  # no enterprise member paid for by this customer
    bill_types = None
    if q.bill_type is not None:
        bill_types = bill_types_of_code(q.bill_type)
        if not bill_types:
            return None  # e.g. taxes or savings plans: cloudbill bills none
    if q.enterprise_project_id not in (None, DEFAULT_PROJECT):
        return None  # cloudbill keeps every record in Huawei's "default" project
    clauses = bills_repo.scope(customer.id, days or month, members=members, bill_types=bill_types)
    if q.method == "sub_customer":
        clauses.append(fee_record.c.customer_id.in_(list(members)))
    if q.sub_customer_id:
        if q.sub_customer_id not in members:
            return None  # not a member it pays for: answered as an unknown one
        clauses.append(fee_record.c.customer_id == q.sub_customer_id)
    if q.charge_mode is not None:
        modes = [m for m, code in CHARGE_MODE.items() if str(code) == str(q.charge_mode)]
        if not modes:
            return None
        clauses.append(fee_record.c.billing_mode == modes[0])
    if q.service_type is not None:
        service = service_of_type_code(index, q.service_type)
        if service is None:
            return None
        clauses.append(fee_record.c.service == service)
    for column, value in (
        ("resource_type", q.resource_type),
        ("region", q.region),
        ("resource_id", q.resource_id),
    ):
        if value is not None:
            clauses.append(fee_record.c[column] == value)
    if q.trade_id is not None:
        clauses.append(trade_clause(q.trade_id))
    if q.include_zero_record is False:
        clauses.append(fee_record.c.amount_units != 0)
    return clauses


def trade_clause(trade_id: str) -> ColumnElement[bool]:
    """Records of a trade: an order or an adjustment by its id, an hourly fee by its settlement
    run (the deduction that paid it)."""
    f = fee_record.c
    if trade_id.isdigit() and len(trade_id) <= 18:
        return or_(
            f.trade_id == trade_id, and_(f.trade_id.is_(None), f.settlement_id == int(trade_id))
        )
    return f.trade_id == trade_id


def _fields(q: BillQuery) -> dict[str, object]:
    return {name: getattr(q, name) for name in BillQuery.__dataclass_fields__}
