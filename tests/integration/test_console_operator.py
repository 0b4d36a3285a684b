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
    return http.post(f"/operator/console/customers/{customer_id}/{action}",
                     data={**keys, **fields}, follow_redirects=False)  # fmt: skip


def _audit(c) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with c.db.read() as conn:
        rows = conn.execute(select(audit_event.c.actor, audit_event.c.action)).all()
    return [(r.actor, r.action) for r in rows]


def test_an_adjustment_is_applied_and_audited_under_the_operator_user(setup) -> None:  # type: ignore[no-untyped-def]
    http, c, customer_id = setup
    before = _transactions(c)
    answer = _post(http, customer_id, "adjust", direction="credit", adjust_amount="12.50",
                   reason="outage compensation")  # fmt: skip
    assert answer.status_code == 303
    assert _transactions(c) == before + 1
    assert (f"operator:{OPERATOR}", "console.adjust_amount") in _audit(c)
    figures = c.read(lambda conn, _now: customers.overview(conn, customers.get(conn, customer_id)))
    assert figures.cash_balance_units == 1250 * 10**6


def test_freezing_needs_a_reason_and_then_freezes(setup) -> None:  # type: ignore[no-untyped-def]
    http, c, customer_id = setup
    refused = _post(http, customer_id, "status", status="frozen", status_reason=" ")
    assert refused.status_code == 400 and 'id="err-status_reason">INVALID_ARGUMENT' in refused.text
    assert str(c.read(lambda conn, _now: customers.get(conn, customer_id)).status) == "active"
    assert _post(http, customer_id, "status", status="frozen",
                 status_reason="fraud review").status_code == 303  # fmt: skip
    assert str(c.read(lambda conn, _now: customers.get(conn, customer_id)).status) == "frozen"
    assert (f"operator:{OPERATOR}", "console.status_reason") in _audit(c)


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
    accept = http.post("/console/invitation", data={"token": link.group(1), "password": PASSWORD,
                                                    "password_again": PASSWORD},
                       follow_redirects=False)  # fmt: skip
    assert accept.status_code == 303
    assert _sign_in(http, "new@alpha.example").status_code == 303
