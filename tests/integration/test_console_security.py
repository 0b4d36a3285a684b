"""The console's doors, over HTTP on both databases: nothing without a session, no page or
action of one customer for another customer's user, nothing changed by a viewer or by a form
without its session's CSRF token, sessions that end, the lock after repeated failures, and a
form submitted twice applied once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cloudbill.api.app import create_app
from cloudbill.benefits import service as benefits
from cloudbill.customers import service as customers
from cloudbill.orders import service as orders
from cloudbill.orders.service import NewItem, Terms
from cloudbill.resources import service as resources
from cloudbill.resources.model import ResourceInput
from cloudbill.store.schema import ledger_transaction
from cloudbill.users import service as users
from cloudbill.users.model import UserKind

from ..helpers import new_customer

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FORM_KEY = re.compile(r'name="form_key" value="([^"]+)"')
SIGN_IN = re.compile(r'name="sign_in_token" value="([^"]+)"')


def _user(c, customer_id, email, role="admin", kind=UserKind.CUSTOMER):  # type: ignore[no-untyped-def]
    wall = c.wall.now()
    return c.write(
        lambda conn, _now: users.create(
            conn,
            kind=kind,
            customer_id=customer_id,
            email=email,
            role=role,
            password=PASSWORD,
            actor="test",
            now=wall,
        )
    ).user


def _sign_in(client: TestClient, email: str, root: str = "/console", password: str = PASSWORD):  # type: ignore[no-untyped-def]
    form = client.get(f"{root}/sign-in")
    token = SIGN_IN.search(form.text).group(1)
    return client.post(
        f"{root}/sign-in",
        data={"email": email, "password": password, "sign_in_token": token},
        follow_redirects=False,
    )


def _keys(client: TestClient, path: str) -> dict[str, str]:
    page = client.get(path)
    assert page.status_code == 200, page.text[:500]
    return {
        "csrf_token": CSRF.search(page.text).group(1),
        "form_key": FORM_KEY.search(page.text).group(1),
    }


def _transactions(c) -> int:  # type: ignore[no-untyped-def]
    with c.db.read() as conn:
        return conn.execute(select(func.count()).select_from(ledger_transaction)).scalar_one()


@pytest.fixture
def world(container):  # type: ignore[no-untyped-def]
    """Two customers, each with an admin; the first also a viewer; the second an order, a
    resource and a coupon of its own."""
    c = container
    a = new_customer(c, "alpha")
    b = new_customer(c, "bravo")
    for cust in (a, b):
        c.write(
            lambda conn, now, i=cust.id: customers.topup(
                conn, i, "100", reference=f"t-{i}", now=now
            )
        )
    _user(c, a.id, "admin@alpha.example")
    _user(c, a.id, "viewer@alpha.example", role="viewer")
    _user(c, b.id, "admin@bravo.example")
    _user(c, None, "ops@provider.example", kind=UserKind.OPERATOR)
    terms = Terms.from_settings(c.settings)
    order = c.write(
        lambda conn, now: orders.create_new(
            conn,
            b.id,
            [NewItem("hws.resource.type.vm", "s6.small.1", "ap-southeast-1", "b-vm", "month", 1)],
            reference="b-order",
            terms=terms,
            now=now,
        )
    )
    data = ResourceInput(
        customer_id=b.id,
        resource_type="hws.resource.type.vm",
        spec="s6.large.2",
        billing_mode="pay_per_use",
        region="ap-southeast-1",
        name="b-ppu",
        id="b-ppu-1",
    )
    c.write(lambda conn, now: resources.register(conn, data, now=now))
    coupon, _ = c.write(
        lambda conn, now: benefits.issue_coupon(
            conn,
            customer_id=b.id,
            name="b",
            value="5",
            valid_from=None,
            valid_to=now + timedelta(days=30),
            reference="b-coupon",
            now=now,
        )
    )
    return {"c": c, "a": a, "b": b, "order": order.id, "resource": "b-ppu-1", "coupon": coupon.id}


@pytest.fixture
def client(world) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(create_app(world["c"]), base_url="http://127.0.0.1") as http:
        yield http


def test_nothing_without_a_session(client: TestClient) -> None:
    for path in ("/console/", "/console/orders", "/console/bills", "/operator/console/customers"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and "/sign-in?next=" in answer.headers["location"]
    assert client.get("/", follow_redirects=False).headers["location"] == "/console/"


def test_another_customers_pages_and_actions_are_not_there(client: TestClient, world) -> None:  # type: ignore[no-untyped-def]
    assert _sign_in(client, "admin@alpha.example").status_code == 303
    for path in (
        f"/console/orders/{world['order']}",
        f"/console/resources/{world['resource']}",
        f"/console/coupons/{world['coupon']}",
        "/console/orders/no-such-order",
    ):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert world["b"].id not in answer.text and "b-vm" not in answer.text
    keys = _keys(client, "/console/withdraw")
    before = _transactions(world["c"])
    for path in (
        f"/console/orders/{world['order']}/pay",
        f"/console/orders/{world['order']}/cancel",
    ):
        assert client.post(path, data=keys).status_code == 404
    assert _transactions(world["c"]) == before
    order = world["c"].read(lambda conn, _now: orders.get(conn, world["order"]))
    assert str(order.status) == "pending_payment"
    listed = client.get("/console/resources").text
    assert world["resource"] not in listed


def test_a_form_without_the_sessions_csrf_token_changes_nothing(client: TestClient, world) -> None:  # type: ignore[no-untyped-def]
    _sign_in(client, "admin@alpha.example")
    keys = _keys(client, "/console/withdraw")
    before = _transactions(world["c"])
    for data in (
        {"form_key": keys["form_key"], "amount": "1"},
        {"form_key": keys["form_key"], "amount": "1", "csrf_token": "forged"},
    ):
        answer = client.post("/console/withdraw", data=data)
        assert answer.status_code == 403 and "CSRF_FAILED" in answer.text
    assert _transactions(world["c"]) == before
    assert (
        client.post(
            "/console/withdraw", data={**keys, "amount": "1"}, follow_redirects=False
        ).status_code
        == 303
    )
    assert _transactions(world["c"]) == before + 1


def test_a_viewer_sees_everything_and_changes_nothing(client: TestClient, world) -> None:  # type: ignore[no-untyped-def]
    _sign_in(client, "viewer@alpha.example")
    for path in ("/console/", "/console/bills", "/console/access-keys", "/console/users"):
        assert client.get(path).status_code == 200
    keys = _keys(client, "/console/")
    before = _transactions(world["c"])
    for path, data in (
        ("/console/withdraw", {"amount": "1"}),
        ("/console/alert", {"enabled": "true", "threshold": "5"}),
        ("/console/access-keys", {}),
        ("/console/users", {"email": "x@alpha.example"}),
    ):
        answer = client.post(path, data={**keys, **data})
        assert answer.status_code == 403 and "FORBIDDEN" in answer.text, path
    assert _transactions(world["c"]) == before


def test_sessions_end_when_idle_and_on_sign_out(client: TestClient, world) -> None:  # type: ignore[no-untyped-def]
    _sign_in(client, "admin@alpha.example")
    assert client.get("/console/", follow_redirects=False).status_code == 200
    world["c"].wall.advance(minutes=world["c"].settings.console_idle_minutes + 1)
    assert client.get("/console/", follow_redirects=False).status_code == 303
    _sign_in(client, "admin@alpha.example")
    keys = _keys(client, "/console/")
    client.post("/console/sign-out", data={"csrf_token": keys["csrf_token"]})
    assert client.get("/console/", follow_redirects=False).status_code == 303


def test_repeated_failures_lock_the_user(client: TestClient, world) -> None:  # type: ignore[no-untyped-def]
    for _ in range(world["c"].settings.console_lockout_failures):
        wrong = _sign_in(client, "admin@alpha.example", password="wrong password!")
        assert wrong.status_code == 401 and "UNAUTHENTICATED" in wrong.text
    locked = _sign_in(client, "admin@alpha.example")  # the right password, while locked
    assert locked.status_code == 401 and "UNAUTHENTICATED" in locked.text
    unknown = _sign_in(client, "nobody@alpha.example")
    assert re.sub(r'value="[^"]*"', "", locked.text) == re.sub(r'value="[^"]*"', "", unknown.text)
    world["c"].wall.advance(minutes=world["c"].settings.console_lockout_minutes + 1)
    assert _sign_in(client, "admin@alpha.example").status_code == 303


def test_a_sign_in_without_its_form_token_is_refused(client: TestClient) -> None:
    answer = client.post(
        "/console/sign-in",
        data={"email": "admin@alpha.example", "password": PASSWORD, "sign_in_token": "x"},
    )
    assert answer.status_code == 403 and "CSRF_FAILED" in answer.text


def test_a_customer_session_does_not_open_the_operator_console(client: TestClient) -> None:
    _sign_in(client, "admin@alpha.example")
    assert client.get("/operator/console/customers", follow_redirects=False).status_code == 303
    assert _sign_in(client, "admin@alpha.example", root="/operator/console").status_code == 401
    assert _sign_in(client, "ops@provider.example", root="/operator/console").status_code == 303
    assert client.get("/operator/console/customers").status_code == 200


def test_a_form_submitted_twice_is_applied_once(client: TestClient, world) -> None:  # type: ignore[no-untyped-def]
    _sign_in(client, "ops@provider.example", root="/operator/console")
    a = world["a"].id
    keys = _keys(client, f"/operator/console/customers/{a}")
    before = _transactions(world["c"])
    for _ in range(2):
        answer = client.post(
            f"/operator/console/customers/{a}/top-up",
            data={**keys, "amount": "7.50"},
            follow_redirects=False,
        )
        assert answer.status_code == 303
    assert _transactions(world["c"]) == before + 1
    shown = client.get(answer.headers["location"]).text
    assert "Top-up recorded" in shown


def test_a_refused_form_shows_the_code_beside_the_field(client: TestClient, world) -> None:  # type: ignore[no-untyped-def]
    _sign_in(client, "admin@alpha.example")
    keys = _keys(client, "/console/withdraw")
    before = _transactions(world["c"])
    answer = client.post("/console/withdraw", data={**keys, "amount": "1000000"})
    assert answer.status_code == 409
    assert re.search(r'id="err-amount">INSUFFICIENT_BALANCE: ', answer.text), answer.text[:3000]
    answer = client.post("/console/withdraw", data={**keys, "amount": "abc"})
    assert answer.status_code == 400 and 'id="err-amount">INVALID_AMOUNT' in answer.text
    assert _transactions(world["c"]) == before
