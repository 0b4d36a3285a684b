"""Customer orders through the real huaweicloudsdkbssintl client: the order list with its
filters and paging, order details with their lines, the discounts of a pending order, the
refund of an unsubscription and the (empty) invoice list, compared with the engine's own orders.
Amounts are read from the raw answer as exact decimals (the SDK's order models hold floats)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from huaweicloudsdkbssintl.v2 import (
    ListCustomerOrdersRequest,
    ListInvoicesRequest,
    ListOrderDiscountsRequest,
    ShowCustomerOrderDetailsRequest,
    ShowRefundOrderDetailsRequest,
)

from cloudbill.bootstrap import Container
from cloudbill.orders import service as orders
from cloudbill.orders.model import Order
from cloudbill.orders.service import NewItem

from ..helpers import new_customer, snapshot
from ..scenarios.test_orders import SMALL, VM_TYPE, buy, pay, terms
from ..scenarios.test_settlement import advance, topup
from .conftest import issue_key, sdk_client
from .isolation import Call
from .test_bss_refusals import refused
from .test_isolation_walk import sdk_signed

EC2 = "hws.service.type.ec2"


def exact(units: int | None) -> Decimal | None:
    return None if units is None else Decimal(units) / 10**8


def raw(answer: Any) -> dict[str, Any]:
    return json.loads(answer.raw_content, parse_float=Decimal)


def utc(instant: Any) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def engine_order(container: Container, order_id: str) -> Order:
    return container.read(lambda conn, _now: orders.get(conn, order_id))


@pytest.fixture
def shop(container: Container, bss: str) -> dict[str, Any]:
    """acme (level 3: 15% off ECS yearly/monthly) with 100.00: a paid order of two VMs, an hour
    later a pending one, an hour later a cancelled one."""
    acme = new_customer(container, "acme", level=3)
    topup(container, acme.id, "100.00", "seed")
    two = NewItem(VM_TYPE, SMALL, "ap-southeast-1", "vm", "month", 1, quantity=2)
    bought = container.write(
        lambda conn, now: orders.create_new(conn, acme.id, [two], terms=terms(container), now=now)
    )
    paid = pay(container, acme.id, bought.id)
    advance(container, hours=1)
    pending = buy(container, acme.id, spec="s6.large.2")
    advance(container, hours=1)
    cancelled = buy(container, acme.id)
    container.write(lambda conn, now: orders.cancel(conn, acme.id, cancelled.id, now=now))
    key = issue_key(container, acme.id)
    client = sdk_client(bss, key.key.id, key.secret, acme.id)
    return {
        "customer": acme,
        "client": client,
        "key": key,
        "paid": engine_order(container, paid.id),
        "pending": pending,
        "cancelled": engine_order(container, cancelled.id),
    }


def listed(client: Any, **query: Any) -> tuple[int, list[str]]:
    answer = client.list_customer_orders(ListCustomerOrdersRequest(**query))
    return answer.total_count, [o.order_id for o in answer.order_infos]


def test_order_list_answers_the_engines_orders(shop: dict[str, Any]) -> None:
    client, paid, pending, cancelled = (shop[k] for k in ("client", "paid", "pending", "cancelled"))
    answer = client.list_customer_orders(ListCustomerOrdersRequest())
    assert answer.total_count == 3
    infos = raw(answer)["order_infos"]
    assert [o["order_id"] for o in infos] == [cancelled.id, pending.id, paid.id]  # newest first
    assert [o["status"] for o in infos] == [4, 6, 5]
    assert {o["order_type"] for o in infos} == {1} and {o["source_type"] for o in infos} == {1}
    first = infos[2]
    assert first["amount_after_discount"] == exact(paid.amount_units) == Decimal("19.72")
    assert first["official_amount"] == exact(paid.official_units) == Decimal("23.20")
    assert first["amount_info"]["discounts"] == [
        {"discount_type": "700", "discount_amount": exact(paid.discount_units)}
    ]
    assert first["amount_info"]["coupon_amount"] == 0
    assert first["service_type_code"] == EC2 and first["currency"] == "USD"
    assert first["create_time"] == utc(paid.created_at)
    assert first["payment_time"] == utc(paid.paid_at)
    assert infos[1]["payment_time"] is None
    assert answer.order_infos[2].amount_after_discount == pytest.approx(19.72)


def test_order_list_filters_and_paging(shop: dict[str, Any]) -> None:
    client, paid, pending, cancelled = (shop[k] for k in ("client", "paid", "pending", "cancelled"))
    assert listed(client, status=6) == (1, [pending.id])
    assert listed(client, status=5) == (1, [paid.id])
    assert listed(client, status=4) == (1, [cancelled.id])
    assert listed(client, status=1) == (0, [])
    assert listed(client, order_type="1")[0] == 3
    assert listed(client, order_type="2") == (0, [])
    assert listed(client, order_id=pending.id) == (1, [pending.id])
    assert listed(client, service_type_code=EC2)[0] == 3
    assert listed(client, service_type_code="hws.service.type.obs") == (0, [])
    assert listed(client, service_type_code="no.such.service") == (0, [])
    assert listed(client, order_by="createTime")[1] == [paid.id, pending.id, cancelled.id]
    assert listed(client, offset=1, limit=1) == (3, [pending.id])
    assert listed(client, create_time_begin=utc(pending.created_at))[0] == 2
    assert listed(client, create_time_end=utc(pending.created_at))[1] == [pending.id, paid.id]
    assert listed(client, payment_time_begin=utc(paid.paid_at)) == (1, [paid.id])
    later = utc(paid.paid_at + timedelta(seconds=1))
    assert listed(client, payment_time_begin=later) == (0, [])
    assert listed(client, customer_id=shop["customer"].id)[0] == 3
    assert listed(client, customer_id="0" * 32) == (0, [])


@pytest.mark.parametrize(
    "query",
    [
        {"status": 7},
        {"order_type": "5"},
        {"order_by": "amount"},
        {"limit": 0},
        {"limit": 1001},
        {"offset": -1},
        {"create_time_begin": "2026-03-16 09:00:00"},
        {"payment_time_end": "yesterday"},
        {"method": "everyone"},
    ],
)
def test_order_list_refuses_malformed_parameters(
    container: Container, shop: dict[str, Any], query: dict[str, Any]
) -> None:
    before = snapshot(container)
    refused(
        lambda: shop["client"].list_customer_orders(ListCustomerOrdersRequest(**query)),
        400,
        "CBC.0100",
    )
    assert snapshot(container) == before


def test_order_details_with_its_lines(shop: dict[str, Any]) -> None:
    client, paid, customer = shop["client"], shop["paid"], shop["customer"]
    answer = client.show_customer_order_details(ShowCustomerOrderDetailsRequest(order_id=paid.id))
    body = raw(answer)
    assert body["total_count"] == 2
    info = body["order_info"]
    assert (info["order_id"], info["status"], info["order_type"]) == (paid.id, 5, 1)
    assert info["user_name"] == customer.name and info["pending_payment_end_time"] is None
    assert info["amount_after_discount"] == exact(paid.amount_units)
    for item, line in zip(body["order_line_items"], paid.lines, strict=True):
        assert item["order_line_item_id"] == f"{paid.id}-{line.line_no}"
        assert item["product_id"] == f"{line.resource_type}:{line.spec}"
        assert item["commercial_resource"] == "hws.resource.type.vm"
        assert (item["period_type"], item["period_num"], item["subscription_num"]) == (2, 1, 1)
        assert item["effective_time"] == utc(line.period_start)
        assert item["expire_time"] == utc(line.period_end)
        assert item["amount_after_discount"] == exact(line.amount_units) == Decimal("9.86")
        assert item["official_amount"] == exact(line.official_units)
        assert item["amount_info"]["coupon_amount"] == 0
        assert item["order_id"] == paid.id
    page = client.show_customer_order_details(
        ShowCustomerOrderDetailsRequest(order_id=paid.id, offset=1, limit=1)
    )
    assert page.total_count == 2
    assert [i.order_line_item_id for i in page.order_line_items] == [f"{paid.id}-2"]
    pending = client.show_customer_order_details(
        ShowCustomerOrderDetailsRequest(order_id=shop["pending"].id)
    )
    assert pending.order_info.status == 6
    assert pending.order_info.pending_payment_end_time == utc(shop["pending"].payment_deadline)


def test_order_discounts_are_the_pending_orders_own(shop: dict[str, Any]) -> None:
    client, pending = shop["client"], shop["pending"]
    answer = client.list_order_discounts(ListOrderDiscountsRequest(order_id=pending.id))
    (discount,) = raw(answer)["discounts"]
    assert discount["discount_id"] == pending.lines[0].discount_id == "level-3-ecs-yearly-monthly"
    assert discount["discount_type"] == 0 and discount["discount_value"] == "0.85"
    ((order,),) = [discount["orders"]]
    assert order["order_id"] == pending.id
    (item,) = order["order_line_items"]
    assert item["order_line_item_ids"] == [f"{pending.id}-1"]
    assert item["discount_amount"] == exact(pending.discount_units) == Decimal("5.87")
    assert item["discount_ratio"] == Decimal("0.85")
    # a paid order has nothing left to choose
    paid = client.list_order_discounts(ListOrderDiscountsRequest(order_id=shop["paid"].id))
    assert paid.discounts == []
    refused(lambda: client.list_order_discounts(ListOrderDiscountsRequest()), 400, "CBC.0100")


def test_refund_order_of_an_unsubscription(container: Container, shop: dict[str, Any]) -> None:
    client, paid, acme = shop["client"], shop["paid"], shop["customer"]
    advance(container, days=10)  # past the full-refund window: used time and a fee are kept
    rid = paid.lines[0].resource_id
    refund = container.write(
        lambda conn, now: orders.unsubscribe(conn, acme.id, [rid], terms=terms(container), now=now)
    )
    (line,) = refund.lines
    assert line.used_units and line.fee_units and line.amount_units < 0
    answer = client.show_refund_order_details(ShowRefundOrderDetailsRequest(order_id=refund.id))
    body = raw(answer)
    assert body["total_count"] == 3
    by_kind = {row["id"].rsplit("-", 1)[1]: row for row in body["refund_infos"]}
    assert by_kind["refund"]["amount"] == exact(line.amount_units)
    assert by_kind["used"]["amount"] == exact(line.used_units)
    assert by_kind["fee"]["amount"] == exact(line.fee_units)
    assert -by_kind["refund"]["amount"] == (
        exact(paid.lines[0].amount_units) - by_kind["used"]["amount"] - by_kind["fee"]["amount"]
    )
    for row in body["refund_infos"]:
        assert row["base_order_id"] == paid.id and row["measure_id"] == "1"
        assert row["resource_type_code"] == "hws.resource.type.vm"
        assert row["service_type_code"] == EC2 and row["region_code"] == "ap-southeast-1"
    listed_refund = raw(client.list_customer_orders(ListCustomerOrdersRequest(order_type="4")))
    (info,) = listed_refund["order_infos"]
    assert (info["order_id"], info["status"], info["order_type"]) == (refund.id, 5, 4)
    assert info["amount_after_discount"] == exact(refund.amount_units)
    assert info["amount_info"]["commission_amount"] == exact(refund.fee_units)
    assert info["amount_info"]["consumed_amount"] == exact(line.used_units)
    refused(
        lambda: client.show_refund_order_details(ShowRefundOrderDetailsRequest(order_id=paid.id)),
        400,
        "CBC.99005026",
    )


def test_invoices_refusals_and_an_empty_list(
    container: Container, bss: str, shop: dict[str, Any]
) -> None:
    client, key = shop["client"], shop["key"]
    window = {"start_time": "2026-01-01T00:00:00Z", "end_time": "2026-12-31T00:00:00Z"}
    answer = client.list_invoices(ListInvoicesRequest(**window, offset=1, limit=10))
    assert (answer.status_code, answer.count, answer.invoices) == (200, 0, [])
    beta = new_customer(container, "beta")
    before = snapshot(container)
    for bad in (
        {"offset": 1, "limit": 10},  # no window
        {**window, "limit": 10},  # no page number
        {**window, "offset": 0, "limit": 10},
        {**window, "offset": 1, "limit": 101},
        {
            "start_time": window["end_time"],
            "end_time": window["start_time"],
            "offset": 1,
            "limit": 1,
        },
        {**window, "start_time": "2026-01-01", "offset": 1, "limit": 10},
    ):
        refused(lambda q=bad: client.list_invoices(ListInvoicesRequest(**q)), 400, "CBC.0100")
    # another domain in the path (without X-Domain-Id, which the listener refuses first): denied
    # exactly as a domain that does not exist
    call_query = {**window, "offset": "1", "limit": "10"}
    answers = []
    for domain in (beta.id, "f" * 32):
        got = sdk_signed(
            bss,
            key.key.id,
            key.secret,
            "GET",
            f"/v1.0/{domain}/payments/intl-invoices",
            Call(query=call_query),
        )
        answers.append((got.status_code, got.json()["error_code"]))
    assert answers == [(403, "CBC.0151")] * 2
    assert client.list_invoices(ListInvoicesRequest(**window, offset=1, limit=1)).count == 0
    assert snapshot(container) == before


def test_refund_order_of_a_downgrade(container: Container, shop: dict[str, Any]) -> None:
    """A downgrade gives back the difference at once: one refund row, from the purchase."""
    client, acme = shop["client"], shop["customer"]
    bought = pay(container, acme.id, shop["pending"].id)  # s6.large.2
    advance(container, days=3)
    rid = bought.lines[0].resource_id
    down = container.write(
        lambda conn, now: orders.create_change(
            conn, acme.id, rid, new_spec=SMALL, terms=terms(container), now=now
        )
    )
    assert down.status.value == "refunded" and down.amount_units < 0
    body = raw(client.show_refund_order_details(ShowRefundOrderDetailsRequest(order_id=down.id)))
    (row,) = body["refund_infos"]
    assert body["total_count"] == 1
    assert row["amount"] == exact(down.amount_units) and row["base_order_id"] == bought.id
    shown = client.show_customer_order_details(ShowCustomerOrderDetailsRequest(order_id=down.id))
    info = raw(shown)["order_info"]
    assert (info["status"], info["order_type"]) == (5, 3)
    assert info["amount_info"]["commission_amount"] is None
