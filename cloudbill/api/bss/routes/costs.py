"""Cost analysis, ListCosts (`POST /v4/costs/cost-analysed-bills/query`): the cost engine's
original or amortized costs by day or month, grouped by up to two of Huawei's dimensions, with
Huawei's values (service type codes, charge modes 1/3, record bill types) and amounts as exact
decimal strings, as the SDK's models carry them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from ....catalog.index import CatalogIndex
from ....costs import service as costs
from ....costs.model import CostReport, Dimension, Figure, Filter
from ....customers.model import Customer
from ....kernel.limits import COSTS_FILTER_VALUES_MAX
from ..errors import bad_parameter
from ..jsonnum import ExactRoute
from .common import (
    BILL_TYPE_CODE,
    CHARGE_MODE,
    PAGE_LIMIT_MAX,
    Caller,
    amount,
    bill_types_of_code,
    catalog,
    read,
    service_of_type_code,
    service_type_code,
)

router = APIRouter(route_class=ExactRoute)
# Huawei's dimension keys cloudbill has a counterpart for. The others (projects, availability
# zones, operating entities, payer accounts, tags, cost units) group nothing cloudbill records.
DIMENSIONS: dict[str, Dimension] = {
    "CLOUD_SERVICE_TYPE": Dimension.SERVICE,
    "RESOURCE_TYPE": Dimension.RESOURCE_TYPE,
    "REGION_CODE": Dimension.REGION,
    "RES_SPEC_CODE": Dimension.SPEC,
    "CHARGING_MODE": Dimension.BILLING_MODE,
    "USAGE_TYPE": Dimension.USAGE_TYPE,
    "BILL_TYPE": Dimension.BILL_TYPE,
    "RESOURCE_ID": Dimension.RESOURCE,
    "ASSOCIATED_ACCOUNT": Dimension.ACCOUNT,  # the consuming account: a master's members
}
KNOWN_KEYS = (
    *DIMENSIONS, "AZ_CODE", "ENTERPRISE_PROJECT_ID", "BE_ID",
    "PAYER_ACCOUNT_ID", "RESOURCE_TAG", "COST_UNIT",
)  # fmt: skip
COST_TYPE = {"ORIGINAL_COST": "original", "AMORTIZED_COST": "amortized"}
AMOUNT_TYPE = {"PAYMENT_AMOUNT": "amount", "NET_AMOUNT": "net"}
GRANULARITY = {1: "day", 2: "month"}  # time_measure_id
MODE_OF_CODE = {str(code): mode for mode, code in CHARGE_MODE.items()}


class TimeCondition(BaseModel):
    model_config = ConfigDict(extra="ignore")
    time_measure_id: Literal[1, 2] | None = None
    begin_time: str = Field(min_length=7, max_length=10)
    end_time: str = Field(min_length=7, max_length=10)


class GroupBy(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["dimension", "tag", "cost_unit"] = "dimension"
    key: str = Field(min_length=1, max_length=64)


class FilterFactor(BaseModel):
    model_config = ConfigDict(extra="ignore")
    key: str = Field(min_length=1, max_length=64)
    value: list[str] = Field(min_length=1, max_length=COSTS_FILTER_VALUES_MAX)


class FilterV2(BaseModel):
    model_config = ConfigDict(extra="ignore")
    operator: Literal[0, 1] | None = None
    filter_factor: FilterFactor | None = None


class ListCostsBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    time_condition: TimeCondition
    groupby: list[GroupBy] | None = Field(None, max_length=2)
    cost_type: Literal["ORIGINAL_COST", "AMORTIZED_COST"] = "ORIGINAL_COST"
    amount_type: Literal["PAYMENT_AMOUNT", "NET_AMOUNT"] = "PAYMENT_AMOUNT"
    offset: int = Field(0, ge=0, le=1_000_000)
    limit: int = Field(10, ge=1, le=PAGE_LIMIT_MAX)
    filters: list[FilterV2] | None = Field(None, max_length=len(KNOWN_KEYS))


def _dimension(key: str, what: str) -> Dimension | None:
    if key not in KNOWN_KEYS:
        raise bad_parameter(f"{what}: unknown dimension {key!r}")
    return DIMENSIONS.get(key)


def to_huawei(index: CatalogIndex, dimension: Dimension) -> Callable[[str], str]:
    """How a dimension's value reads in Huawei's terms."""
    if dimension is Dimension.SERVICE:
        return lambda v: service_type_code(index, v)
    if dimension is Dimension.BILLING_MODE:
        return lambda v: str(CHARGE_MODE.get(v, v))
    if dimension is Dimension.BILL_TYPE:
        return lambda v: str(BILL_TYPE_CODE.get(v, v))
    return lambda v: v


def from_huawei(index: CatalogIndex, dimension: Dimension, value: str) -> list[str]:
    """The engine's values a Huawei value stands for (none: the filter matches nothing)."""
    if dimension is Dimension.SERVICE:
        found = service_of_type_code(index, value)
        return [found] if found else []
    if dimension is Dimension.BILLING_MODE:
        return [MODE_OF_CODE[value]] if value in MODE_OF_CODE else []
    if dimension is Dimension.BILL_TYPE:
        return bill_types_of_code(int(value)) if value.isdigit() and len(value) < 4 else []
    return [value]


