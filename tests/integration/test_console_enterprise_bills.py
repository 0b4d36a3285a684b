"""The console's bill pages of an enterprise master over HTTP: its fee list and monthly bill
hold its unified members' records with a Member column and breakdown; `member_id` shows one
member's own; a member sees only its own and another customer's id is refused beside the
field; after disassociation the old master sees nothing of the member (issue 18, item 4)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from cloudbill.api.app import create_app
from cloudbill.bootstrap import Container
from cloudbill.users import service as users
from cloudbill.users.model import UserKind
from cloudbill.worker.jobs import run_due

from ..conftest import T0
from ..enterprise_fixtures import associate, disassociate
from ..helpers import new_customer
from ..scenarios.test_settlement import hour, meter, register, topup
from .test_console_security import SIGN_IN

PASSWORD = "correct horse battery staple"
MONTH = T0.strftime("%Y-%m")


def sign_in(container: Container, email: str) -> TestClient:
    http = TestClient(create_app(container), base_url="http://127.0.0.1")
    token = SIGN_IN.search(http.get("/console/sign-in").text).group(1)
    signed = http.post(
        "/console/sign-in",
        data={"email": email, "password": PASSWORD, "sign_in_token": token},
        follow_redirects=False,
    )
    assert signed.status_code == 303, signed.text[:500]
    return http


@pytest.fixture
def world(container: Container) -> Iterator[dict]:  # type: ignore[type-arg]
    master = new_customer(container, "master")
    m1, m2 = new_customer(container, "member-one"), new_customer(container, "member-two")
    topup(container, master.id, "10.00", "seed")
    links = {}
    for customer, email in ((master, "master"), (m1, "one"), (m2, "two")):
        container.write(
            lambda conn, now, c=customer, e=email: users.create(
                conn,
                kind=UserKind.CUSTOMER,
                customer_id=c.id,
                email=f"{e}@example.com",
                password=PASSWORD,
                actor="test",
                now=now,
            )
        )
        register(container, customer.id, f"vm-{email}")
        if customer is not master:
            links[customer.id] = associate(
                container, master.id, customer.id, "unified", at=T0 - timedelta(days=1)
            )
    meter(container, *[(f"r-{e}", f"vm-{e}", "duration", "1", hour(7), hour(8), "h")
                       for e in ("master", "one", "two")])  # fmt: skip
    run_due(container)
    yield {"master": master, "one": m1, "two": m2, "links": links}


def member_cells(page: str) -> list[str]:
    return re.findall(r'<td data-testid="member">([^<]*)</td>', page)


def test_the_masters_pages_hold_its_members_records(container: Container, world) -> None:  # type: ignore[no-untyped-def]
    master, one, two = world["master"], world["one"], world["two"]
    with sign_in(container, "master@example.com") as http:
        fees = http.get(f"/console/bills/fees?month={MONTH}").text
        assert sorted(member_cells(fees)) == sorted([master.id, one.id, two.id])
        bill = http.get(f"/console/bills?month={MONTH}").text
        assert 'data-testid="by-customer_id"' in bill and one.id in bill and two.id in bill
        mine = http.get(f"/console/bills/fees?month={MONTH}&member_id={one.id}").text
        assert member_cells(mine) == [one.id]
        csv = http.get(f"/console/bills/{MONTH}/export.csv?member_id={two.id}").text
        assert two.id in csv and one.id not in csv
        # Disassociated: the old master sees nothing of it any more.
        disassociate(container, world["links"][two.id], at=container.now())
        fees = http.get(f"/console/bills/fees?month={MONTH}").text
        assert sorted(member_cells(fees)) == sorted([master.id, one.id])
        refused = http.get(f"/console/bills/fees?month={MONTH}&member_id={two.id}")
        assert refused.status_code == 404 and "CUSTOMER_NOT_FOUND" in refused.text


def test_a_member_sees_only_its_own(container: Container, world) -> None:  # type: ignore[no-untyped-def]
    master, two = world["master"], world["two"]
    with sign_in(container, "one@example.com") as http:
        fees = http.get(f"/console/bills/fees?month={MONTH}").text
        assert member_cells(fees) == []  # its own records only: no member column
        assert "vm-one" in fees and "vm-two" not in fees and "vm-master" not in fees
        for other in (two.id, master.id):
            refused = http.get(f"/console/bills/fees?month={MONTH}&member_id={other}")
            assert refused.status_code == 404 and "CUSTOMER_NOT_FOUND" in refused.text
