"""The operator REST API, driven in-process with FastAPI's TestClient on SQLite and PostgreSQL.

Every refused request must answer a 4xx with a stable `error.code` and change nothing: the
bad-input table compares `snapshot(container)` before and after each request.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from cloudbill.api.app import create_app
from cloudbill.bootstrap import Container
from cloudbill.catalog.loader import DEFAULT_CATALOG_PATH
from tests.conftest import T0
from tests.helpers import assert_books_balance, snapshot

API = "/operator/v1"
TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
VM = "hws.resource.type.vm"
BANDWIDTH = "hws.resource.type.bandwidth"
REGION = "ap-southeast-1"
DEFAULT_YAML = DEFAULT_CATALOG_PATH.read_text(encoding="utf-8")
DEFAULT_VERSION = "2026.11-default"


# -- helpers ---------------------------------------------------------------------------------


class _DecimalLoader(yaml.SafeLoader):
    """Reads YAML floats as exact Decimals from their text (never through a float)."""


_DecimalLoader.add_constructor(
    "tag:yaml.org,2002:float", lambda loader, node: Decimal(loader.construct_scalar(node))
)
CATALOG = yaml.load(DEFAULT_YAML, Loader=_DecimalLoader)


def catalog_prices(resource_type: str, spec: str, currency: str = "USD") -> dict[str, Any]:
    for service in CATALOG["services"]:
        for rtype in service["resource_types"]:
            if rtype["code"] != resource_type:
                continue
            for item in rtype["specs"]:
                if item["code"] == spec:
                    return item["prices"][currency]
    raise AssertionError(f"{resource_type}/{spec} is not in the default catalog")


def catalog_service_of(resource_type: str) -> str:
    for service in CATALOG["services"]:
        if any(rtype["code"] == resource_type for rtype in service["resource_types"]):
            return service["code"]
    raise AssertionError(f"{resource_type} is not in the default catalog")


def catalog_discount_percent(discount_id: str) -> Decimal:
    (found,) = [d for d in CATALOG["discounts"] if d["id"] == discount_id]
    return Decimal(str(found["percent"]))


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def money(text: str) -> Decimal:
    assert isinstance(text, str), f"amounts are decimal strings, got {text!r}"
    return Decimal(text)


def edited_catalog(version: str, old_line: str, new_line: str) -> str:
    assert DEFAULT_YAML.count(f'version: "{DEFAULT_VERSION}"') == 1
    assert DEFAULT_YAML.count(old_line) == 1, old_line
    text = DEFAULT_YAML.replace(f'version: "{DEFAULT_VERSION}"', f'version: "{version}"')
    return text.replace(old_line, new_line)


S6_USD_LINE = "USD: {pay_per_use: {duration: {unit: h, price: 0.0781}}, monthly: 39.10}"


def error_code(response) -> str:  # type: ignore[no-untyped-def]
    body = response.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]["code"]


class Api:
    """A tiny client: `api.post(path, json)` asserts the expected status and returns the body."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def call(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        headers = {**AUTH, **kwargs.pop("headers", {})}
        response = self.client.request(method, API + path, headers=headers, **kwargs)
        assert response.status_code == expect, (response.status_code, response.text)
        return response.json()

    def get(self, path: str, expect: int = 200, **kwargs: Any) -> Any:
        return self.call("GET", path, expect, **kwargs)

    def post(self, path: str, json: Any = None, expect: int = 200, **kwargs: Any) -> Any:
        return self.call("POST", path, expect, json=json, **kwargs)

    def patch(self, path: str, json: Any, expect: int = 200) -> Any:
        return self.call("PATCH", path, expect, json=json)

    def refused(self, method: str, path: str, status: int, code: str, **kwargs: Any) -> dict:
        response = self.client.request(method, API + path, headers=AUTH, **kwargs)
        assert response.status_code == status, (response.status_code, response.text)
        assert error_code(response) == code, response.text
        return response.json()["error"]

    # -- domain shortcuts --
    def customer(self, name: str, currency: str = "USD", **fields: Any) -> dict:
        return self.post("/customers", {"name": name, "currency": currency, **fields}, 201)

    def topup(self, cid: str, amount: str, reference: str) -> dict:
        return self.post(
            f"/customers/{cid}/topups", {"amount": amount, "reference": reference}, 201
        )

    def charge(self, cid: str, amount: str, reference: str) -> dict:
        body = {"amount": amount, "direction": "charge", "reason": "usage", "reference": reference}
        return self.post(f"/customers/{cid}/adjustments", body, 201)

    def overview(self, cid: str) -> dict:
        return self.get(f"/customers/{cid}")["overview"]

    def vm(self, cid: str, name: str = "web-1", **fields: Any) -> dict:
        body = {"customer_id": cid, "resource_type": VM, "spec": "s6.large.2", "region": REGION,
                "name": name, **fields}  # fmt: skip
        return self.post("/resources", body, 201)


@pytest.fixture
def client(container: Container) -> TestClient:
    return TestClient(create_app(container))


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)


# -- authentication, health, OpenAPI ---------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-token"),
        pytest.param({"Authorization": "Bearer wrong-token"}, id="wrong-token"),
        pytest.param({"Authorization": f"Basic {TOKEN}"}, id="wrong-scheme"),
        pytest.param({"Authorization": "Bearer "}, id="empty-token"),
    ],
)
def test_operator_routes_need_the_token(
    client: TestClient, container: Container, headers: dict[str, str]
) -> None:
    before = snapshot(container)
    for method, path, body in [
        ("GET", "/customers", None),
        ("GET", "/catalog", None),
        ("GET", "/ledger/verify", None),
        ("POST", "/customers", {"name": "intruder", "currency": "USD"}),
        ("POST", "/clock/advance", {"days": 1}),
    ]:
        response = client.request(method, API + path, headers=headers, json=body)
        assert response.status_code == 401, (path, response.text)
        assert error_code(response) == "UNAUTHENTICATED"
    assert snapshot(container) == before
    assert client.get(API + "/clock", headers=AUTH).json()["now"] == "2026-03-16T09:00:00Z"


