"""Every BSS route cloudbill answers, driven by the real huaweicloudsdkbssintl client over
loopback, and compared with the engine's own figures (fees settled on a simulated clock)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from huaweicloudsdkbssintl.v2 import (
    DemandProductInfo,
    ListConversionsRequest,
    ListCustomerselfResourceRecordDetailsRequest,
    ListCustomerselfResourceRecordsRequest,
    ListFreeResourceInfosReq,
    ListFreeResourceInfosRequest,
    ListFreeResourcesUsageRecordsRequest,
    ListFreeResourceUsagesReq,
    ListFreeResourceUsagesRequest,
    ListMeasureUnitsRequest,
    ListOnDemandResourceRatingsRequest,
    ListRateOnPeriodDetailRequest,
    ListResourceTypesRequest,
    ListServiceResourcesRequest,
    ListServiceTypesRequest,
    ListSubCustomerCouponsRequest,
    ListUsageTypesRequest,
    PeriodProductInfo,
    QueryResRecordsDetailReq,
    RateOnDemandReq,
    RateOnPeriodReq,
    ShowCustomerAccountBalancesRequest,
    ShowCustomerExpenditureQuotaRequest,
    ShowCustomerMonthlySumRequest,
)
from sqlalchemy import func, select

from cloudbill.bills import service as bills
from cloudbill.bootstrap import Container
from cloudbill.kernel.money import Money
from cloudbill.resources import service as resources
from cloudbill.store.schema import fee_record, package_usage
from cloudbill.worker.jobs import settle_due

from ..helpers import new_customer
from ..scenarios.test_settlement import advance, figures, hour, meter, register, topup
from ..scenarios.test_settlement_benefits import coupon, grant
from .conftest import issue_key, sdk_client

MONTH = "2026-03"


def exact(units: int, currency: str = "USD") -> Decimal:
    return Money(units, currency).to_decimal()


@pytest.fixture
def world(container: Container, bss: str) -> dict[str, Any]:
    """acme: 10.00 cash, a VM, a 2-hour package and a 0.05 coupon; five hours metered and
    settled (packages first, then the coupon, then cash)."""
    acme = new_customer(container, "acme")
    topup(container, acme.id, "10.00", "seed")
    register(container, acme.id, "vm-1")
    package = grant(container, acme.id, "pkg-1", "2", service="ecs")
    cash_coupon = coupon(container, acme.id, "cpn-1", "0.05")
    meter(
        container,
        # five hours of running (a duration never exceeds its interval)
        ("r1", "vm-1", "duration", "3", hour(3), hour(6), "h"),
        ("r2", "vm-1", "duration", "2", hour(6), hour(8), "h"),
    )
    advance(container, hours=1)
    assert settle_due(container)
    key = issue_key(container, acme.id)
    client = sdk_client(bss, key.key.id, key.secret, acme.id)
    return {"customer": acme, "package": package, "coupon": cash_coupon, "client": client}


def test_balances_and_expenditure_quota(container: Container, world: dict[str, Any]) -> None:
    client, acme = world["client"], world["customer"]
    shown = figures(container, acme.id)
    balances = client.show_customer_account_balances(ShowCustomerAccountBalancesRequest())
    assert balances.status_code == 200
    (cash,) = balances.account_balances
    assert cash.account_type == 1 and cash.amount == exact(shown.cash_balance_units)
    assert isinstance(cash.amount, Decimal) and balances.currency == "USD"
    assert balances.debt_amount == 0
    quota = client.show_customer_expenditure_quota(ShowCustomerExpenditureQuotaRequest())
    assert quota.granting_amount == exact(shown.expenditure_quota_units)


def test_monthly_sum_and_fee_records(container: Container, world: dict[str, Any]) -> None:
    client, acme = world["client"], world["customer"]
    summary = container.read(
        lambda conn, _now: bills.monthly_summary(conn, acme.id, MONTH, rounding="half_up")
    )
    sums = client.show_customer_monthly_sum(ShowCustomerMonthlySumRequest(bill_cycle=MONTH))
    assert sums.consume_amount == exact(summary.total["amount"])
    assert sums.coupon_amount == exact(summary.total["coupon"])
    assert sums.cash_amount == exact(summary.total["cash"])
    (line,) = sums.bill_sums
    assert line.service_type_code == "hws.service.type.ec2" and line.charging_mode == 3
    assert line.consume_amount == exact(summary.total["amount"])
    assert line.official_amount - line.official_discount_amount - line.truncated_amount == (
        line.consume_amount
    )

    with container.db.read() as conn:
        stored = conn.execute(select(fee_record).order_by(fee_record.c.hour_start)).all()
    records = client.list_customerself_resource_records(
        ListCustomerselfResourceRecordsRequest(cycle=MONTH, include_zero_record=True)
    )
    assert records.total_count == len(stored) == 5  # one an hour
    assert [r.amount for r in records.fee_records] == [exact(r.amount_units) for r in stored]
    assert [r.coupon_amount for r in records.fee_records] == [exact(r.coupon_units) for r in stored]
    assert records.fee_records[0].resource_id == "vm-1"
    vm = container.read(lambda conn, _now: resources.get(conn, "vm-1"))
    assert {r.resource_name for r in records.fee_records} == {vm.name}
    assert records.fee_records[0].charge_mode == "3"
    assert sum(r.free_resource_usage for r in records.fee_records) == 2
    paged = client.list_customerself_resource_records(
        ListCustomerselfResourceRecordsRequest(cycle=MONTH, offset=1, limit=1)
    )
    assert paged.total_count == 5 and [r.id for r in paged.fee_records] == [str(stored[1].id)]
    by_cycle = client.list_customerself_resource_records(
        ListCustomerselfResourceRecordsRequest(cycle=MONTH, statistic_type=1)
    )
    assert by_cycle.total_count == 1
    assert by_cycle.fee_records[0].amount == exact(sum(r.amount_units for r in stored))

    detail = client.list_customerself_resource_record_details(
        ListCustomerselfResourceRecordDetailsRequest(body=QueryResRecordsDetailReq(cycle=MONTH))
    )
    assert detail.total_count == 1  # statistic_type 1 by default: per resource over the cycle
    (row,) = detail.monthly_records
    assert row.consume_amount == exact(summary.exact.amount_units)
    assert row.res_instance_id == "vm-1" and row.resource_type_code == "hws.resource.type.vm"
    assert row.resource_name == vm.name
    daily = client.list_customerself_resource_record_details(
        ListCustomerselfResourceRecordDetailsRequest(
            body=QueryResRecordsDetailReq(cycle=MONTH, statistic_type=2)
        )
    )
    assert [r.bill_date for r in daily.monthly_records] == ["2026-03-16"]
    none = client.list_customerself_resource_records(
        ListCustomerselfResourceRecordsRequest(cycle="2026-02")
    )
    assert none.total_count == 0 and none.fee_records == []


def test_resource_packages(container: Container, world: dict[str, Any]) -> None:
    client, package = world["client"], world["package"]
    listed = client.list_free_resource_infos(
        ListFreeResourceInfosRequest(body=ListFreeResourceInfosReq())
    )
    assert listed.total_count == 1
    (found,) = listed.free_resource_packages
    assert found.product_id == package.id and found.status == 2  # used up
    (item,) = found.free_resources
    assert Decimal(item.original_amount) == 2 and Decimal(item.amount) == 0
    assert item.measure_id == 4  # hours
    usages = client.list_free_resource_usages(
        ListFreeResourceUsagesRequest(
            body=ListFreeResourceUsagesReq(free_resource_ids=[item.free_resource_id])
        )
    )
    (detail,) = usages.free_resources
    assert detail.amount == 0 and detail.original_amount == 2
    records = client.list_free_resources_usage_records(
        ListFreeResourcesUsageRecordsRequest(free_resource_id=item.free_resource_id)
    )
    with container.db.read() as conn:
        used = conn.execute(select(func.count()).select_from(package_usage)).scalar_one()
    assert records.total_count == used
    assert sum(Decimal(r.used_amount) for r in records.free_resource_records) == 2


def test_coupons(container: Container, world: dict[str, Any]) -> None:
    client, cash_coupon = world["client"], world["coupon"]
    listed = client.list_sub_customer_coupons(ListSubCustomerCouponsRequest())
    assert listed.count == 1
    (found,) = listed.user_coupons
    assert found.coupon_id == cash_coupon.id and found.coupon_type == 1
    assert Decimal(str(found.face_value)) == Decimal("0.05")
    fee_coupons = sum(r.coupon_units for r in container.read(lambda conn, _now: _fees(conn)))
    assert Decimal(str(found.balance)) == Decimal("0.05") - exact(fee_coupons)
    assert client.list_sub_customer_coupons(ListSubCustomerCouponsRequest(status=4)).count == 0


def _fees(conn: Any) -> list[Any]:
    return conn.execute(select(fee_record)).all()


def test_price_inquiries(world: dict[str, Any]) -> None:
    client = world["client"]
    demand = client.list_on_demand_resource_ratings(
        ListOnDemandResourceRatingsRequest(
            body=RateOnDemandReq(
                project_id="p1",
                product_infos=[
                    DemandProductInfo(
                        id="1",
                        cloud_service_type="hws.service.type.ec2",
                        resource_type="hws.resource.type.vm",
                        resource_spec="s6.large.2.linux",
                        region="ap-southeast-1",
                        usage_factor="Duration",
                        usage_value=Decimal(10),
                        usage_measure_id=4,
                        subscription_num=1,
                    )
                ],
            )
        )
    )
    assert demand.official_website_amount == Decimal("0.781")
    assert demand.product_rating_results[0].amount == demand.amount
    period = client.list_rate_on_period_detail(
        ListRateOnPeriodDetailRequest(
            body=RateOnPeriodReq(
                project_id="p1",
                product_infos=[
                    PeriodProductInfo(
                        id="1",
                        cloud_service_type="hws.service.type.ec2",
                        resource_type="hws.resource.type.vm",
                        resource_spec="s6.large.2",
                        region="ap-southeast-1",
                        period_type=2,
                        period_num=1,
                        subscription_num=2,
                    )
                ],
            )
        )
    )
    assert period.official_website_rating_result.official_website_amount == Decimal("78.20")


def test_product_catalog(world: dict[str, Any]) -> None:
    client = world["client"]
    services = client.list_service_types(ListServiceTypesRequest(limit=100))
    codes = {s.service_type_code for s in services.service_types}
    assert "hws.service.type.ec2" in codes and services.total_count == len(codes)
    types = client.list_resource_types(ListResourceTypesRequest(limit=100))
    assert "hws.resource.type.vm" in {t.resource_type_code for t in types.resource_types}
    ecs = client.list_service_resources(
        ListServiceResourcesRequest(service_type_code="hws.service.type.ec2")
    )
    assert [i.basic_info.resource_type_code for i in ecs.infos] == ["hws.resource.type.vm"]
    usage = client.list_usage_types(
        ListUsageTypesRequest(resource_type_code="hws.resource.type.vm")
    )
    assert [u.code for u in usage.usage_types] == ["Duration"]
    units = client.list_measure_units(ListMeasureUnitsRequest()).measure_units
    assert {1, 4, 10} <= {u.measure_id for u in units}
    conversions = client.list_conversions(ListConversionsRequest(measure_type=3)).conversions
    assert any(
        (c.measure_id, c.ref_measure_id, c.conversion_ratio) == (10, 11, 1024) for c in conversions
    )


def test_paging_defaults_to_ten(world: dict[str, Any]) -> None:
    client = world["client"]
    types = client.list_resource_types(ListResourceTypesRequest())
    assert len(types.resource_types) == min(10, types.total_count)
    rest = client.list_resource_types(ListResourceTypesRequest(offset=8, limit=10))
    assert len(rest.resource_types) == types.total_count - 8
    assert rest.resource_types[0] == types.resource_types[8]
