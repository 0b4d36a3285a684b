"""The operator console's actions on a customer, over HTTP on both databases: each applies
through the same services as the operator API, refuses bad input beside its field with nothing
changed, and is written to the audit trail under the operator user who did it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cloudbill.api.app import create_app
from cloudbill.catalog import repo as catalog_repo
from cloudbill.customers import service as customers
from cloudbill.store.schema import audit_event, console_form, console_user
from cloudbill.users.model import UserKind

from ..helpers import new_customer
from .test_console_security import PASSWORD, _keys, _sign_in, _transactions, _user

OPERATOR = "ops@provider.example"


@pytest.fixture
def setup(container) -> Iterator[tuple[TestClient, object, str]]:  # type: ignore[no-untyped-def]
    customer = new_customer(container, "alpha")
    _user(container, None, OPERATOR, kind=UserKind.OPERATOR)
    with TestClient(create_app(container), base_url="http://127.0.0.1") as http:
        assert _sign_in(http, OPERATOR, root="/operator/console").status_code == 303
        yield http, container, customer.id


def _post(http: TestClient, customer_id: str, action: str, **fields: str):  # type: ignore[no-untyped-def]
    keys = _keys(http, f"/operator/console/customers/{customer_id}")
    return http.post(
        f"/operator/console/customers/{customer_id}/{action}",
        data={**keys, **fields},
        follow_redirects=False,
    )


def _audit(c) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with c.db.read() as conn:
        rows = conn.execute(select(audit_event.c.actor, audit_event.c.action)).all()
    return [(r.actor, r.action) for r in rows]


def test_an_adjustment_is_applied_and_audited_under_the_operator_user(setup) -> None:  # type: ignore[no-untyped-def]
    http, c, customer_id = setup
    before = _transactions(c)
    answer = _post(
        http,
        customer_id,
        "adjust",
        direction="credit",
        adjust_amount="12.50",
        reason="outage compensation",
    )
    assert answer.status_code == 303
    assert _transactions(c) == before + 1
    assert (f"operator:{OPERATOR}", "console.adjust") in _audit(c)
    figures = c.read(lambda conn, _now: customers.overview(conn, customers.get(conn, customer_id)))
    assert figures.cash_balance_units == 1250 * 10**6


def test_freezing_needs_a_reason_and_then_freezes(setup) -> None:  # type: ignore[no-untyped-def]
    http, c, customer_id = setup
    refused = _post(http, customer_id, "status", status="frozen", status_reason=" ")
    assert refused.status_code == 400 and 'id="err-status_reason">INVALID_ARGUMENT' in refused.text
    assert str(c.read(lambda conn, _now: customers.get(conn, customer_id)).status) == "active"
    assert (
        _post(
            http, customer_id, "status", status="frozen", status_reason="fraud review"
        ).status_code
        == 303
    )
    assert str(c.read(lambda conn, _now: customers.get(conn, customer_id)).status) == "frozen"
    assert (f"operator:{OPERATOR}", "customer.frozen") in _audit(c)  # one row, naming the person


def test_a_prepaid_customer_has_no_credit_limit(setup) -> None:  # type: ignore[no-untyped-def]
    http, c, customer_id = setup
    refused = _post(http, customer_id, "credit-limit", limit="500")
    assert refused.status_code in (400, 409) and 'id="err-limit">' in refused.text
    assert c.read(lambda conn, _now: customers.get(conn, customer_id)).credit_limit_units == 0


def test_an_invitation_link_is_shown_once_and_kept_nowhere(setup) -> None:  # type: ignore[no-untyped-def]
    http, c, customer_id = setup
    answer = _post(http, customer_id, "users", email="new@alpha.example", role="viewer")
    assert answer.status_code == 200
    link = re.search(r"/console/invitation\?token=([\w-]+)", answer.text)
    assert link is not None
    with c.db.read() as conn:
        outcomes = conn.execute(select(console_form.c.outcome)).scalars().all()
        invited = conn.execute(
            select(console_user.c.status).where(console_user.c.email == "new@alpha.example")
        ).scalar_one()
    assert invited == "invited"
    assert all(link.group(1) not in json.loads(o)["message"] for o in outcomes)
    # the invitee accepts it from the customers' console and signs in
    accept = http.post(
        "/console/invitation",
        data={"token": link.group(1), "password": PASSWORD, "password_again": PASSWORD},
        follow_redirects=False,
    )
    assert accept.status_code == 303
    assert _sign_in(http, "new@alpha.example").status_code == 303


@pytest.mark.parametrize(
    "path",
    [
        "/status",
        "/settlements",
        "/holds?include_released=true",
        "/deliveries?status=",
        "/deliveries",
        "/catalog",
        "/clock",
        "/audit",
        "/customers?filter=frozen&q=al",
    ],
)
def test_every_operator_page_renders(setup, path: str) -> None:  # type: ignore[no-untyped-def]
    http, _c, _customer = setup
    answer = http.get(f"/operator/console{path}")
    assert answer.status_code == 200, answer.text[:500]
    assert "<h1>" in answer.text and "Content-Security-Policy" in answer.headers


def _form(http: TestClient, path: str) -> dict[str, str]:
    return _keys(http, f"/operator/console{path}")


def test_the_clock_advances_in_simulated_mode_only_by_a_sane_step(setup) -> None:  # type: ignore[no-untyped-def]
    http, c, _customer = setup
    before = c.now()
    refused = http.post(
        "/operator/console/clock/advance", data={**_form(http, "/clock"), "days": "-3"}
    )
    assert refused.status_code == 400 and 'id="err-days">INVALID_ARGUMENT' in refused.text
    bad = http.post("/operator/console/clock/advance", data={**_form(http, "/clock"), "days": "x"})
    assert bad.status_code == 400 and c.now() == before
    moved = http.post(
        "/operator/console/clock/advance",
        data={**_form(http, "/clock"), "days": "2"},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    assert (c.now() - before).days == 2
    assert (f"operator:{OPERATOR}", "console.advance_clock") in _audit(c)


def test_a_catalog_file_is_checked_and_a_broken_one_refused_with_nothing_changed(setup) -> None:  # type: ignore[no-untyped-def]
    http, c, _customer = setup

    def versions() -> list[str]:
        return c.read(lambda conn, _now: [r.version for r in catalog_repo.list_versions(conn)])

    before = versions()
    keys = _form(http, "/catalog")
    garbage = http.post(
        "/operator/console/catalog/load",
        data=keys,
        files={"document": ("c.yaml", b"version: [unclosed", "text/yaml")},
    )
    assert garbage.status_code == 400 and 'id="err-document">CATALOG_INVALID' in garbage.text
    binary = http.post(
        "/operator/console/catalog/check",
        data=keys,
        files={"document": ("c.yaml", b"version: \xff\xfe", "text/yaml")},
    )
    assert binary.status_code == 400 and "CATALOG_INVALID" in binary.text
    assert versions() == before


def test_run_due_settles_nothing_twice_and_is_audited(setup) -> None:  # type: ignore[no-untyped-def]
    http, c, _customer = setup
    page = http.get("/operator/console/settlements").text
    keys = {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)}
    first = http.post("/operator/console/settlements/run-due", data=keys)
    again = http.post("/operator/console/settlements/run-due", data=keys)
    assert first.status_code == again.status_code == 200
    assert "Due jobs run" in again.text
    assert [a for a in _audit(c) if a[1] == "console.run_due"] != []


def test_a_customer_user_cannot_open_the_operator_pages(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container, "beta")
    _user(container, customer.id, "admin@beta.example")
    with TestClient(create_app(container), base_url="http://127.0.0.1") as http:
        _sign_in(http, "admin@beta.example")
        for path in ("/status", "/audit", "/clock", "/catalog"):
            assert http.get(f"/operator/console{path}", follow_redirects=False).status_code == 303


def test_the_operator_api_manages_console_users(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container, "gamma")
    auth = {"Authorization": "Bearer test-token"}
    with TestClient(create_app(container), base_url="http://127.0.0.1") as http:
        api = "/operator/v1"
        made = http.post(
            f"{api}/customers/{customer.id}/users",
            headers=auth,
            json={"email": "Ann@gamma.example", "role": "viewer"},
        )
        assert made.status_code == 201, made.text
        body = made.json()
        assert body["status"] == "invited" and body["invitation_path"].startswith("/console/")
        again = http.post(
            f"{api}/customers/{customer.id}/users",
            headers=auth,
            json={"email": "ann@gamma.example"},
        )
        assert again.status_code == 409 and again.json()["error"]["code"] == "ALREADY_EXISTS"
        short = http.post(
            f"{api}/customers/{customer.id}/users",
            headers=auth,
            json={"email": "bob@gamma.example", "password": "short"},
        )
        assert short.status_code == 400 and short.json()["error"]["details"]["field"] == "password"
        listed = http.get(f"{api}/customers/{customer.id}/users", headers=auth).json()["items"]
        assert [u["email"] for u in listed] == ["ann@gamma.example"]
        user_id = body["id"]
        assert (
            http.post(
                f"{api}/users/{user_id}/password", headers=auth, json={"password": PASSWORD}
            ).json()["status"]
            == "active"
        )
        assert _sign_in(http, "ann@gamma.example").status_code == 303
        assert (
            http.patch(f"{api}/users/{user_id}", headers=auth, json={"role": "admin"}).json()[
                "role"
            ]
            == "admin"
        )
        assert http.patch(f"{api}/users/nope", headers=auth, json={}).status_code == 404
        ops = http.post(
            f"{api}/operator-users",
            headers=auth,
            json={"email": "ops2@provider.example", "password": PASSWORD},
        )
        assert ops.status_code == 201 and "invitation_token" not in ops.json()
        last = http.delete(f"{api}/users/{user_id}", headers=auth)
        assert last.status_code == 409 and last.json()["error"]["code"] == "INVALID_STATE"
        http.post(
            f"{api}/customers/{customer.id}/users",
            headers=auth,
            json={"email": "cy@gamma.example", "password": PASSWORD},
        )
        assert http.delete(f"{api}/users/{user_id}", headers=auth).json()["deleted"] is True
        left = http.get(f"{api}/customers/{customer.id}/users", headers=auth).json()["items"]
        assert [u["email"] for u in left] == ["cy@gamma.example"]
        assert http.get(f"{api}/operator-users").status_code == 401