def test_health_needs_no_token(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["version"]


def test_openapi_lists_the_operator_routes(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    paths = spec["paths"]
    for path, method in [
        ("/customers", "post"),
        ("/customers", "get"),
        ("/customers/{customer_id}", "patch"),
        ("/customers/{customer_id}/topups", "post"),
        ("/customers/{customer_id}/withdrawals", "post"),
        ("/customers/{customer_id}/adjustments", "post"),
        ("/customers/{customer_id}/freeze", "post"),
        ("/customers/{customer_id}/history", "get"),
        ("/resources", "post"),
        ("/resources/{resource_id}/release", "post"),
        ("/catalog", "get"),
        ("/catalog/versions", "post"),
        ("/catalog/inquiries/pay-per-use", "post"),
        ("/catalog/inquiries/period", "post"),
        ("/clock/advance", "post"),
        ("/ledger/verify", "get"),
    ]:
        assert method in paths.get(API + path, {}), f"{method.upper()} {API}{path} not published"
    schemes = spec["components"]["securitySchemes"]
    assert any(s.get("scheme", "").lower() == "bearer" for s in schemes.values())
    assert "/health" in paths


# -- customers ---------------------------------------------------------------------------------


def test_create_list_and_filter_customers(api: Api) -> None:
    created = api.customer(
        "acme", email="billing@acme.example", mobile="+6580000001", level=2,
        timezone="Asia/Singapore",
    )  # fmt: skip
    assert created["name"] == "acme"
    assert created["currency"] == "USD"
    assert created["payment_mode"] == "prepaid"
    assert created["credit_limit"] == "0.00"
    assert created["level"] == 2
    assert created["timezone"] == "Asia/Singapore"
    assert created["status"] == "active"
    assert created["created_at"] == "2026-03-16T09:00:00Z"

    post = api.customer("bravo", "CNY", payment_mode="postpaid", credit_limit="5000.00")
    assert post["credit_limit"] == "5000.00"
    frozen = api.customer("charlie")
    api.post(f"/customers/{frozen['id']}/freeze", {"reason": "fraud check"})
    owing = api.customer("delta")
    api.charge(owing["id"], "15.00", "usage-1")

    def names(**query: Any) -> tuple[int, list[str]]:
        page = api.get("/customers", params=query)
        return page["total"], sorted(item["name"] for item in page["items"])

    assert names() == (4, ["acme", "bravo", "charlie", "delta"])
    assert names(status="frozen") == (1, ["charlie"])
    assert names(status="active") == (3, ["acme", "bravo", "delta"])
    assert names(payment_mode="postpaid") == (1, ["bravo"])
    assert names(payment_mode="prepaid") == (3, ["acme", "charlie", "delta"])
    assert names(in_arrears="true") == (1, ["delta"])
    assert names(in_arrears="false") == (3, ["acme", "bravo", "charlie"])

    # paging: total stays the full count, pages do not overlap
    first = api.get("/customers", params={"limit": 3, "offset": 0})
    rest = api.get("/customers", params={"limit": 3, "offset": 3})
    assert first["total"] == rest["total"] == 4
    assert len(first["items"]) == 3 and len(rest["items"]) == 1
    ids = [c["id"] for c in first["items"] + rest["items"]]
    assert sorted(ids) == sorted([created["id"], post["id"], frozen["id"], owing["id"]])

    # list items carry the overview figures
    (delta,) = api.get("/customers", params={"in_arrears": "true"})["items"]
    assert delta["overview"]["debt"] == "15.00"
    assert delta["overview"]["in_arrears"] is True


def test_show_customer_with_overview_figures(api: Api) -> None:
    prepaid = api.customer("acme")
    api.topup(prepaid["id"], "100.00", "pay-1")
    api.charge(prepaid["id"], "30.25", "usage-1")
    shown = api.get(f"/customers/{prepaid['id']}")
    assert shown["id"] == prepaid["id"] and shown["name"] == "acme"
    assert shown["overview"] == {
        "currency": "USD",
        "payment_mode": "prepaid",
        "cash_balance": "69.75",
        "withdrawable": "69.75",
        "debt": "0.00",
        "unpaid": "0.00",
        "billed_outstanding": "0.00",
        "overdue": "0.00",
        "unbilled": "0.00",
        "credit_limit": "0.00",
        "available_credit": "0.00",
        "coupons": "0.00",
        "expenditure_quota": "69.75",
        "in_arrears": False,
        "arrears_since": None,
        "status": "active",
    }
    assert api.get(f"/customers/{prepaid['id']}/overview") == shown["overview"]

    # post-paid: a charge beyond the cash uses the credit line (unpaid), not debt
    postpaid = api.customer("bravo", payment_mode="postpaid", credit_limit="1000.00")
    api.topup(postpaid["id"], "50.00", "pay-2")
    api.charge(postpaid["id"], "250.00", "usage-2")
    figures = api.overview(postpaid["id"])
    assert figures["cash_balance"] == "0.00"
    assert figures["unpaid"] == "200.00"
    assert (figures["unbilled"], figures["billed_outstanding"]) == ("200.00", "0.00")
    assert figures["credit_limit"] == "1000.00"
    assert figures["available_credit"] == "800.00"
    assert figures["expenditure_quota"] == "800.00"
    assert figures["in_arrears"] is False

    # prepaid: a charge beyond the cash is debt, and the customer is in arrears since now
    api.charge(prepaid["id"], "100.00", "usage-3")
    figures = api.overview(prepaid["id"])
    assert figures["cash_balance"] == "0.00"
    assert figures["debt"] == str(Decimal("100.00") - Decimal("69.75"))
    assert figures["withdrawable"] == "0.00"
    assert figures["in_arrears"] is True
    assert figures["arrears_since"] == "2026-03-16T09:00:00Z"


def test_patch_customer(api: Api) -> None:
    cid = api.customer("acme")["id"]
    api.post("/clock/advance", {"hours": 2})
    updated = api.patch(
        f"/customers/{cid}",
        {"email": "ap@acme.example", "level": 3, "timezone": "Asia/Shanghai", "name": "acme-2"},
    )
    assert updated["email"] == "ap@acme.example"
    assert updated["level"] == 3
    assert updated["timezone"] == "Asia/Shanghai"
    assert updated["name"] == "acme-2"
    assert updated["updated_at"] == "2026-03-16T11:00:00Z"
    assert updated["created_at"] == "2026-03-16T09:00:00Z"

    became_postpaid = api.patch(
        f"/customers/{cid}", {"payment_mode": "postpaid", "credit_limit": "250.50"}
    )
    assert became_postpaid["payment_mode"] == "postpaid"
    assert became_postpaid["credit_limit"] == "250.50"
    shown = api.get(f"/customers/{cid}")
    assert shown["name"] == "acme-2" and shown["email"] == "ap@acme.example"
    assert shown["overview"]["available_credit"] == "250.50"


def test_payment_mode_change_refused_while_owing(api: Api, container: Container) -> None:
    cid = api.customer("bravo", payment_mode="postpaid", credit_limit="500.00")["id"]
    api.charge(cid, "120.00", "usage-1")
    assert api.overview(cid)["unpaid"] == "120.00"
    before = snapshot(container)
    api.refused(
        "PATCH", f"/customers/{cid}", 409, "INVALID_STATE", json={"payment_mode": "prepaid"}
    )
    assert snapshot(container) == before
    repaid = api.topup(cid, "120.00", "pay-1")
    assert repaid["unpaid_repaid"] == "120.00" and repaid["cash_credited"] == "0.00"
    prepaid = api.patch(f"/customers/{cid}", {"payment_mode": "prepaid"})
    assert prepaid["payment_mode"] == "prepaid" and prepaid["credit_limit"] == "0.00"


# -- money: top-ups, withdrawals, adjustments, history ---------------------------------------


def test_one_movement_past_int64_is_refused_but_balances_grow_past_it(
    api: Api, container: Container
) -> None:
    cid = api.customer("acme")["id"]
    api.topup(cid, "90000000000.00", "big-1")
    api.topup(cid, "90000000000.00", "big-2")  # the balance passes int64's 92 billion
    before = snapshot(container)
    api.refused(
        "POST", f"/customers/{cid}/topups", 400, "AMOUNT_OUT_OF_RANGE",
        json={"amount": "100000000000.00", "reference": "big-3"},
    )  # fmt: skip
    assert snapshot(container) == before
    assert api.overview(cid)["cash_balance"] == "180000000000.00"
    assert_books_balance(container)


def test_topup_is_idempotent_by_reference(api: Api, container: Container) -> None:
    cid = api.customer("acme")["id"]
    first = api.topup(cid, "100.00", "gw-1")
    assert first["replayed"] is False
    assert first["kind"] == "topup"
    assert first["reference"] == "gw-1"
    assert first["amount"] == "100.00"
    assert first["cash_credited"] == "100.00"
    assert first["debt_written_off"] == "0.00"
    assert isinstance(first["transaction_id"], int)

    before = snapshot(container)
    again = api.topup(cid, "100.00", "gw-1")
    assert again["replayed"] is True
    assert again["transaction_id"] == first["transaction_id"]
    assert again["cash_credited"] == "100.00"
    assert snapshot(container) == before

    error = api.refused(
        "POST", f"/customers/{cid}/topups", 409, "IDEMPOTENCY_CONFLICT",
        json={"amount": "90.00", "reference": "gw-1"},
    )  # fmt: skip
    assert "gw-1" in error["message"]
    assert snapshot(container) == before
    assert api.overview(cid)["cash_balance"] == "100.00"
    assert_books_balance(container)


def test_topup_writes_off_debt_first(api: Api, container: Container) -> None:
    cid = api.customer("acme")["id"]
    api.topup(cid, "10.00", "pay-1")
    charged = api.charge(cid, "25.00", "usage-1")
    assert charged["from_cash"] == "10.00"
    assert charged["to_debt"] == "15.00"
    assert api.overview(cid)["debt"] == "15.00"

    paid = api.topup(cid, "40.00", "pay-2")
    assert paid["debt_written_off"] == "15.00"
    assert paid["unpaid_repaid"] == "0.00"
    assert paid["cash_credited"] == "25.00"
    figures = api.overview(cid)
    assert figures["debt"] == "0.00" and figures["cash_balance"] == "25.00"
    assert figures["in_arrears"] is False and figures["arrears_since"] is None
    assert_books_balance(container)


def test_withdrawals(api: Api, container: Container) -> None:
    cid = api.customer("acme")["id"]
    api.topup(cid, "100.00", "pay-1")

    out = api.post(f"/customers/{cid}/withdrawals", {"amount": "40.00", "reference": "wd-1"}, 201)
    assert out["kind"] == "withdrawal" and out["amount"] == "40.00" and out["replayed"] is False
    assert api.overview(cid)["cash_balance"] == "60.00"
    replay = api.post(
        f"/customers/{cid}/withdrawals", {"amount": "40.00", "reference": "wd-1"}, 201
    )
    assert replay["replayed"] is True and replay["transaction_id"] == out["transaction_id"]
    assert api.overview(cid)["cash_balance"] == "60.00"

    before = snapshot(container)
    error = api.refused(
        "POST", f"/customers/{cid}/withdrawals", 409, "INSUFFICIENT_BALANCE",
        json={"amount": "60.01", "reference": "wd-2"},
    )  # fmt: skip
    assert "60.00" in error["message"]
    assert snapshot(container) == before

    # the whole balance may go
    api.post(f"/customers/{cid}/withdrawals", {"amount": "60.00", "reference": "wd-3"}, 201)
    assert api.overview(cid)["cash_balance"] == "0.00"
    assert_books_balance(container)


def test_withdrawal_refused_in_arrears(api: Api, container: Container) -> None:
    cid = api.customer("acme")["id"]
    api.topup(cid, "5.00", "pay-1")
    api.charge(cid, "8.00", "usage-1")
    assert api.overview(cid)["in_arrears"] is True
    before = snapshot(container)
    api.refused(
        "POST", f"/customers/{cid}/withdrawals", 409, "CUSTOMER_IN_ARREARS",
        json={"amount": "1.00", "reference": "wd-1"},
    )  # fmt: skip
    assert snapshot(container) == before


def test_freeze_and_unfreeze(api: Api, container: Container) -> None:
    cid = api.customer("acme")["id"]
    api.topup(cid, "50.00", "pay-1")
    frozen = api.post(f"/customers/{cid}/freeze", {"reason": "fraud check"})
    assert frozen["status"] == "frozen"
    assert api.overview(cid)["status"] == "frozen"

    before = snapshot(container)
    api.refused(
        "POST", f"/customers/{cid}/withdrawals", 409, "CUSTOMER_FROZEN",
        json={"amount": "1.00", "reference": "wd-1"},
    )  # fmt: skip
    api.refused(
        "POST", "/resources", 409, "CUSTOMER_FROZEN",
        json={"customer_id": cid, "resource_type": VM, "spec": "s6.large.2", "region": REGION,
              "name": "web-1"},
    )  # fmt: skip
    assert snapshot(container) == before

    # paying is always possible, even when frozen
    paid = api.topup(cid, "10.00", "pay-2")
    assert paid["cash_credited"] == "10.00"
    assert api.overview(cid)["cash_balance"] == "60.00"

    # freezing twice is harmless
    assert api.post(f"/customers/{cid}/freeze", {})["status"] == "frozen"
    unfrozen = api.post(f"/customers/{cid}/unfreeze", {"reason": "cleared"})
    assert unfrozen["status"] == "active"
    api.post(f"/customers/{cid}/withdrawals", {"amount": "1.00", "reference": "wd-2"}, 201)
    assert api.vm(cid)["status"] == "normal"
    assert_books_balance(container)


def test_adjustments_charge_and_credit(api: Api, container: Container) -> None:
    cid = api.customer("acme")["id"]
    api.topup(cid, "20.00", "pay-1")
    credit = api.post(
        f"/customers/{cid}/adjustments",
        {"amount": "5.50", "direction": "credit", "reason": "SLA credit", "reference": "adj-1"},
        201,
    )
    assert credit["kind"] == "adjustment" and credit["direction"] == "credit"
    assert credit["cash_credited"] == "5.50"
    assert api.overview(cid)["cash_balance"] == "25.50"

    charge = api.charge(cid, "30.00", "adj-2")
    assert charge["direction"] == "charge"
    assert charge["from_cash"] == "25.50"
    assert charge["to_unpaid"] == "0.00"
    assert charge["to_debt"] == "4.50"
    assert api.overview(cid)["debt"] == "4.50"

    credit_back = api.post(
        f"/customers/{cid}/adjustments",
        {"amount": "4.50", "direction": "credit", "reason": "goodwill", "reference": "adj-3"},
        201,
    )
    assert credit_back["debt_written_off"] == "4.50"
    figures = api.overview(cid)
    assert figures["debt"] == "0.00" and figures["in_arrears"] is False
    assert figures["arrears_since"] is None
    assert_books_balance(container)


def test_history_lists_movements_newest_first(api: Api) -> None:
    cid = api.customer("acme")["id"]
    api.topup(cid, "100.00", "pay-1")
    api.post("/clock/advance", {"days": 1})
    api.post(f"/customers/{cid}/withdrawals", {"amount": "30.00", "reference": "wd-1"}, 201)
    api.post("/clock/advance", {"days": 1})
    api.charge(cid, "80.00", "usage-1")  # 70.00 from cash, 10.00 debt

    history = api.get(f"/customers/{cid}/history")
    rows = [(h["kind"], h["account"], h["change"], h["reference"]) for h in history["items"]]
    assert rows == [
        ("adjustment", "cash", "-70.00", "usage-1"),
        ("adjustment", "debt", "10.00", "usage-1"),
        ("withdrawal", "cash", "-30.00", "wd-1"),
        ("topup", "cash", "100.00", "pay-1"),
    ]
    assert history["total"] == 4
    instants = [h["created_at"] for h in history["items"]]
    assert instants == [
        "2026-03-18T09:00:00Z",
        "2026-03-18T09:00:00Z",
        "2026-03-17T09:00:00Z",
        "2026-03-16T09:00:00Z",
    ]
    page = api.get(f"/customers/{cid}/history", params={"limit": 1, "offset": 2})
    assert page["total"] == 4 and [h["reference"] for h in page["items"]] == ["wd-1"]
    api.refused("GET", "/customers/nope/history", 404, "CUSTOMER_NOT_FOUND")


# -- resources ---------------------------------------------------------------------------------


def test_resources_register_list_show_release(api: Api, container: Container) -> None:
    cid = api.customer("acme")["id"]
    api.topup(cid, "100.00", "pay-1")
    vm = api.vm(cid, id="vm-1")
    assert vm["id"] == "vm-1" and vm["created"] is True
    assert vm["customer_id"] == cid
    assert vm["service"] == catalog_service_of(VM) == "ecs"
    assert vm["billing_mode"] == "pay_per_use"
    assert vm["status"] == "normal" and vm["status_code"] == 1
    assert vm["expire_at"] is None

    # the same id and data again: no-op
    assert api.vm(cid, id="vm-1")["created"] is False
    eip = api.post(
        "/resources",
        {"customer_id": cid, "resource_type": BANDWIDTH, "spec": "bandwidth_5m", "region": REGION,
         "name": "web-1-eip", "parent_id": "vm-1"},
        201,
    )  # fmt: skip
    assert eip["parent_id"] == "vm-1" and eip["service"] == catalog_service_of(BANDWIDTH)
    yearly = api.vm(
        cid, "db-1", billing_mode="yearly_monthly", expire_at="2027-03-16T09:00:00Z"
    )  # yearly/monthly
    assert yearly["billing_mode"] == "yearly_monthly"
    assert yearly["expire_at"] == "2027-03-16T09:00:00Z"

    listing = api.get("/resources", params={"customer_id": cid})
    assert listing["total"] == 3
    assert {r["id"] for r in listing["items"]} == {"vm-1", eip["id"], yearly["id"]}
    children = api.get("/resources", params={"parent_id": "vm-1"})
    assert [r["id"] for r in children["items"]] == [eip["id"]]
    assert api.get("/resources", params={"billing_mode": "yearly_monthly"})["total"] == 1

    api.post("/clock/advance", {"hours": 3})
    released = api.post("/resources/vm-1/release", {"reason": "customer deleted it"})
    assert released["status"] == "released" and released["status_code"] == 5
    assert released["status_since"] == "2026-03-16T12:00:00Z"
    again = api.post("/resources/vm-1/release", {"reason": "twice"})
    assert again["status"] == "released"
    assert again["status_since"] == "2026-03-16T12:00:00Z"

    shown = api.get("/resources/vm-1")
    assert shown["status"] == "released"
    assert [(h["from"], h["to"], h["at"], h["reason"]) for h in shown["history"]] == [
        (None, "normal", "2026-03-16T09:00:00Z", "registered"),
        ("normal", "released", "2026-03-16T12:00:00Z", "customer deleted it"),
    ]
    assert api.get("/resources", params={"status": "released"})["total"] == 1

    # released is terminal: nothing new may hang off it
    before = snapshot(container)
    api.refused(
        "POST", "/resources", 409, "INVALID_STATE",
        json={"customer_id": cid, "resource_type": BANDWIDTH, "spec": "bandwidth_5m",
              "region": REGION, "name": "late-eip", "parent_id": "vm-1"},
    )  # fmt: skip
    assert snapshot(container) == before
    api.refused("GET", "/resources/nope", 404, "RESOURCE_NOT_FOUND")


def test_expiry_in_another_zone_is_stored_as_utc(api: Api) -> None:
    cid = api.customer("acme")["id"]
    resource = api.vm(cid, billing_mode="yearly_monthly", expire_at="2027-03-16T17:00:00+08:00")
    assert resource["expire_at"] == "2027-03-16T09:00:00Z"
    assert api.get(f"/resources/{resource['id']}")["expire_at"] == "2027-03-16T09:00:00Z"


def test_expiry_without_zone_is_not_a_server_error(
    client: TestClient, container: Container
) -> None:
    api = Api(TestClient(client.app, raise_server_exceptions=False))
    cid = api.customer("acme")["id"]
    before = snapshot(container)
    response = api.client.post(
        API + "/resources",
        headers=AUTH,
        json={"customer_id": cid, "resource_type": VM, "spec": "s6.large.2", "region": REGION,
              "name": "db-1", "billing_mode": "yearly_monthly",
              "expire_at": "2027-03-16T09:00:00"},
    )  # fmt: skip
    if response.status_code == 201:
        assert response.json()["expire_at"] == "2027-03-16T09:00:00Z"
    else:
        assert response.status_code == 400, response.text
        assert error_code(response) == "INVALID_ARGUMENT"
        assert snapshot(container) == before


def test_pay_per_use_registration_refused_in_arrears_until_debt_paid(
    api: Api, container: Container
) -> None:
    cid = api.customer("acme")["id"]
    api.topup(cid, "10.00", "pay-1")
    api.charge(cid, "25.00", "usage-1")
    assert api.overview(cid)["debt"] == "15.00"

    before = snapshot(container)
    error = api.refused(
        "POST", "/resources", 409, "CUSTOMER_IN_ARREARS",
        json={"customer_id": cid, "resource_type": VM, "spec": "s6.large.2", "region": REGION,
              "name": "web-1"},
    )  # fmt: skip
    assert error["details"]["debt"] == "15.00"
    assert snapshot(container) == before

    # a part payment leaves the customer in arrears
    api.topup(cid, "14.99", "pay-2")
    assert api.overview(cid)["debt"] == "0.01"
    api.refused(
        "POST", "/resources", 409, "CUSTOMER_IN_ARREARS",
        json={"customer_id": cid, "resource_type": VM, "spec": "s6.large.2", "region": REGION,
              "name": "web-1"},
    )  # fmt: skip
    # paying the whole debt lets it through
    paid = api.topup(cid, "0.01", "pay-3")
    assert paid["debt_written_off"] == "0.01" and paid["cash_credited"] == "0.00"
    assert api.overview(cid)["in_arrears"] is False
    assert api.vm(cid)["status"] == "normal"
    assert_books_balance(container)


# -- catalog -----------------------------------------------------------------------------------


def test_catalog_browse(api: Api) -> None:
    summary = api.get("/catalog")
    assert summary["version"] == CATALOG["version"] == DEFAULT_VERSION
    assert summary["name"] == CATALOG["name"]
    assert {"USD", "CNY"} <= set(summary["currencies"])
    assert [s["code"] for s in summary["services"]] == [s["code"] for s in CATALOG["services"]]
    ecs = next(s for s in summary["services"] if s["code"] == "ecs")
    vm_type = next(rt for rt in ecs["resource_types"] if rt["code"] == VM)
    yaml_ecs = next(s for s in CATALOG["services"] if s["code"] == "ecs")
    yaml_vm = next(rt for rt in yaml_ecs["resource_types"] if rt["code"] == VM)
    assert vm_type["specs"] == len(yaml_vm["specs"])
    assert {d["id"] for d in summary["discounts"]} == {d["id"] for d in CATALOG["discounts"]}

    versions = api.get("/catalog/versions")["items"]
    assert [(v["version"], v["active"]) for v in versions] == [(DEFAULT_VERSION, True)]
    assert len(versions[0]["checksum"]) == 64

    service = api.get("/catalog/services/ecs")
    assert service["code"] == "ecs"
    specs = {s["code"] for rt in service["resource_types"] for s in rt["specs"]}
    assert "s6.large.2" in specs
    api.refused("GET", "/catalog/services/nope", 404, "CATALOG_ITEM_NOT_FOUND")


def test_price_inquiry_pay_per_use(api: Api) -> None:
    hourly = catalog_prices(VM, "s6.large.2")["pay_per_use"]["duration"]["price"]
    quote = api.post(
        "/catalog/inquiries/pay-per-use",
        {"resource_type": VM, "spec": "s6.large.2", "quantity": "2", "currency": "USD"},
    )
    assert quote["currency"] == "USD"
    assert quote["unit"] == "h"
    assert money(quote["quantity"]) == 2
    assert money(quote["official_amount"]) == 2 * hourly
    assert money(quote["discount_amount"]) == 0
    assert money(quote["amount"]) == 2 * hourly
    assert quote["discount_id"] is None

    # 90 minutes, converted to the pricing unit
    in_minutes = api.post(
        "/catalog/inquiries/pay-per-use",
        {"resource_type": VM, "spec": "s6.large.2", "quantity": "90", "unit": "min"},
    )
    assert money(in_minutes["quantity"]) == Decimal("1.5")
    assert money(in_minutes["official_amount"]) == Decimal("1.5") * hourly

    # a level-2 customer gets the level-2 discount
    level2 = api.customer("acme", level=2)
    discounted = api.post(
        "/catalog/inquiries/pay-per-use",
        {"resource_type": VM, "spec": "s6.large.2", "quantity": "2", "customer_id": level2["id"]},
    )
    official = 2 * hourly
    off = (official * catalog_discount_percent("level-2") / 100).quantize(
        Decimal("0.00000001"), rounding=ROUND_HALF_UP
    )
    assert discounted["discount_id"] == "level-2"
    assert money(discounted["discount_amount"]) == off
    assert money(discounted["amount"]) == official - off


def test_price_inquiry_period(api: Api) -> None:
    monthly = catalog_prices(VM, "s6.large.2")["monthly"]
    quote = api.post(
        "/catalog/inquiries/period",
        {"resource_type": VM, "spec": "s6.large.2", "period_unit": "year", "period_count": 1},
    )
    official = 12 * monthly
    discount = cents(official * catalog_discount_percent("yearly-purchase") / 100)
    assert quote["discount_id"] == "yearly-purchase"
    assert money(quote["official_amount"]) == official
    assert money(quote["discount_amount"]) == discount
    assert money(quote["amount"]) == official - discount
    assert money(quote["official_amount"]) == money(quote["discount_amount"]) + money(
        quote["amount"]
    )

    three_months = api.post(
        "/catalog/inquiries/period",
        {"resource_type": VM, "spec": "s6.large.2", "period_unit": "month", "period_count": 3,
         "subscriptions": 2},
    )  # fmt: skip
    assert money(three_months["official_amount"]) == 3 * 2 * monthly
    assert money(three_months["amount"]) == 3 * 2 * monthly
    assert three_months["discount_id"] is None


def test_load_catalog_version(api: Api, container: Container) -> None:
    new_line = S6_USD_LINE.replace("price: 0.0781", "price: 0.0800")
    text = edited_catalog("2026.12-test", S6_USD_LINE, new_line)
    loaded = api.post(
        "/catalog/versions", expect=201, content=text.encode(),
        headers={**AUTH, "Content-Type": "application/yaml"},
    )  # fmt: skip
    assert loaded["version"] == "2026.12-test" and loaded["created"] is True
    versions = {v["version"]: v["active"] for v in api.get("/catalog/versions")["items"]}
    assert versions == {DEFAULT_VERSION: False, "2026.12-test": True}
    assert api.get("/catalog")["version"] == "2026.12-test"
    quote = api.post(
        "/catalog/inquiries/pay-per-use",
        {"resource_type": VM, "spec": "s6.large.2", "quantity": "2"},
    )
    assert money(quote["official_amount"]) == Decimal("0.1600")

    # the identical document again: no new version
    again = api.post("/catalog/versions", expect=201, content=text.encode())
    assert again == {**loaded, "created": False}

    # the same version with other content: refused
    before = snapshot(container)
    other = edited_catalog("2026.12-test", S6_USD_LINE, new_line.replace("0.0800", "0.0900"))
    api.refused("POST", "/catalog/versions", 409, "ALREADY_EXISTS", content=other.encode())
    assert snapshot(container) == before

    # an earlier version can be activated again
    api.post(f"/catalog/versions/{DEFAULT_VERSION}/activate")
    assert api.get("/catalog")["version"] == DEFAULT_VERSION


# -- clock and ledger --------------------------------------------------------------------------


def test_clock_show_and_advance(api: Api) -> None:
    assert api.get("/clock") == {"mode": "simulated", "now": "2026-03-16T09:00:00Z"}
    moved = api.post("/clock/advance", {"days": 16, "hours": 1, "minutes": 2, "seconds": 3})
    expected = T0 + timedelta(days=16, hours=1, minutes=2, seconds=3)
    assert moved == {"mode": "simulated", "now": expected.isoformat().replace("+00:00", "Z")}
    assert api.get("/clock") == moved
    # the API's writes happen at the shared clock's time
    created = api.customer("acme")
    assert created["created_at"] == moved["now"]


def test_ledger_verify(api: Api) -> None:
    cid = api.customer("acme")["id"]
    api.topup(cid, "100.00", "pay-1")
    api.charge(cid, "120.00", "usage-1")
    report = api.get("/ledger/verify")
    assert report["ok"] is True
    assert report["problems"] == []
    assert report["transactions"] == 2
    assert report["entries"] >= 4


# -- bad input: 4xx, a stable code, and nothing changed ---------------------------------------

FLOAT = 100.5
YEARLY = "2027-03-16T09:00:00Z"
TOPUP = "/customers/{usd}/topups"
JPY_TOPUP = "/customers/{jpy}/topups"
WITHDRAW = "/customers/{usd}/withdrawals"
ADJUST = "/customers/{usd}/adjustments"
ME = "/customers/{usd}"
LONG = "r" * 129  # references are at most 128 characters
PPU = "/catalog/inquiries/pay-per-use"
PERIOD = "/catalog/inquiries/period"


def _money(amount: Any, **extra: Any) -> dict:
    return {"amount": amount, "reference": "bad-1", **extra}


def _adjust(amount: Any, direction: str = "charge") -> dict:
    return {"amount": amount, "direction": direction, "reason": "x", "reference": "bad-1"}


def _new(**fields: Any) -> dict:
    return {"name": "new", "currency": "USD", **fields}


def _vm(**fields: Any) -> dict:
    return {"customer_id": "{usd}", "resource_type": VM, "spec": "s6.large.2",
            "region": REGION, "name": "web-9", **fields}  # fmt: skip


def _ask(**fields: Any) -> dict:
    return {"resource_type": VM, "spec": "s6.large.2", **fields}


def _yaml(version: str, old: str, new: str) -> str:
    return edited_catalog(version, S6_USD_LINE, S6_USD_LINE.replace(old, new))


def case(name: str, method: str, path: str, body: Any, status: int, code: str, *marks: Any) -> Any:
    return pytest.param(method, path, body, status, code, id=name, marks=marks)


# (name, method, path, JSON body or raw text, status, code); {usd}, {jpy}, {other}: customer ids
BAD_INPUT = [
    # amounts
    case("float-amount", "POST", TOPUP, _money(FLOAT), 400, "INVALID_AMOUNT"),
    case("bool-amount", "POST", TOPUP, _money(True), 400, "INVALID_AMOUNT"),
    case("null-amount", "POST", TOPUP, _money(None), 400, "INVALID_AMOUNT"),
    case("negative-amount", "POST", TOPUP, _money("-5.00"), 400, "INVALID_AMOUNT"),
    case("negative-int-amount", "POST", TOPUP, _money(-5), 400, "INVALID_AMOUNT"),
    case("zero-amount", "POST", TOPUP, _money("0"), 400, "INVALID_AMOUNT"),
    case("zero-cents", "POST", TOPUP, _money("0.00"), 400, "INVALID_AMOUNT"),
    case("exponent", "POST", TOPUP, _money("1e3"), 400, "INVALID_AMOUNT"),
    case("letters", "POST", TOPUP, _money("abc"), 400, "INVALID_AMOUNT"),
    case("comma", "POST", TOPUP, _money("1,000"), 400, "INVALID_AMOUNT"),
    case("empty", "POST", TOPUP, _money(""), 400, "INVALID_AMOUNT"),
    case("nan", "POST", TOPUP, _money("NaN"), 400, "INVALID_AMOUNT"),
    case("out-of-range", "POST", TOPUP, _money("100000000000.00"), 400, "AMOUNT_OUT_OF_RANGE"),
    case("arabic-digits", "POST", TOPUP, _money("٥٠"), 400, "INVALID_AMOUNT"),
    case("fullwidth-digit", "POST", TOPUP, _money("５"), 400, "INVALID_AMOUNT"),
    case("usd-3-decimals", "POST", TOPUP, _money("10.001"), 400, "TOO_MANY_DECIMALS"),
    case("jpy-decimals", "POST", JPY_TOPUP, _money("1.5"), 400, "TOO_MANY_DECIMALS"),
    case("withdraw-float", "POST", WITHDRAW, _money(FLOAT), 400, "INVALID_AMOUNT"),
    case("withdraw-negative", "POST", WITHDRAW, _money("-1.00"), 400, "INVALID_AMOUNT"),
    case("withdraw-too-much", "POST", WITHDRAW, _money("50.01"), 409, "INSUFFICIENT_BALANCE"),
    case("adjust-float", "POST", ADJUST, _adjust(FLOAT), 400, "INVALID_AMOUNT"),
    case("adjust-decimals", "POST", ADJUST, _adjust("1.001", "credit"), 400, "TOO_MANY_DECIMALS"),
    case("adjust-direction", "POST", ADJUST, _adjust("1.00", "refund"), 400, "INVALID_ARGUMENT"),
    # other money-movement input
    case("topup-extra-field", "POST", TOPUP, _money("10", currency="EUR"), 400, "INVALID_ARGUMENT"),
    case("topup-no-reference", "POST", TOPUP, {"amount": "10.00"}, 400, "INVALID_ARGUMENT"),
    case("blank-reference", "POST", TOPUP, _money("10", reference="  "), 400, "INVALID_ARGUMENT"),
    case("long-reference", "POST", TOPUP, _money("1", reference=LONG), 400, "INVALID_ARGUMENT"),
    case("topup-nobody", "POST", "/customers/nope/topups", _money("10"), 404, "CUSTOMER_NOT_FOUND"),
    case("withdraw-nobody", "POST", "/customers/nope/withdrawals", _money("1"), 404,
         "CUSTOMER_NOT_FOUND"),
    # customers
    case("unknown-currency", "POST", "/customers", _new(currency="XYZ"), 400, "UNKNOWN_CURRENCY"),
    case("short-currency", "POST", "/customers", _new(currency="US"), 400, "UNKNOWN_CURRENCY"),
    case("create-extra-field", "POST", "/customers", _new(vip=True), 400, "INVALID_ARGUMENT"),
    case("bad-email", "POST", "/customers", _new(email="not-an-email"), 400, "INVALID_ARGUMENT"),
    case("bad-timezone", "POST", "/customers", _new(timezone="Mars/Olympus"), 400,
         "INVALID_ARGUMENT"),
    case("level-0", "POST", "/customers", _new(level=0), 400, "INVALID_ARGUMENT"),
    case("level-11", "POST", "/customers", _new(level=11), 400, "INVALID_ARGUMENT"),
    case("level-bool", "POST", "/customers", _new(level=True), 400, "INVALID_ARGUMENT"),
    case("bad-mobile", "POST", "/customers", _new(mobile="call me"), 400, "INVALID_ARGUMENT"),
    case("bad-mode", "POST", "/customers", _new(payment_mode="barter"), 400, "INVALID_ARGUMENT"),
    case("prepaid-credit", "POST", "/customers", _new(credit_limit="10"), 400, "INVALID_ARGUMENT"),
    case("float-credit", "POST", "/customers", _new(payment_mode="postpaid", credit_limit=10.5),
         400, "INVALID_AMOUNT"),
    case("negative-credit", "POST", "/customers",
         _new(payment_mode="postpaid", credit_limit="-1.00"), 400, "INVALID_AMOUNT"),
    case("blank-name", "POST", "/customers", _new(name="   "), 400, "INVALID_ARGUMENT"),
    case("control-char-name", "POST", "/customers", _new(name="a\nb"), 400, "INVALID_ARGUMENT"),
    case("duplicate-name", "POST", "/customers", _new(name="acme"), 409, "ALREADY_EXISTS"),
    case("duplicate-padded", "POST", "/customers", _new(name=" acme "), 409, "ALREADY_EXISTS"),
    case("body-not-json", "POST", "/customers", "not json", 400, "INVALID_ARGUMENT"),
    case("patch-timezone", "PATCH", ME, {"timezone": "Nowhere/Land"}, 400, "INVALID_ARGUMENT"),
    case("patch-email", "PATCH", ME, {"email": "a@b"}, 400, "INVALID_ARGUMENT"),
    case("patch-currency", "PATCH", ME, {"currency": "EUR"}, 400, "INVALID_ARGUMENT"),
    case("patch-null-name", "PATCH", ME, {"name": None}, 400, "INVALID_ARGUMENT"),
    case("patch-duplicate", "PATCH", ME, {"name": "yen-co"}, 409, "ALREADY_EXISTS"),
    case("patch-prepaid-credit", "PATCH", ME, {"credit_limit": "5.00"}, 400, "INVALID_ARGUMENT"),
    case("patch-nobody", "PATCH", "/customers/nope", {"level": 2}, 404, "CUSTOMER_NOT_FOUND"),
    case("freeze-nobody", "POST", "/customers/nope/freeze", {}, 404, "CUSTOMER_NOT_FOUND"),
    case("freeze-no-reason", "POST", ME + "/freeze", {"reason": ""}, 400, "INVALID_ARGUMENT"),
    case("show-nobody", "GET", "/customers/nope", None, 404, "CUSTOMER_NOT_FOUND"),
    case("list-bad-status", "GET", "/customers?status=gone", None, 400, "INVALID_ARGUMENT"),
    case("list-bad-limit", "GET", "/customers?limit=0", None, 400, "INVALID_ARGUMENT"),
    # resources
    case("unknown-spec", "POST", "/resources", _vm(spec="s99.huge"), 404,
         "CATALOG_ITEM_NOT_FOUND"),
    case("unknown-type", "POST", "/resources", _vm(resource_type="hws.resource.type.toaster"),
         404, "CATALOG_ITEM_NOT_FOUND"),
    case("yearly-no-expiry", "POST", "/resources", _vm(billing_mode="yearly_monthly"), 400,
         "INVALID_ARGUMENT"),
    case("yearly-expired", "POST", "/resources",
         _vm(billing_mode="yearly_monthly", expire_at="2026-03-01T00:00:00Z"), 400,
         "INVALID_ARGUMENT"),
    case("ppu-with-expiry", "POST", "/resources", _vm(expire_at=YEARLY), 400, "INVALID_ARGUMENT"),
    case("bad-billing-mode", "POST", "/resources", _vm(billing_mode="lease"), 400,
         "INVALID_ARGUMENT"),
    case("bad-region", "POST", "/resources", _vm(region="AP South"), 400, "INVALID_ARGUMENT"),
    case("bad-resource-id", "POST", "/resources", _vm(id="has space"), 400, "INVALID_ARGUMENT"),
    case("id-other-data", "POST", "/resources", _vm(id="vm-1"), 409, "ALREADY_EXISTS"),
    case("unknown-parent", "POST", "/resources", _vm(parent_id="ghost"), 404,
         "RESOURCE_NOT_FOUND"),
    case("others-parent", "POST", "/resources", _vm(customer_id="{other}", parent_id="vm-1"),
         404, "RESOURCE_NOT_FOUND"),
    case("no-price-in-jpy", "POST", "/resources", _vm(customer_id="{jpy}"), 404,
         "CATALOG_ITEM_NOT_FOUND"),
    case("resource-nobody", "POST", "/resources", _vm(customer_id="nope"), 404,
         "CUSTOMER_NOT_FOUND"),
    case("resource-extra-field", "POST", "/resources", _vm(colour="red"), 400,
         "INVALID_ARGUMENT"),
    case("release-unknown", "POST", "/resources/nope/release", {}, 404, "RESOURCE_NOT_FOUND"),
    # catalog
    case("catalog-not-yaml", "POST", "/catalog/versions", "version: [unclosed", 400,
         "CATALOG_INVALID"),
    case("catalog-list", "POST", "/catalog/versions", "- a\n- list\n", 400, "CATALOG_INVALID"),
    case("catalog-incomplete", "POST", "/catalog/versions", "version: x\nname: y\n", 400,
         "CATALOG_INVALID"),
    case("catalog-unknown-unit", "POST", "/catalog/versions",
         _yaml("bad-unit", "unit: h", "unit: fortnight"), 400, "CATALOG_INVALID"),
    case("catalog-same-version", "POST", "/catalog/versions",
         _yaml(DEFAULT_VERSION, "0.0781", "0.0782"), 409, "ALREADY_EXISTS"),
    case("activate-unknown", "POST", "/catalog/versions/nope/activate", None, 404, "NOT_FOUND"),
    case("ask-float-quantity", "POST", PPU, _ask(quantity=2.5), 400, "INVALID_AMOUNT"),
    case("ask-negative", "POST", PPU, _ask(quantity="-1"), 400, "INVALID_ARGUMENT"),
    case("ask-unknown-spec", "POST", PPU, _ask(spec="nope"), 404, "CATALOG_ITEM_NOT_FOUND"),
    case("ask-wrong-unit", "POST", PPU, _ask(unit="GB"), 400, "INVALID_ARGUMENT"),
    case("ask-nobody", "POST", PPU, _ask(customer_id="nope"), 404, "CUSTOMER_NOT_FOUND"),
    case("ask-week", "POST", PERIOD, _ask(period_unit="week"), 400, "INVALID_ARGUMENT"),
    case("ask-4-years", "POST", PERIOD, _ask(period_unit="year", period_count=4), 400,
         "INVALID_ARGUMENT"),
    case("ask-0-subscriptions", "POST", PERIOD, _ask(subscriptions=0), 400, "INVALID_ARGUMENT"),
    case("ask-currency", "POST", PERIOD, _ask(currency="XYZ"), 400, "UNKNOWN_CURRENCY"),
    # clock
    case("advance-zero", "POST", "/clock/advance", {}, 400, "INVALID_ARGUMENT"),
    case("advance-negative", "POST", "/clock/advance", {"days": -1}, 400, "INVALID_ARGUMENT"),
    case("clock-backwards", "POST", "/clock/simulate", {"at": "2020-01-01T00:00:00Z"}, 400,
         "INVALID_ARGUMENT"),
]  # fmt: skip


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, cid in ids.items():
            value = value.replace("{" + name + "}", cid)
        return value
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), BAD_INPUT)
def test_bad_input_is_refused_and_changes_nothing(
    api: Api, container: Container, method: str, path: str, body: Any, status: int, code: str
) -> None:
    usd = api.customer("acme")["id"]
    jpy = api.customer("yen-co", "JPY")["id"]
    api.topup(usd, "50.00", "setup-1")
    api.topup(jpy, "5000", "setup-2")
    other = api.customer("other-co")["id"]
    api.vm(usd, id="vm-1")
    ids = {"usd": usd, "jpy": jpy, "other": other}

    before = snapshot(container)
    clock_before = api.get("/clock")
    kwargs: dict[str, Any] = {}
    if isinstance(body, str):
        kwargs["content"] = body.encode()
    elif body is not None:
        kwargs["json"] = _fill(body, ids)
    api.refused(method, _fill(path, ids), status, code, **kwargs)
    assert snapshot(container) == before
    assert api.get("/clock") == clock_before
    assert api.get("/catalog")["version"] == DEFAULT_VERSION
    assert_books_balance(container)
