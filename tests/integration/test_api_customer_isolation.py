"""The customer API as seen by another customer, and with bad input.

Bob calling any route with one of Alice's ids gets exactly what he gets for an id that does not
exist (same status, code and message but for the id), and nothing changes. Every refused request
answers a 4xx with a stable code and changes nothing.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cloudbill.api.customer.app import create_customer_app
from cloudbill.bootstrap import Container
from cloudbill.catalog import service as catalog_service
from cloudbill.catalog.model import Discount
from cloudbill.enterprise import service as enterprise
from tests.helpers import new_customer, snapshot
from tests.integration.customer_world import (
    MONTHLY_VM,
    PREFIX,
    CustomerApi,
    Owned,
    error_code,
)

# The `world` (Alice and Bob) and `client` fixtures.
pytest_plugins = ("tests.integration.customer_fixtures",)
ABSENT_HEX = uuid.uuid4().hex
ABSENT_ORDER = "CS2603160000ABSENT"
ABSENT_AK = "Z" * 20
ABSENT_NOTICE = 987654
LARGE = "s6.large.2"
MONTH = {"period_unit": "month", "period_count": 1}
MONTHLY_CONVERSION = {"resource_id": "{id}", "period_unit": "month", "period_count": 1}


def _routes(
    alice: Owned, bob: Owned, association: str = ABSENT_HEX
) -> list[tuple[str, str, Any, str, str]]:
    """(method, path, body, Alice's id in it, an absent id of the same shape) per route;
    `association`: one of Alice's enterprise associations (she is the master)."""
    vm, sub, paid, pkg = (
        alice.usage_resource,
        alice.subscribed_resource,
        alice.paid_order,
        alice.package,
    )
    ak = alice.key.key.id
    bobs_payment = f"/orders/{bob.pending_order}/pay"
    return [
        ("GET", "/resources/{id}", None, vm, "nobody-vm"),
        ("GET", "/orders/{id}", None, paid, ABSENT_ORDER),
        ("POST", "/orders/{id}/pay", {}, alice.pending_order, ABSENT_ORDER),
        ("POST", "/orders/{id}/cancel", {}, alice.pending_order, ABSENT_ORDER),
        ("POST", "/orders/pay", {"order_ids": ["{id}"]}, alice.pending_order, ABSENT_ORDER),
        ("GET", "/invoices/{id}", None, alice.invoice, ABSENT_HEX),
        ("GET", "/invoices/{id}/pdf", None, alice.invoice, ABSENT_HEX),
        ("POST", "/invoices/{id}/cancel", None, alice.invoice, ABSENT_HEX),
        ("POST", "/invoices/{id}/return", {}, alice.invoice, ABSENT_HEX),
        (
            "POST",
            "/invoices",
            {"items": [{"kind": "order", "id": "{id}"}], "reference": "walk"},
            alice.paid_order,
            ABSENT_ORDER,
        ),
        ("GET", "/subscriptions/{id}", None, sub, ABSENT_HEX),
        ("PUT", "/subscriptions/{id}/auto-renew", {"enabled": True}, sub, ABSENT_HEX),
        ("PUT", "/subscriptions/{id}/expire-policy", {"policy": "release"}, sub, ABSENT_HEX),
        ("GET", "/packages/{id}", None, pkg, ABSENT_HEX),
        ("GET", "/coupons/{id}", None, alice.spare_coupon, ABSENT_HEX),
        ("GET", "/notices/{id}", None, str(alice.notice), str(ABSENT_NOTICE)),
        ("GET", "/access-keys/{id}", None, ak, ABSENT_AK),
        ("POST", "/access-keys/{id}/disable", None, ak, ABSENT_AK),
        ("POST", "/access-keys/{id}/enable", None, ak, ABSENT_AK),
        ("DELETE", "/access-keys/{id}", None, ak, ABSENT_AK),
        ("POST", "/orders/renewal", {"resource_ids": ["{id}"], **MONTH}, sub, ABSENT_HEX),
        (
            "POST",
            "/orders/change",
            {"resource_id": "{id}", "new_spec": "s6.large.2"},
            sub,
            ABSENT_HEX,
        ),
        ("POST", "/orders/conversion", MONTHLY_CONVERSION, vm, "nobody-vm"),
        ("POST", "/orders/unsubscription", {"resource_ids": ["{id}"]}, sub, ABSENT_HEX),
        ("POST", bobs_payment, {"coupon_ids": ["{id}"]}, alice.spare_coupon, ABSENT_HEX),
        ("POST", "/enterprise/members/{id}/cancel", None, association, ABSENT_HEX),
        ("POST", "/enterprise/members/{id}/allocations", MOVE, association, ABSENT_HEX),
        ("POST", "/enterprise/members/{id}/recalls", MOVE, association, ABSENT_HEX),
        ("GET", "/enterprise/members/{id}/controls", None, association, ABSENT_HEX),
        ("PUT", "/enterprise/members/{id}/controls", {"budget": "1.00"}, association, ABSENT_HEX),
        ("POST", "/enterprise/association/{id}/accept", None, association, ABSENT_HEX),
        ("POST", "/enterprise/association/{id}/decline", None, association, ABSENT_HEX),
    ]


MOVE = {"kind": "cash", "amount": "1.00", "request_id": "walk-1"}


def alices_member(container: Container, alice: Owned) -> str:
    """Alice as an enterprise master: Carol her independent member; the association's id."""
    carol = new_customer(container, "carol")
    return container.write(
        lambda conn, now: enterprise.associate(
            conn, master_id=alice.customer_id, member_id=carol.id, mode="independent", now=now
        )
    ).id


def _fill(value: Any, ids: dict[str, str]) -> Any:
    """`value` with each `{name}` placeholder in its strings replaced by `ids[name]`."""
    if isinstance(value, str):
        for name, real in ids.items():
            value = value.replace(f"{{{name}}}", real)
        return value
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def test_another_customers_ids_answer_like_absent_ones(
    container: Container, client: TestClient, world: dict[str, Owned]
) -> None:
    bob = CustomerApi(client, world["bob"].auth)
    association = alices_member(container, world["alice"])
    before = snapshot(container)
    for method, path, body, theirs, absent in _routes(world["alice"], world["bob"], association):
        answers = []
        for object_id in (theirs, absent):
            response = bob.client.request(
                method,
                PREFIX + _fill(path, {"id": object_id}),
                auth=bob.auth,
                json=_fill(body, {"id": object_id}),
            )
            assert 400 <= response.status_code < 500, (path, response.text)
            error = response.json()["error"]
            answers.append(
                (
                    response.status_code,
                    error_code(response),
                    error["message"].replace(object_id, "<id>"),
                    sorted(error.get("details", {})),
                )
            )
        assert answers[0] == answers[1], (method, path, answers)
        assert answers[0][0] in (404, 400, 422), (path, answers)
    assert snapshot(container) == before


MEMBER_VIEWS = (  # an enterprise member's records (issue 18): Alice is no member of Bob's
    "/fee-records?member_id={id}",
    "/bills/2026-03?member_id={id}",
    "/bills/2026-03/export.csv?member_id={id}",
    "/expenditure-trend?member_id={id}",
)


def test_another_customer_as_member_answers_like_an_absent_one(
    container: Container, client: TestClient, world: dict[str, Owned]
) -> None:
    bob = CustomerApi(client, world["bob"].auth)
    before = snapshot(container)
    for path in MEMBER_VIEWS:
        answers = []
        for member in (world["alice"].customer_id, ABSENT_HEX):
            response = bob.client.get(PREFIX + _fill(path, {"id": member}), auth=bob.auth)
            error = response.json()["error"]
            message = error["message"].replace(member, "<id>")
            answers.append((response.status_code, error_code(response), message))
        assert answers[0] == answers[1], (path, answers)
        assert answers[0][:2] == (404, "CUSTOMER_NOT_FOUND"), (path, answers)
    assert snapshot(container) == before


def test_lists_and_filters_show_only_the_callers_own(
    container: Container, client: TestClient, world: dict[str, Owned]
) -> None:
    alice, bob = world["alice"], world["bob"]
    api = CustomerApi(client, bob.auth)
    assert {r["customer_id"] for r in api.get("/resources")["items"]} == {bob.customer_id}
    assert api.get(f"/fee-records?resource_id={alice.usage_resource}")["total"] == 0
    assert api.get(f"/package-usage?package_id={alice.package}")["total"] == 0
    assert api.get(f"/resources?parent_id={alice.usage_resource}")["total"] == 0
    for path in ("/orders", "/packages", "/coupons", "/renewals?view=all"):
        items = api.get(path)["items"]
        owners = {i.get("customer_id", bob.customer_id) for i in items}
        assert items and owners == {bob.customer_id}, path
    assert {n["id"] for n in api.get("/notices")["items"]}.isdisjoint({alice.notice})
    assert [k["access_key"] for k in api.get("/access-keys")["items"]] == [bob.key.key.id]
    assert api.get("/account")["id"] == bob.customer_id
    alices_member(container, alice)
    assert api.get("/enterprise/members")["total"] == 0
    assert api.get("/enterprise/allocations")["total"] == 0
    assert api.get("/enterprise/association")["association"] is None


PERIOD_QUOTE = {"resource_type": "hws.resource.type.vm", "spec": "s6.small.1"}
BAD_REQUESTS = [
    ("GET", "/bills/2026-13", None, 400, "INVALID_ARGUMENT"),
    ("GET", "/bills/march/export.csv", None, 400, "INVALID_ARGUMENT"),
    ("GET", "/fee-records?granularity=week", None, 400, "INVALID_ARGUMENT"),
    ("GET", "/fee-records?limit=0", None, 400, "INVALID_ARGUMENT"),
    ("GET", "/fee-records?start=yesterday&end=today", None, 400, "INVALID_ARGUMENT"),
    ("GET", "/expenditure-trend?months=0", None, 400, "INVALID_ARGUMENT"),
    ("GET", "/resources?status=sleeping", None, 400, "INVALID_ARGUMENT"),
    ("GET", "/orders?status=lost", None, 400, "INVALID_ARGUMENT"),
    ("GET", "/renewals?view=soon", None, 400, "INVALID_ARGUMENT"),
    ("GET", "/coupons?status=shiny", None, 400, "INVALID_ARGUMENT"),
    ("GET", "/packages?at=tomorrow", None, 400, "INVALID_ARGUMENT"),
    ("GET", "/notices?channel=pigeon", None, 400, "INVALID_ARGUMENT"),
    ("GET", "/notices/0", None, 400, "INVALID_ARGUMENT"),
    ("GET", "/catalog/services/nope", None, 404, "CATALOG_ITEM_NOT_FOUND"),
    ("PUT", "/account/balance-alert", {"enabled": True, "threshold": "-1"}, 400, "INVALID_AMOUNT"),
    ("PUT", "/account/balance-alert", {"enabled": True, "threshold": 1.5}, 400, "INVALID_AMOUNT"),
    ("PUT", "/account/balance-alert", {"enabled": "yes"}, 400, "INVALID_ARGUMENT"),
    ("POST", "/orders", {"items": []}, 400, "INVALID_ARGUMENT"),
    ("POST", "/orders", {"items": [{**MONTHLY_VM, "spec": "x9"}]}, 404, "CATALOG_ITEM_NOT_FOUND"),
    (
        "POST",
        "/orders",
        {"items": [{**MONTHLY_VM, "period_unit": "week"}]},
        400,
        "INVALID_ARGUMENT",
    ),
    ("POST", "/orders", {"items": [MONTHLY_VM], "customer_id": "x"}, 400, "INVALID_ARGUMENT"),
    ("POST", "/orders/{paid}/pay", {}, 409, "ORDER_ALREADY_PAID"),
    ("POST", "/orders/{paid}/cancel", {}, 409, "ORDER_CLOSED"),
    ("POST", "/orders/{pending}/pay", {"coupon_ids": ["{spent}"]}, 422, "COUPON_NOT_APPLICABLE"),
    ("PUT", "/subscriptions/{sub}/expire-policy", {"policy": "never"}, 400, "INVALID_ARGUMENT"),
    ("PUT", "/subscriptions/{vm}/auto-renew", {"enabled": True}, 404, "RESOURCE_NOT_FOUND"),
    ("POST", "/orders/renewal", {"resource_ids": ["{vm}"], **MONTH}, 409, "INVALID_STATE"),
    ("POST", "/access-keys", {"description": "x" * 300}, 400, "INVALID_ARGUMENT"),
    ("POST", "/enterprise/members", {"member_id": "x", "mode": "both"}, 400, "INVALID_ARGUMENT"),
    (
        "POST",
        "/enterprise/members",
        {"member_id": "{vm}", "mode": "unified"},
        404,
        "CUSTOMER_NOT_FOUND",
    ),
    ("GET", "/enterprise/allocations?limit=0", None, 400, "INVALID_ARGUMENT"),
    (
        "POST",
        "/catalog/inquiries/period",
        {**PERIOD_QUOTE, "period_count": 99},
        400,
        "INVALID_ARGUMENT",
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), BAD_REQUESTS)
def test_bad_input_is_refused_and_changes_nothing(
    container: Container,
    client: TestClient,
    world: dict[str, Owned],
    method: str,
    path: str,
    body: Any,
    status: int,
    code: str,
) -> None:
    alice = world["alice"]
    ids = {
        "paid": alice.paid_order,
        "pending": alice.pending_order,
        "spent": alice.spent_coupon,
        "sub": alice.subscribed_resource,
        "vm": alice.usage_resource,
    }
    before = snapshot(container)
    api = CustomerApi(client, alice.auth)
    api.refused(method, _fill(path, ids), status, code, json=_fill(body, ids))
    assert snapshot(container) == before


# Routes that take no id of an object a customer owns: they answer the caller's own figures (the
# list routes are checked to hold only the caller's own in the test above), the public catalog,
# or create something new for the caller.
ID_FREE = {
    ("GET", "/account"),
    ("GET", "/account/overview"),
    ("GET", "/account/dashboard"),
    ("GET", "/account/history"),
    ("GET", "/account/postpaid-bills"),
    ("GET", "/account/balance-alert"),
    ("PUT", "/account/balance-alert"),
    ("GET", "/bills/{}"),  # a month: the caller's own bill of it
    ("GET", "/bills/{}/export.csv"),
    ("GET", "/fee-records"),
    ("GET", "/costs"),  # the caller's own; another's resource in a filter matches nothing
    ("GET", "/expenditure-trend"),
    ("GET", "/package-usage"),
    ("GET", "/resources"),
    ("GET", "/orders"),
    ("POST", "/orders"),
    ("GET", "/renewals"),
    ("GET", "/packages"),
    ("GET", "/coupons"),
    ("GET", "/catalog"),
    ("GET", "/catalog/services/{}"),
    ("POST", "/catalog/inquiries/pay-per-use"),
    ("POST", "/catalog/inquiries/period"),
    ("GET", "/notices"),
    ("GET", "/access-keys"),
    ("POST", "/access-keys"),
    # the caller's own bill storage: no id in any of its paths
    ("GET", "/invoice-info"),
    ("PUT", "/invoice-info"),
    ("GET", "/invoices"),
    ("GET", "/invoices/invoiceable"),
    ("GET", "/bill-storage"),
    ("PUT", "/bill-storage"),
    ("POST", "/bill-storage/verify"),
    ("POST", "/bill-storage/enable"),
    ("POST", "/bill-storage/disable"),
    ("GET", "/bill-storage/pushes"),
    # enterprise: the caller's own members, history and association; an invitation names the
    # customer invited (inviting is by id, as in Huawei's Enterprise Center)
    ("GET", "/enterprise/members"),
    ("POST", "/enterprise/members"),
    ("GET", "/enterprise/allocations"),
    ("GET", "/enterprise/association"),
}


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def test_the_walk_names_every_customer_route(container: Container, world: dict[str, Owned]) -> None:
    """Each route of the customer API is walked with another customer's ids above or takes no
    such id; a new route must be added to one or the other."""
    app = create_customer_app(container)
    served = {
        (method.upper(), _shape(path))
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    bob = world["bob"]
    routes = _routes(world["alice"], bob)
    walked = {(m, _shape(p.replace(bob.pending_order, "{}"))) for m, p, *_ in routes}
    assert walked.isdisjoint(ID_FREE)
    assert served == walked | ID_FREE, (served - walked - ID_FREE, walked | ID_FREE - served)


def test_the_catalog_shows_no_other_customers_discount(
    container: Container, client: TestClient, world: dict[str, Owned]
) -> None:
    """A discount negotiated for Alice (and one for a level Bob is not at) is not Bob's to see."""
    alice = world["alice"]

    def add_discounts(conn, now):  # type: ignore[no-untyped-def]
        doc = catalog_service.active(conn).document
        extra = (
            Discount(
                id="alice-contract", name="Alice 30%", percent="30", customer_id=alice.customer_id
            ),
            Discount(id="level-9", name="Level nine", percent="12", customer_level=9),
        )
        edited = doc.model_copy(
            update={"version": "isolation-1", "discounts": doc.discounts + extra}
        )
        catalog_service.load(conn, edited, source="test", now=now)

    container.write(add_discounts)
    seen = {
        who: {d["id"]: d for d in CustomerApi(client, world[who].auth).get("/catalog")["discounts"]}
        for who in ("alice", "bob")
    }
    assert (
        "alice-contract" in seen["alice"] and "customer_id" not in seen["alice"]["alice-contract"]
    )
    assert "alice-contract" not in seen["bob"] and "level-9" not in seen["bob"]
    assert alice.customer_id not in str(seen["bob"])
