"""ListCosts through the real SDK, compared with the cost engine's own figures: original and
amortized, by day and month, grouped by Huawei's dimensions, filtered in and out."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from huaweicloudsdkbssintl.v2 import (
    FilterFactor,
    FilterV2,
    GroupBy,
    ListCostsReq,
    ListCostsRequest,
    TimeCondition,
)

from cloudbill.bootstrap import Container
from cloudbill.costs import service as costs
from cloudbill.kernel.money import Money

from ..conftest import T0
from ..scenarios.test_costs import world
from .conftest import issue_key, sdk_client
from .test_bss_refusals import refused

__all__ = ["world"]  # the fixture, used by name
FIRST, LAST = T0.date() - timedelta(days=1), T0.date() + timedelta(days=12)


@pytest.fixture
def client(container: Container, bss: str, world: dict[str, Any]) -> Any:
    key = issue_key(container, world["customer"].id)
    return sdk_client(bss, key.key.id, key.secret, world["customer"].id)


def list_costs(client: Any, measure: int = 1, **body: Any) -> Any:
    first, last = (FIRST.isoformat(), LAST.isoformat())
    if measure == 2:
        first, last = first[:7], (T0.date() + timedelta(days=400)).isoformat()[:7]
    condition = TimeCondition(time_measure_id=measure, begin_time=first, end_time=last)
    return client.list_costs(ListCostsRequest(body=ListCostsReq(time_condition=condition, **body)))


def engine(container: Container, customer_id: str, **query: Any) -> Any:
    built = costs.query_of(**query)
    return container.read(lambda conn, _now: costs.costs(conn, customer_id, built))


def exact(units: int) -> Decimal:
    return Money(units, "USD").to_decimal()


def test_costs_by_day_grouped_by_bill_type_are_the_engines(
    container: Container, client: Any, world: dict[str, Any]
) -> None:
    cid = world["customer"].id
    for cost_type, engine_type in (("ORIGINAL_COST", "original"), ("AMORTIZED_COST", "amortized")):
        answer = list_costs(
            client, cost_type=cost_type, amount_type="NET_AMOUNT", limit=100,
            groupby=[GroupBy(type="dimension", key="BILL_TYPE")],
        )  # fmt: skip
        report = engine(
            container, cid, first=str(FIRST), last=str(LAST), granularity="day",
            cost_type=engine_type, amount_type="net", group_by=["bill_type"],
        )  # fmt: skip
        assert answer.currency == "USD"
        got = {
            d.dimensions[0].value: {c.time_dimension_value: Decimal(c.amount) for c in d.costs}
            for d in answer.cost_data
        }
        want: dict[str, dict[str, Decimal]] = {}
        codes = {"new_purchase": "1", "usage": "5"}
        codes |= {"unsubscription_refund": "4", "unsubscription_fee": "4"}
        for row in report.rows:
            zeros = {label: Decimal(0) for label in report.labels}
            days = want.setdefault(codes[row.key[0]], zeros)
            for label, figure in row.buckets.items():
                days[label] += exact(figure.amount_units)
        assert got == want
        assert answer.total_count == len(want)
        assert all(isinstance(c.amount, str) for d in answer.cost_data for c in d.costs)
        total = sum(Decimal(d.amount_by_costs) for d in answer.cost_data)
        assert total == exact(report.total.amount_units)


def test_costs_by_month_with_two_dimensions_and_filters(
    container: Container, client: Any, world: dict[str, Any]
) -> None:
    cid = world["customer"].id
    answer = list_costs(
        client, measure=2, cost_type="AMORTIZED_COST",
        groupby=[GroupBy(type="dimension", key="CLOUD_SERVICE_TYPE"),
                 GroupBy(type="dimension", key="CHARGING_MODE")],
        filters=[FilterV2(operator=1, filter_factor=FilterFactor(key="BILL_TYPE", value=["5"]))],
    )  # fmt: skip
    [row] = answer.cost_data
    assert [(d.key, d.value) for d in row.dimensions] == [
        ("CLOUD_SERVICE_TYPE", "hws.service.type.ec2"),
        ("CHARGING_MODE", "1"),
    ]
    first_month = FIRST.isoformat()[:7]
    last_month = (T0.date() + timedelta(days=400)).isoformat()[:7]
    report = engine(
        container, cid, first=first_month, last=last_month, cost_type="amortized",
        filters=[costs.filter_of("bill_type", ["usage"], True)],
    )  # fmt: skip
    assert {c.time_dimension_value: Decimal(c.amount) for c in row.costs} == {
        label: exact(f.amount_units) for label, f in report.totals.items()
    }
    assert {c.time_measure_id for c in row.costs} == {2}
    assert Decimal(row.official_amount_by_costs) == exact(report.total.official_units)
    # only the pay-per-use VM's usage; a dimension cloudbill does not record matches nothing
    pay_per_use = FilterFactor(key="CHARGING_MODE", value=["3"])
    only = list_costs(
        client, groupby=[GroupBy(type="dimension", key="RESOURCE_ID")],
        filters=[FilterV2(operator=0, filter_factor=pay_per_use)],
    )  # fmt: skip
    assert [d.dimensions[0].value for d in only.cost_data] == ["vm-2"]
    none = list_costs(
        client,
        filters=[FilterV2(operator=0, filter_factor=FilterFactor(key="AZ_CODE", value=["az1"]))],
    )
    assert (none.total_count, none.cost_data) == (0, [])


def test_bad_cost_queries_are_refused(client: Any) -> None:
    def ask(condition: TimeCondition, **body: Any) -> Any:
        return lambda: client.list_costs(
            ListCostsRequest(body=ListCostsReq(time_condition=condition, **body))
        )

    day = TimeCondition(time_measure_id=1, begin_time="2026-01-01", end_time="2026-01-31")
    refused(ask(TimeCondition(time_measure_id=1, begin_time="2026-01-01",
                              end_time="2026-06-01")), 400, "CBC.0100")  # fmt: skip
    refused(ask(TimeCondition(time_measure_id=2, begin_time="2026-01-01",
                              end_time="2026-02")), 400, "CBC.0100")  # fmt: skip
    refused(ask(day, cost_type="SOME_COST"), 400, "CBC.0100")
    refused(ask(day, groupby=[GroupBy(type="dimension", key="COLOUR")]), 400, "CBC.0100")
    refused(ask(day, groupby=[GroupBy(type="dimension", key="AZ_CODE")]), 400, "CBC.0100")
    three = [GroupBy(type="dimension", key=k) for k in ("REGION_CODE", "USAGE_TYPE", "BILL_TYPE")]
    refused(ask(day, groupby=three), 400, "CBC.0100")
