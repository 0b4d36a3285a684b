"""Yearly/monthly resources through the real huaweicloudsdkbssintl client: the resource query
(statuses after the clock runs into grace and retention, expiry windows, ids, order, service,
paging), auto-renew on and off, to pay-per-use at expiry and the renew configuration, compared
with the engine's own subscriptions; refusals change nothing. Renewals, unsubscriptions and the
renewal price inquiry are in test_bss_subscription_orders.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from huaweicloudsdkbssintl.v2 import (
    AutoRenewalResourcesReq,
    AutoRenewalResourcesRequest,
    CancelAutoRenewalResourcesRequest,
    ListPayPerUseCustomerResourcesRequest,
    PeriodToOnDemandReq,
    QueryResourcesReq,
    RenewResourceConfigReq,
    SetResourcesRenewConfigRequest,
    UpdatePeriodToOnDemandRequest,
)
from sqlalchemy import select

from cloudbill.bootstrap import Container
from cloudbill.orders import service as orders
from cloudbill.resources import service as resources
from cloudbill.store.schema import subscription
from cloudbill.subscriptions import repo as sub_repo
from cloudbill.subscriptions import service as subscriptions
from cloudbill.worker.jobs import run_due

from ..helpers import new_customer, snapshot
from ..scenarios.test_orders import LARGE, buy, pay, set_clock, terms
from ..scenarios.test_settlement import topup
from .conftest import issue_key, sdk_client
from .test_bss_refusals import refused

UNKNOWN_RESOURCE = "CBC.99003012"


def bought(container: Container, customer_id: str, **kw: Any) -> tuple[str, str]:
    """A paid yearly/monthly purchase: (order id, resource id)."""
    order = pay(container, customer_id, buy(container, customer_id, **kw).id)
    return order.id, order.lines[0].resource_id


def state(container: Container) -> tuple[Any, ...]:
    """Everything a refusal must leave as it was: row counts, balances, every subscription."""
    with container.db.read() as conn:
        subs = conn.execute(select(subscription).order_by(subscription.c.resource_id)).all()
    return snapshot(container), [tuple(row) for row in subs]


def expire_at_text(container: Container, rid: str) -> str:
    r = container.read(lambda conn, _now: resources.get(conn, rid))
    return r.expire_at.strftime("%Y-%m-%dT%H:%M:%SZ")


def sub_of(container: Container, rid: str) -> Any:
    return container.read(lambda conn, _now: subscriptions.get(conn, rid))


def query(client: Any, **filters: Any) -> Any:
    return client.list_pay_per_use_customer_resources(
        ListPayPerUseCustomerResourcesRequest(body=QueryResourcesReq(**filters))
    )


@pytest.fixture
def yearly(container: Container, bss: str) -> dict[str, Any]:
    """acme: 600.00 cash, a small VM bought for a month and a large one for a year."""
    acme = new_customer(container, "acme")
    topup(container, acme.id, "600.00", "seed")
    month_order, month_vm = bought(container, acme.id)
    year_order, year_vm = bought(container, acme.id, spec=LARGE, unit="year")
    key = issue_key(container, acme.id)
    return {
        "customer": acme,
        "client": sdk_client(bss, key.key.id, key.secret, acme.id),
        "month_vm": month_vm,
        "month_order": month_order,
        "year_vm": year_vm,
        "year_order": year_order,
    }


def test_query_lists_the_resources_as_the_engine_has_them(
    container: Container, yearly: dict[str, Any]
) -> None:
    client, month_vm, year_vm = yearly["client"], yearly["month_vm"], yearly["year_vm"]
    answer = query(client)
    assert answer.total_count == 2
    assert [r.resource_id for r in answer.data] == [month_vm, year_vm]  # soonest expiry first
    first = answer.data[0]
    assert first.expire_time == expire_at_text(container, month_vm)
    assert (first.status, first.expire_policy, first.is_main_resource) == (2, 0, 1)
    assert first.service_type_code == "hws.service.type.ec2"
    assert (first.resource_type_code, first.resource_spec_code) == (
        "hws.resource.type.vm",
        "s6.small.1",
    )
    assert first.region_code == "ap-southeast-1" and first.project_id is None
    paged = query(client, offset=1, limit=1)
    assert paged.total_count == 2 and [r.resource_id for r in paged.data] == [year_vm]
    # the expiry window, the ids, the order and the service type pick their resources
    at = expire_at_text(container, month_vm)
    window = query(client, expire_time_begin=at, expire_time_end=at)
    assert [r.resource_id for r in window.data] == [month_vm]
    assert [r.resource_id for r in query(client, resource_ids=[year_vm]).data] == [year_vm]
    by_order = query(client, order_id=yearly["year_order"])
    assert [r.resource_id for r in by_order.data] == [year_vm]
    assert query(client, service_type_code="hws.service.type.ec2").total_count == 2
    assert query(client, service_type_code="hws.service.type.obs").total_count == 0
    assert query(client, only_main_resource=1).total_count == 2


def test_query_follows_the_clock_into_grace_and_retention(
    container: Container, yearly: dict[str, Any]
) -> None:
    client, month_vm, year_vm = yearly["client"], yearly["month_vm"], yearly["year_vm"]
    expiry = container.read(lambda conn, _now: resources.get(conn, month_vm)).expire_at
    set_clock(container, expiry + timedelta(hours=1))
    run_due(container)
    assert container.read(lambda conn, _now: resources.get(conn, month_vm)).status == "grace"
    expired = query(client, status_list=[5])
    assert [(r.resource_id, r.status) for r in expired.data] == [(month_vm, 5)]
    assert [r.resource_id for r in query(client, status_list=[2]).data] == [year_vm]
    set_clock(container, expiry + timedelta(days=15, hours=1))  # the default 15-day grace
    run_due(container)
    assert container.read(lambda conn, _now: resources.get(conn, month_vm)).status == "frozen"
    frozen = query(client, status_list=[4])
    assert [(r.resource_id, r.status) for r in frozen.data] == [(month_vm, 4)]
    assert query(client, status_list=[5]).total_count == 0
    assert query(client).total_count == 2  # grace and retention are still listed by default


def test_auto_renew_on_and_off(container: Container, yearly: dict[str, Any]) -> None:
    client, vm = yearly["client"], yearly["year_vm"]
    on = AutoRenewalResourcesRequest(vm, body=AutoRenewalResourcesReq(period_type="YEAR"))
    assert client.auto_renewal_resources(on).status_code == 200
    sub = sub_of(container, vm)
    assert (sub.auto_renew, sub.auto_renew_period_unit, sub.auto_renew_period_count) == (
        True,
        "year",
        1,
    )
    assert [r.expire_policy for r in query(client, resource_ids=[vm]).data] == [3]
    assert client.auto_renewal_resources(on).status_code == 200  # setting it again: the same
    assert sub_of(container, vm) == sub
    off = CancelAutoRenewalResourcesRequest(vm)
    assert client.cancel_auto_renewal_resources(off).status_code == 200
    assert sub_of(container, vm).auto_renew is False
    assert [r.expire_policy for r in query(client, resource_ids=[vm]).data] == [0]
    before = state(container)
    refused(lambda: client.cancel_auto_renewal_resources(off), 400, "CBC.99003605")
    times = AutoRenewalResourcesRequest(vm, body=AutoRenewalResourcesReq(auto_renew_times=3))
    refused(lambda: client.auto_renewal_resources(times), 400, "CBC.0100")
    assert state(container) == before


def test_auto_renew_is_refused_once_expired(container: Container, yearly: dict[str, Any]) -> None:
    client, vm = yearly["client"], yearly["month_vm"]
    expiry = container.read(lambda conn, _now: resources.get(conn, vm)).expire_at
    set_clock(container, expiry + timedelta(hours=1))
    run_due(container)
    before = state(container)
    refused(
        lambda: client.auto_renewal_resources(AutoRenewalResourcesRequest(vm)),
        400,
        "CBC.99003602",
    )
    assert state(container) == before


def to_on_demand(client: Any, operation: str, *rids: str) -> Any:
    return client.update_period_to_on_demand(
        UpdatePeriodToOnDemandRequest(
            body=PeriodToOnDemandReq(operation=operation, resource_ids=list(rids))
        )
    )


def test_to_pay_per_use_at_expiry_set_and_cancelled(
    container: Container, yearly: dict[str, Any]
) -> None:
    client, month_vm, year_vm = yearly["client"], yearly["month_vm"], yearly["year_vm"]
    answer = to_on_demand(client, "SET_UP", month_vm, year_vm)
    assert answer.status_code == 200 and answer.error_details == []
    assert {sub_of(container, r).expire_policy for r in (month_vm, year_vm)} == {"to_pay_per_use"}
    assert [r.expire_policy for r in query(client).data] == [1, 1]
    assert to_on_demand(client, "CANCEL", year_vm).error_details == []
    assert sub_of(container, year_vm).expire_policy == "grace_then_release"
    # one unknown id refuses the whole batch: the other resource keeps its policy
    before = state(container)
    refused(lambda: to_on_demand(client, "CANCEL", month_vm, "vm-nobody"), 400, UNKNOWN_RESOURCE)
    refused(lambda: to_on_demand(client, "SWITCH", month_vm), 400, "CBC.0100")
    assert state(container) == before
    # at expiry the engine switches it to pay-per-use
    expiry = container.read(lambda conn, _now: resources.get(conn, month_vm)).expire_at
    set_clock(container, expiry + timedelta(hours=1))
    run_due(container)
    r = container.read(lambda conn, _now: resources.get(conn, month_vm))
    assert (r.billing_mode, r.status) == ("pay_per_use", "normal")
    assert [x.resource_id for x in query(client).data] == [year_vm]


def renew_config(client: Any, name: str, value: str) -> Any:
    return client.set_resources_renew_config(
        SetResourcesRenewConfigRequest(
            body=RenewResourceConfigReq(config_name=name, config_value=value)
        )
    )


def test_renew_configuration_sets_the_deduction_day(
    container: Container, yearly: dict[str, Any]
) -> None:
    """DEDUCTION_DATE 2 to 7 days before expiry is stored for the customer (Huawei, "Deduction
    Date for Auto-Renewal",
    https://support.huaweicloud.com/intl/en-us/usermanual-billing/renewals_topic_20000006.html);
    anything else is refused and changes nothing."""
    client = yearly["client"]
    before = state(container)
    for name, value in (
        ("DEDUCTION_DATE", "1"),
        ("DEDUCTION_DATE", "9"),
        ("EXPIRE_DATE", "0"),
        ("EXPIRE_DATE", "29"),  # 1 to 28, or -1 for the last day
        ("EXPIRE_DATE", "last"),
        ("RENEW_DAY", "7"),
    ):
        refused(lambda n=name, v=value: renew_config(client, n, v), 400, "CBC.0100")
    assert state(container) == before
    answer = renew_config(client, "DEDUCTION_DATE", "3")
    assert (answer.status_code, answer.error_code) == (200, "CBC.0000")
    customer_id = yearly["customer"].id
    stored = container.read(lambda conn, _now: sub_repo.deduction_days_before(conn, customer_id))
    assert stored == 3
    assert renew_config(client, "DEDUCTION_DATE", "7").status_code == 200  # back to the default
    assert container.read(lambda conn, _now: sub_repo.deduction_days_before(conn, customer_id)) == 7


def test_renew_configuration_sets_a_unified_expiry_day(
    container: Container, yearly: dict[str, Any]
) -> None:
    """EXPIRE_DATE: renewals run on to that day of the month (1-28, or -1 the last), the extra
    days a line of their own at the daily price, so that renewed resources expire together
    (the SDK's RenewResourceConfigReq: "设置续费后资源统一到期日")."""
    client, vm, cid = yearly["client"], yearly["month_vm"], yearly["customer"].id

    def renewed_for_a_month() -> tuple[list[tuple[str, int]], str]:
        order = container.write(
            lambda conn, now: orders.create_renewal(
                conn, cid, [vm], period_unit="month", period_count=1,
                terms=terms(container), now=now,
            )
        )  # fmt: skip
        pay(container, cid, order.id)
        lines = [(line.period_unit, line.period_count) for line in order.lines]
        return lines, expire_at_text(container, vm)

    first_expiry = expire_at_text(container, vm)
    # bought on March 16 for a month: to the end of April 16 (the customer's time zone: UTC)
    assert first_expiry == "2026-04-17T00:00:00Z"
    assert renew_config(client, "EXPIRE_DATE", "20").status_code == 200
    assert container.read(lambda conn, _now: sub_repo.unified_expiry_day(conn, cid)) == 20
    lines, expiry = renewed_for_a_month()
    assert lines == [("month", 1), ("day", 4)]  # May 16, then on to May 20
    assert expiry == "2026-05-21T00:00:00Z"  # the end of May 20
    assert renew_config(client, "EXPIRE_DATE", "-1").status_code == 200
    lines, expiry = renewed_for_a_month()
    assert lines == [("month", 1), ("day", 10)]  # June 20, then on to June 30
    assert expiry == "2026-07-01T00:00:00Z"  # the end of June 30
    # the deduction day is a setting of its own: setting it keeps the expiry day
    assert renew_config(client, "DEDUCTION_DATE", "5").status_code == 200
    assert container.read(lambda conn, _now: sub_repo.unified_expiry_day(conn, cid)) == -1


def test_malformed_queries_are_refused(container: Container, yearly: dict[str, Any]) -> None:
    client = yearly["client"]
    for filters in (
        {"status_list": [9]},
        {"limit": 0},
        {"offset": -1},
        {"only_main_resource": 2},
        {"expire_time_begin": "2026-13-01T00:00:00Z"},
        {"expire_time_end": "tomorrow"},
        {"service_type_code": ""},
        {"resource_ids": [f"vm-{n}" for n in range(51)]},
    ):
        refused(lambda f=filters: query(client, **f), 400, "CBC.0100")
