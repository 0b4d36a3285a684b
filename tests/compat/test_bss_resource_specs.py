"""ListResourceSpecs and ListResourceSpecsPrice through the real SDK, compared with the catalog
the engine prices with (the specs it sells, and what an inquiry quotes before discounts)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from huaweicloudsdkbssintl.v2 import (
    ListResourceSpecsPriceRequest,
    ListResourceSpecsRequest,
    ResourceSpecsFilter,
    ResourceSpecsPriceFilter,
    ResourceSpecsPriceQueryReq,
    ResourceSpecsQueryReq,
)

from cloudbill.bootstrap import Container
from cloudbill.catalog import service as catalog_service
from cloudbill.catalog.index import CatalogIndex
from cloudbill.catalog.model import PeriodUnit
from cloudbill.kernel.money import Rounding

from ..helpers import new_customer
from .conftest import issue_key, sdk_client
from .test_bss_refusals import refused

ECS = "hws.service.type.ec2"
VM = "hws.resource.type.vm"
REGION = "ap-southeast-1"


@pytest.fixture
def client(container: Container, bss: str) -> Any:
    acme = new_customer(container, "acme")
    key = issue_key(container, acme.id)
    return sdk_client(bss, key.key.id, key.secret, acme.id)


@pytest.fixture
def index(container: Container) -> CatalogIndex:
    return container.read(lambda conn, _now: catalog_service.active(conn))


def specs_of(client: Any, **query: Any) -> tuple[list[Any], str | None]:
    answer = client.list_resource_specs(
        ListResourceSpecsRequest(body=ResourceSpecsQueryReq(**query))
    )
    return answer.cloud_service_basics, answer.page_info.next_marker


def test_resource_specs_are_the_catalogs(client: Any, index: CatalogIndex) -> None:
    wanted = [ref.spec.code for (rtype, _), ref in index.specs.items() if rtype == VM]
    basics, marker = specs_of(
        client, cloud_service_type=ECS, resource_type=VM, region_code=REGION, charge_mode="1"
    )
    assert [b.resource_spec for b in basics] == wanted and marker is None
    assert {(b.charge_mode, b.region_code, b.cloud_service_type) for b in basics} == {
        ("1", REGION, ECS)
    }
    assert basics[0].resource_spec_name == index.specs[(VM, wanted[0])].spec.name
    # paged two by two, the pages add up to the whole list
    seen, marker = [], None
    while True:
        page, marker = specs_of(
            client, cloud_service_type=ECS, resource_type=VM, region_code=REGION,
            charge_mode="3", limit=2, marker=marker,
        )  # fmt: skip
        seen += [b.resource_spec for b in page]
        if marker is None:
            break
    assert seen == wanted
    one, _ = specs_of(
        client, cloud_service_type=ECS, resource_type=VM, region_code=REGION, charge_mode="3",
        filters=[ResourceSpecsFilter(key="RESOURCE_SPEC", value=wanted[1])],
    )  # fmt: skip
    assert [b.resource_spec for b in one] == [wanted[1]]


def test_spec_prices_are_what_inquiries_quote(client: Any, index: CatalogIndex) -> None:
    spec = "s6.large.2"
    answer = client.list_resource_specs_price(
        ListResourceSpecsPriceRequest(
            body=ResourceSpecsPriceQueryReq(
                region_code=REGION, resource_type=VM, need_price=True, need_attributes=True,
                filters=[ResourceSpecsPriceFilter(key="RESOURCE_SPEC", value=spec)],
            )
        )
    )  # fmt: skip
    assert answer.region_code == REGION and answer.page_info.next_marker is None
    [info] = answer.resource_spec_infos
    assert (info.resource_spec, info.cloud_service_type, info.attributes) == (spec, ECS, [])
    by_mode = {(p.charging_mode, p.period_type): p for p in info.price_lists}
    ref = index.specs[(VM, spec)]
    hourly = ref.spec.prices["USD"].pay_per_use["duration"].price
    assert Decimal(by_mode[("ON_DEMAND", 4)].official_price) == hourly
    assert by_mode[("ON_DEMAND", 4)].billing_usage_factor == "duration"
    for period_type, unit in ((2, PeriodUnit.MONTH), (3, PeriodUnit.YEAR)):
        quote = catalog_service.inquire_period(
            index, resource_type=VM, spec=spec, period_unit=unit, period_count=1,
            currency="USD", rounding=Rounding.HALF_UP,
        )  # fmt: skip
        item = by_mode[("PERIOD", period_type)]
        assert Decimal(item.official_price) == quote.official.to_decimal()
        assert item.currency == "USD" and item.period_nums[0] == 1
    # without need_price no prices; a charging-mode filter keeps only that mode's items
    periods = client.list_resource_specs_price(
        ListResourceSpecsPriceRequest(
            body=ResourceSpecsPriceQueryReq(
                region_code=REGION, cloud_service_type=ECS, need_price=True,
                filters=[ResourceSpecsPriceFilter(key="CHARGING_MODE", value="PERIOD")],
            )
        )
    )  # fmt: skip
    assert {p.charging_mode for i in periods.resource_spec_infos for p in i.price_lists} == {
        "PERIOD"
    }
    bare = client.list_resource_specs_price(
        ListResourceSpecsPriceRequest(body=ResourceSpecsPriceQueryReq(region_code=REGION))
    )
    assert bare.resource_spec_infos and bare.resource_spec_infos[0].price_lists is None
    assert len(bare.resource_spec_infos) == min(50, len(index.specs))


def test_bad_queries_are_refused(client: Any) -> None:
    def specs(**query: Any) -> Any:
        return lambda: client.list_resource_specs(
            ListResourceSpecsRequest(body=ResourceSpecsQueryReq(**query))
        )

    def prices(**query: Any) -> Any:
        return lambda: client.list_resource_specs_price(
            ListResourceSpecsPriceRequest(body=ResourceSpecsPriceQueryReq(**query))
        )

    base = {"cloud_service_type": ECS, "resource_type": VM, "region_code": REGION}
    refused(specs(**base, charge_mode="2"), 400, "CBC.0100")
    refused(specs(**{**base, "resource_type": "nope"}, charge_mode="1"), 400, "CBC.0100")
    refused(specs(**base, charge_mode="1", limit=101), 400, "CBC.0100")
    refused(specs(**base, charge_mode="1", marker="x"), 400, "CBC.0100")
    bad_key = [ResourceSpecsFilter(key="REGION", value="x")]
    refused(specs(**base, charge_mode="1", filters=bad_key), 400, "CBC.0100")
    refused(prices(), 400, "CBC.0100")  # region_code is required
    refused(prices(region_code=REGION, limit=51), 400, "CBC.0100")
    bad_mode = [ResourceSpecsPriceFilter(key="CHARGING_MODE", value="MONTHLY")]
    refused(prices(region_code=REGION, filters=bad_mode), 400, "CBC.0100")
    refused(prices(region_code=REGION, cloud_service_type="hws.service.type.x"), 400, "CBC.0100")
