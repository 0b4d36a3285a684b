"""Orders and subscriptions through the operator API: buy, pay with a coupon, list, show,
renewal views, auto-renew and expire policy settings, cancel, unsubscribe; refusals change
nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import assert_books_balance, snapshot
from tests.integration.test_api_operator import VM, Api, client  # noqa: F401

VM_SMALL = {
    "resource_type": VM,
    "spec": "s6.small.1",
    "region": "ap-southeast-1",
    "name": "web",
    "period_unit": "month",
    "period_count": 1,
}


def _customer(api: Api, **fields: Any) -> str:
    return api.customer("buyer", **fields)["id"]


@pytest.fixture
def api(client) -> Api:  # type: ignore[no-untyped-def]  # noqa: F811
    return Api(client)


def test_buy_pay_renew_unsubscribe(api: Api, container) -> None:  # type: ignore[no-untyped-def]
    cid = _customer(api, timezone="Asia/Shanghai")
    api.topup(cid, "100.00", "seed")
    coupon = api.post(
        f"/customers/{cid}/coupons",
        {"value": "3.00", "valid_to": "2026-12-31T00:00:00Z", "reference": "c1"},
        201,
    )
    order = api.post(f"/customers/{cid}/orders", {"items": [VM_SMALL], "reference": "t1"}, 201)
    assert order["status"] == "pending_payment" and order["amount"] == "11.60"
    again = api.post(f"/customers/{cid}/orders", {"items": [VM_SMALL], "reference": "t1"}, 201)
    assert again["id"] == order["id"]
    paid = api.post(f"/customers/{cid}/orders/{order['id']}/pay", {"coupon_ids": [coupon["id"]]})
    assert (paid["status"], paid["coupon_amount"], paid["cash_amount"]) == ("paid", "3.00", "8.60")
    assert paid["invoiceable_amount"] == "8.60"
    rid = paid["lines"][0]["resource_id"]
    listed = api.get(f"/customers/{cid}/orders?status=paid")
    assert listed["total"] == 1 and listed["items"][0]["id"] == order["id"]
    # a month from 16 March ends with 16 April (Shanghai): 31 days away, outside the 30-day view
    assert api.get(f"/customers/{cid}/renewals")["counts"]["expiring"] == 0
    views = api.get(f"/customers/{cid}/renewals?view=expiring&within_days=32")
    assert views["counts"] == {"expiring": 1, "expired": 0, "frozen": 0}
    assert views["items"][0]["resource_id"] == rid
    sub = api.call(
        "PUT", f"/customers/{cid}/subscriptions/{rid}/auto-renew", json={"enabled": True}
    )
    assert sub["auto_renew"] is True and sub["auto_renew_period_unit"] == "month"
    sub = api.call(
        "PUT", f"/customers/{cid}/subscriptions/{rid}/expire-policy", json={"policy": "release"}
    )
    assert sub["expire_policy"] == "release"
    renewal = api.post(
        f"/customers/{cid}/orders/renewal",
        {"resource_ids": [rid], "period_unit": "month", "period_count": 2},
        201,
    )
    cancelled = api.post(f"/customers/{cid}/orders/{renewal['id']}/cancel", {})
    assert cancelled["status"] == "cancelled"
    refund = api.post(f"/customers/{cid}/orders/unsubscription", {"resource_ids": [rid]}, 201)
    # no full-refund window by default (Huawei's international site): paid is the 8.60 of
    # cash (the 3.00 coupon spent on a resource in use is not returned), nothing used yet,
    # the 10% fee 0.86 kept: 7.74 back in cash
    assert refund["status"] == "refunded"
    assert (refund["cash_amount"], refund["coupon_amount"]) == ("-7.74", "0.00")
    assert api.overview(cid)["cash_balance"] == "99.14"
    assert api.get(f"/resources/{rid}")["status"] == "released"
    assert_books_balance(container)


def test_refusals_change_nothing(api: Api, container) -> None:  # type: ignore[no-untyped-def]
    cid = _customer(api)
    other = api.customer("other")["id"]
    api.topup(cid, "5.00", "seed")
    order = api.post(f"/customers/{cid}/orders", {"items": [VM_SMALL]}, 201)
    before = snapshot(container)
    cases = [
        (
            "POST",
            f"/customers/{cid}/orders",
            {"items": [{**VM_SMALL, "period_count": 0}]},
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "POST",
            f"/customers/{cid}/orders",
            {"items": [{**VM_SMALL, "period_count": 10}]},
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "POST",
            f"/customers/{cid}/orders",
            {"items": [{**VM_SMALL, "spec": "nope"}]},
            404,
            "CATALOG_ITEM_NOT_FOUND",
        ),
        ("POST", f"/customers/{other}/orders/{order['id']}/pay", {}, 404, "ORDER_NOT_FOUND"),
        ("GET", f"/customers/{other}/orders/{order['id']}", None, 404, "ORDER_NOT_FOUND"),
        ("POST", f"/customers/{cid}/orders/{order['id']}/pay", {}, 409, "INSUFFICIENT_BALANCE"),
        (
            "POST",
            f"/customers/{cid}/orders/{order['id']}/pay",
            {"coupon_ids": ["nope"]},
            404,
            "NOT_FOUND",
        ),
        (
            "POST",
            f"/customers/{cid}/orders/renewal",
            {"resource_ids": ["nope"], "period_unit": "month", "period_count": 1},
            404,
            "RESOURCE_NOT_FOUND",
        ),
        ("GET", f"/customers/{cid}/renewals?view=sideways", None, 400, "INVALID_ARGUMENT"),
    ]
    for method, path, body, status, code in cases:
        kwargs = {"json": body} if body is not None else {}
        api.refused(method, path, status, code, **kwargs)
    assert snapshot(container) == before
