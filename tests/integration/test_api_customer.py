"""The native customer API (/customer/v1) through FastAPI's TestClient, on SQLite and PostgreSQL:
every route answers the engine's own figures for the caller; writes go through the same services
as the operator's; authentication by access key only, refused in every other case.

Isolation (another customer's ids) and bad input are in test_api_customer_isolation.py.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json

import pytest
from fastapi.testclient import TestClient
from huaweicloudsdkcore.auth.credentials import GlobalCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

from cloudbill.api.app import create_app
from cloudbill.bills import service as bills
from cloudbill.bills.views import summary_view, trend_view
from cloudbill.bootstrap import Container
from cloudbill.credentials import service as credentials
from cloudbill.customers import inquiry
from cloudbill.customers import service as customers
from cloudbill.resources import service as resources
from cloudbill.views import overview_view
from tests.helpers import assert_books_balance, snapshot
from tests.integration.customer_world import (
    MONTHLY_VM,
    PREFIX,
    CustomerApi,
    Owned,
    error_code,
)

# The `world` (Alice and Bob) and `client` fixtures.
pytest_plugins = ("tests.integration.customer_fixtures",)
TOKEN_AUTH = {"Authorization": "Bearer test-token"}
VM = MONTHLY_VM["resource_type"]


@pytest.fixture
def alice(client: TestClient, world: dict[str, Owned]) -> CustomerApi:
    return CustomerApi(client, world["alice"].auth)


def _engine(container: Container, work):  # type: ignore[no-untyped-def]
    return container.read(work)


def test_account_and_bills_answer_the_engines_figures(
    container: Container, world: dict[str, Owned], alice: CustomerApi
) -> None:
    me = world["alice"].customer_id
    rounding = container.settings.bill_rounding
    overview = _engine(
        container, lambda conn, _now: customers.overview(conn, customers.get(conn, me))
    )
    profile = alice.get("/account")
    assert (profile["id"], profile["name"]) == (me, "alice")
    assert profile["overview"] == alice.get("/account/overview") == overview_view(overview)
    # 100 topped up - 0.1562 (the hour the package did not cover) - 8.60 cash for the order
    assert alice.get("/account/overview")["cash_balance"] == "91.2438"
    assert alice.get("/account/overview")["coupons"] == "2.00"
    assert alice.get("/account/overview")["expenditure_quota"] == "93.2438"
    history_total = _engine(container, lambda conn, _now: customers.history(conn, me)[1])
    assert alice.get("/account/history?limit=1")["total"] == history_total > 0
    assert alice.get("/account/postpaid-bills") == {"customer_id": me, "bills": []}

    summary = _engine(
        container, lambda conn, _now: bills.monthly_summary(conn, me, "2026-03", rounding=rounding)
    )
    assert alice.get("/bills/2026-03") == json.loads(json.dumps(summary_view(summary)))
    trend = _engine(
        container,
        lambda conn, now: bills.expenditure_trend(conn, me, months=3, now=now, rounding=rounding),
    )
    assert alice.get("/expenditure-trend?months=3") == trend_view(me, trend)

    # The hourly fees and the paid order (8.60 cash, coupon 2.00 unused: the order took none).
    fees = alice.get("/fee-records?month=2026-03")
    assert fees["total"] == 7
    hourly = [f for f in fees["items"] if f["bill_type"] == "usage"]
    # six hours: the 4-hour package covers the first four, cash the last two
    assert [(f["resource_id"], f["package_usage"], f["cash"]) for f in hourly] == [
        *[("alice-vm", "1", "0.00")] * 4,
        *[("alice-vm", "0", "0.0781")] * 2,
    ]
    (purchase,) = [f for f in fees["items"] if f["bill_type"] == "new_purchase"]
    assert purchase["order_id"] == world["alice"].paid_order
    assert purchase["resource_id"] == world["alice"].subscribed_resource
    assert (purchase["cash"], purchase["billing_mode"]) == ("8.60", "yearly_monthly")
    only_orders = alice.get("/fee-records?month=2026-03&billing_mode=yearly_monthly")
    assert [f["id"] for f in only_orders["items"]] == [purchase["id"]]
    by_resource = alice.get("/fee-records?granularity=resource&resource_id=alice-vm")
    assert by_resource["total"] == 1 and by_resource["items"][0]["amount"] == "0.1562"
    export = alice.client.get(f"{PREFIX}/bills/2026-03/export.csv", auth=alice.auth)
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert sorted(r["resource_id"] for r in rows) == sorted(f["resource_id"] for f in fees["items"])

    usage = alice.get("/package-usage")
    assert [(u["package_id"], u["quantity"]) for u in usage["items"]] == [
        (world["alice"].package, "1")
    ] * 4


def test_resources_orders_packages_coupons_answer_the_engines_figures(
    container: Container, world: dict[str, Owned], alice: CustomerApi
) -> None:
    owned = world["alice"]
    mine = _engine(
        container,
        lambda conn, _now: resources.list_resources(conn, customer_id=owned.customer_id)[0],
    )
    listed = alice.get("/resources")
    assert listed["total"] == len(mine) and {r["id"] for r in listed["items"]} == {
        r.id for r in mine
    }
    assert {owned.usage_resource, owned.subscribed_resource} <= {r.id for r in mine}
    shown = alice.get(f"/resources/{owned.usage_resource}")
    assert shown["customer_id"] == owned.customer_id and "history" in shown
    assert alice.get("/resources?billing_mode=pay_per_use")["items"][0]["id"] == "alice-vm"

    orders = alice.get("/orders")
    assert {o["id"] for o in orders["items"]} == {owned.paid_order, owned.pending_order}
    paid = alice.get(f"/orders/{owned.paid_order}")
    assert (paid["status"], paid["amount"], paid["coupon_amount"], paid["cash_amount"]) == (
        "paid",
        "11.60",
        "3.00",
        "8.60",
    )
    assert alice.get("/orders?status=pending_payment")["items"][0]["id"] == owned.pending_order
    renewals = alice.get("/renewals?view=all")
    assert [i["resource_id"] for i in renewals["items"]] == [owned.subscribed_resource]
    sub = alice.get(f"/subscriptions/{owned.subscribed_resource}")
    assert (sub["resource_id"], sub["auto_renew"]) == (owned.subscribed_resource, False)

    packages = alice.get("/packages")
    assert [(p["id"], p["used"], p["remaining"]) for p in packages["items"]] == [
        (owned.package, "4", "0")
    ]
    assert alice.get(f"/packages/{owned.package}")["usage"]["total"] == 4
    coupons = {c["id"]: c for c in alice.get("/coupons")["items"]}
    assert coupons[owned.spent_coupon]["balance"] == "0.00"
    assert coupons[owned.spare_coupon]["balance"] == "2.00"
    assert alice.get("/coupons?status=active")["total"] == 1
    spent = alice.get(f"/coupons/{owned.spent_coupon}")
    assert spent["usage"]["total"] >= 2  # issued, then used by the order

    notices = alice.get("/notices")
    assert notices["total"] >= 1
    assert all(n["recipient"] in (None, "billing@alice.example") for n in notices["items"])
    assert alice.get(f"/notices/{owned.notice}")["kind"] == notices["items"][-1]["kind"]


def test_catalog_and_price_inquiries_on_the_callers_terms(
    container: Container, world: dict[str, Owned], alice: CustomerApi
) -> None:
    me = world["alice"].customer_id
    catalog = alice.get("/catalog")
    assert catalog["version"] and "ecs" in {s["code"] for s in catalog["services"]}
    assert alice.get("/catalog/services/ecs")["code"] == "ecs"
    asked = {"resource_type": VM, "spec": "s6.large.2", "quantity": "10"}
    expected = _engine(
        container,
        lambda conn, _now: inquiry.pay_per_use(
            conn, **asked, usage_type="duration", unit=None, currency="USD", customer_id=me
        ),
    )
    assert alice.post("/catalog/inquiries/pay-per-use", asked) == expected
    assert expected["amount"] == "0.781"
    period = alice.post(
        "/catalog/inquiries/period", {"resource_type": VM, "spec": "s6.small.1", "period_count": 2}
    )
    assert period["amount"] == "23.20"
    # The customer's own currency: an operator-only field is refused, not silently ignored.
    foreign = {**asked, "customer_id": world["bob"].customer_id}
    alice.refused("POST", "/catalog/inquiries/pay-per-use", 400, "INVALID_ARGUMENT", json=foreign)


def test_orders_and_subscriptions_written_by_the_customer(
    container: Container, world: dict[str, Owned], alice: CustomerApi
) -> None:
    owned = world["alice"]
    body = {"items": [MONTHLY_VM], "reference": "api-1"}
    order = alice.post("/orders", body, 201)
    assert (order["status"], order["source"], order["amount"]) == (
        "pending_payment",
        "customer",
        "11.60",
    )
    assert alice.post("/orders", body, 201)["id"] == order["id"]  # the reference replays
    paid = alice.post(f"/orders/{order['id']}/pay", {"coupon_ids": [owned.spare_coupon]})
    assert (paid["coupon_amount"], paid["cash_amount"]) == ("2.00", "9.60")
    assert alice.get("/account/overview")["cash_balance"] == "81.6438"  # 91.2438 - 9.60
    cancelled = alice.post(f"/orders/{owned.pending_order}/cancel", {"reason": "changed mind"})
    assert cancelled["status"] == "cancelled"
    assert alice.post(f"/orders/{owned.pending_order}/cancel", {})["status"] == "cancelled"

    rid = owned.subscribed_resource
    renewal = alice.post(
        "/orders/renewal", {"resource_ids": [rid], "period_unit": "month", "period_count": 1}, 201
    )
    assert renewal["order_type"] == "renewal"
    alice.post(f"/orders/{renewal['id']}/cancel", {})
    change = alice.post("/orders/change", {"resource_id": rid, "new_spec": "s6.large.2"}, 201)
    assert change["order_type"] == "change" and change["lines"][0]["old_spec"] == "s6.small.1"
    alice.post(f"/orders/{change['id']}/cancel", {})
    conversion = alice.post(
        "/orders/conversion",
        {"resource_id": owned.usage_resource, "period_unit": "month", "period_count": 1},
        201,
    )
    assert conversion["order_type"] == "conversion"
    alice.post(f"/orders/{conversion['id']}/cancel", {})

    renew_quarterly = {"enabled": True, "period_unit": "month", "period_count": 3}
    sub = alice.put(f"/subscriptions/{rid}/auto-renew", renew_quarterly)
    assert (sub["auto_renew"], sub["auto_renew_period_count"]) == (True, 3)
    assert (
        alice.put(f"/subscriptions/{rid}/expire-policy", {"policy": "release"})["expire_policy"]
        == "release"
    )
    new_rid = paid["lines"][0]["resource_id"]
    refund = alice.post("/orders/unsubscription", {"resource_ids": [new_rid]}, 201)
    # no full-refund window by default: paid is the 9.60 of cash (the coupon spent on a
    # resource in use is not returned), the 10% fee 0.96 kept: 8.64 back in cash
    assert (refund["status"], refund["cash_amount"], refund["coupon_amount"]) == (
        "refunded",
        "-8.64",
        "0.00",
    )
    assert alice.get("/account/overview")["cash_balance"] == "90.2838"  # 81.6438 + 8.64
    assert_books_balance(container)


def test_balance_alert_set_by_the_customer(world: dict[str, Owned], alice: CustomerApi) -> None:
    assert alice.get("/account/balance-alert")["enabled"] is False
    alert = alice.put("/account/balance-alert", {"enabled": True, "threshold": "50.00"})
    assert (alert["enabled"], alert["threshold"], alert["customer_id"]) == (
        True,
        "50.00",
        world["alice"].customer_id,
    )
    assert alice.get("/account/balance-alert") == alert
    off = alice.put("/account/balance-alert", {"enabled": False})
    assert (off["enabled"], off["threshold"]) == (False, "50.00")


def test_the_customers_own_access_keys(
    container: Container, client: TestClient, world: dict[str, Owned], alice: CustomerApi
) -> None:
    first = world["alice"].key.key.id
    listed = alice.get("/access-keys")
    assert [k["access_key"] for k in listed["items"]] == [first]
    assert all("secret_key" not in k for k in listed["items"])
    second = alice.post("/access-keys", {"description": "ci"}, 201)
    assert len(second["secret_key"]) == 40 and second["description"] == "ci"
    before = snapshot(container)
    alice.refused("POST", "/access-keys", 409, "ACCESS_KEY_LIMIT_REACHED", json={})
    assert snapshot(container) == before
    with_second = CustomerApi(client, (second["access_key"], second["secret_key"]))
    assert with_second.get("/account")["id"] == world["alice"].customer_id
    assert alice.get(f"/access-keys/{second['access_key']}")["status"] == "active"
    assert alice.post(f"/access-keys/{second['access_key']}/disable")["status"] == "disabled"
    with_second.refused("GET", "/account", 401, "UNAUTHENTICATED")
    assert alice.post(f"/access-keys/{second['access_key']}/enable")["status"] == "active"
    assert with_second.get("/account")["id"] == world["alice"].customer_id
    assert alice.call("DELETE", f"/access-keys/{second['access_key']}")["deleted"] is True
    with_second.refused("GET", "/account", 401, "UNAUTHENTICATED")
    assert [k["access_key"] for k in alice.get("/access-keys")["items"]] == [first]


# -- authentication ----------------------------------------------------------------------------


def _disable(container: Container, ak: str) -> None:
    container.write(lambda conn, now: credentials.set_enabled(conn, ak, False, now=now))


def _delete(container: Container, ak: str) -> None:
    container.write(lambda conn, _now: credentials.delete(conn, ak))


@pytest.mark.parametrize(
    "case", ["none", "wrong-sk", "unknown-ak", "disabled", "deleted", "operator-token", "garbled"]
)
def test_refused_without_a_valid_access_key(
    container: Container, client: TestClient, world: dict[str, Owned], case: str
) -> None:
    ak, sk = world["alice"].auth
    kwargs: dict = {"auth": (ak, sk)}
    if case == "none":
        kwargs = {}
    elif case == "wrong-sk":
        kwargs = {"auth": (ak, sk[:-1] + ("x" if sk[-1] != "x" else "y"))}
    elif case == "unknown-ak":
        kwargs = {"auth": ("A" * 20, sk)}
    elif case == "disabled":
        _disable(container, ak)
    elif case == "deleted":
        _delete(container, ak)
    elif case == "operator-token":
        kwargs = {"headers": TOKEN_AUTH}
    elif case == "garbled":
        kwargs = {"headers": {"Authorization": "Basic !!not-base64!!"}}
    before = snapshot(container)
    for method, path, body in [
        ("GET", "/account/overview", None),
        ("GET", f"/orders/{world['alice'].paid_order}", None),
        ("POST", "/orders", {"items": [MONTHLY_VM]}),
        ("PUT", "/account/balance-alert", {"enabled": True, "threshold": "1"}),
        ("POST", "/access-keys", {}),
    ]:
        response = client.request(method, PREFIX + path, json=body, **kwargs)
        assert response.status_code == 401, (case, path, response.text)
        assert error_code(response) == "UNAUTHENTICATED"
    assert snapshot(container) == before


def test_a_customer_key_does_not_open_the_operator_api(
    container: Container, client: TestClient, world: dict[str, Owned]
) -> None:
    before = snapshot(container)
    for method, path in [("GET", "/customers"), ("POST", "/clock/advance")]:
        response = client.request(method, "/operator/v1" + path, auth=world["alice"].auth)
        assert response.status_code == 401 and error_code(response) == "UNAUTHENTICATED"
    assert snapshot(container) == before
    assert client.get("/operator/v1/customers", headers=TOKEN_AUTH).status_code == 200


def _signed(ak: str, sk: str, method: str, path: str, query=(), body: bytes = b""):  # type: ignore[no-untyped-def]
    """A request as huaweicloudsdkcore signs it (SDK-HMAC-SHA256): (url, headers, body)."""
    request = SdkRequest(
        method=method,
        schema="http",
        host="testserver",
        resource_path=PREFIX + path,
        query_params=list(query),
        header_params={"Content-Type": "application/json"},
        body=body,
    )
    signed = Signer(GlobalCredentials(ak, sk)).sign(request)
    return signed.uri, signed.header_params, body


def test_a_signed_request_is_accepted_and_a_tampered_one_refused(
    container: Container, client: TestClient, world: dict[str, Owned]
) -> None:
    ak, sk = world["alice"].auth
    url, headers, _ = _signed(ak, sk, "GET", "/fee-records", [("granularity", "resource")])
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    assert "alice-vm" in {item["resource_id"] for item in response.json()["items"]}
    body = json.dumps({"enabled": True, "threshold": "42.00"}).encode()
    url, headers, body = _signed(ak, sk, "PUT", "/account/balance-alert", body=body)
    response = client.put(url, headers=headers, content=body)
    assert response.status_code == 200 and response.json()["threshold"] == "42.00"
    before = snapshot(container)
    tampered = body.replace(b"42.00", b"1.00")
    response = client.put(url, headers=headers, content=tampered)
    assert response.status_code == 401 and error_code(response) == "UNAUTHENTICATED"
    _disable(container, ak)
    url, headers, _ = _signed(ak, sk, "GET", "/account")
    response = client.get(url, headers=headers)
    assert response.status_code == 401 and error_code(response) == "UNAUTHENTICATED"
    assert snapshot(container) == before


def test_too_many_requests_for_one_key(container: Container, world: dict[str, Owned]) -> None:
    settings = container.settings.model_copy(update={"bss_rate_per_s": 0.001, "bss_burst": 2})
    client = TestClient(create_app(dataclasses.replace(container, settings=settings)))
    alice = CustomerApi(client, world["alice"].auth)
    alice.get("/account")
    alice.get("/account")
    before = snapshot(container)
    alert = {"enabled": True, "threshold": "5"}
    alice.refused("PUT", "/account/balance-alert", 429, "RATE_LIMITED", json=alert)
    assert snapshot(container) == before
    assert CustomerApi(client, world["bob"].auth).get("/account")["name"] == "bob"  # per key


def test_openapi_document_and_docs_of_the_customer_api(client: TestClient) -> None:
    spec = client.get(PREFIX + "/openapi.json").json()
    assert spec["components"]["securitySchemes"]["HTTPBasic"]["scheme"] == "basic"
    paths = spec["paths"]
    assert "/orders/{order_id}/pay" in paths and "/account/balance-alert" in paths
    assert not any("customer_id" in path for path in paths)
    for operator_only in ("/clock", "/customers", "/ledger/verify", "/usage", "/catalog/versions"):
        assert operator_only not in paths
    assert client.get(PREFIX + "/docs").status_code == 200
    assert PREFIX not in "".join(client.get("/openapi.json").json()["paths"])