def _filters(index: CatalogIndex, body: ListCostsBody) -> list[Filter]:
    result = []
    for f in body.filters or ():
        if f.operator is None or f.filter_factor is None:
            continue  # Huawei: a filter without its operator is no condition
        dimension = _dimension(f.filter_factor.key, "filters")
        exclude = f.operator == 1
        if dimension is None:
            # A dimension cloudbill does not record: including matches nothing, excluding
            # removes nothing (README: such filters are never simply ignored).
            result.append(Filter(Dimension.SERVICE, (), exclude))
            continue
        found = [v for value in f.filter_factor.value for v in from_huawei(index, dimension, value)]
        if not found:  # only values no record can have: the same as above
            result.append(Filter(dimension, (), exclude))
        else:
            result.append(costs.filter_of(dimension, found, exclude))
    return result


def _group_by(body: ListCostsBody) -> list[tuple[str, Dimension]]:
    chosen = []
    for g in body.groupby or ():
        dimension = _dimension(g.key, "groupby") if g.type == "dimension" else None
        if dimension is None:
            raise bad_parameter(f"groupby: cloudbill cannot group by {g.type} {g.key!r}")
        chosen.append((g.key, dimension))
    return chosen


def _rows(index: CatalogIndex, report: CostReport, keys: list[tuple[str, Dimension]]) -> list[Any]:
    """The report's rows with Huawei's values; rows whose values become the same (two bill
    types Huawei shows as one) are summed."""
    readers = [to_huawei(index, d) for _, d in keys]
    merged: dict[tuple[str, ...], dict[str, Figure]] = {}
    for row in report.rows:
        key = tuple(show(v) for show, v in zip(readers, row.key, strict=True))
        buckets = merged.setdefault(key, {})
        for label, figure in row.buckets.items():
            buckets[label] = buckets.get(label, Figure()) + figure
    return sorted(
        merged.items(),
        key=lambda kv: (-sum(f.amount_units for f in kv[1].values()), kv[0]),
    )


@router.post("/v4/costs/cost-analysed-bills/query")
def list_costs(
    request: Request, body: ListCostsBody, customer: Customer = Caller
) -> dict[str, Any]:
    time = body.time_condition
    granularity = GRANULARITY[time.time_measure_id or 1]
    keys = _group_by(body)

    def work(conn, _now):  # type: ignore[no-untyped-def]
        index = catalog(conn)
        query = costs.query_of(
            first=time.begin_time, last=time.end_time, granularity=granularity,
            cost_type=COST_TYPE[body.cost_type], amount_type=AMOUNT_TYPE[body.amount_type],
            group_by=[d for _, d in keys], filters=_filters(index, body),
        )  # fmt: skip
        return index, costs.costs(conn, customer.id, query)

    index, report = read(request, work)
    rows = _rows(index, report, keys)
    currency = report.currency

    def text(units: int) -> str:
        return str(amount(units, currency))

    cost_data = []
    for key, buckets in rows[body.offset : body.offset + body.limit]:
        total = Figure()
        for figure in buckets.values():
            total += figure
        cost_data.append(
            {
                "dimensions": [
                    {"key": name, "value": value}
                    for (name, _), value in zip(keys, key, strict=True)
                ],
                "costs": [
                    {
                        "time_dimension_value": label,
                        "time_measure_id": time.time_measure_id or 1,
                        "amount": text(buckets.get(label, Figure()).amount_units),
                        "official_amount": text(buckets.get(label, Figure()).official_units),
                    }
                    for label in report.labels
                ],
                "amount_by_costs": text(total.amount_units),
                "official_amount_by_costs": text(total.official_units),
            }
        )
    return {"currency": currency, "total_count": len(rows), "cost_data": cost_data}
