"""Books past 64 bits, on both databases: a VND provider's books pass 10^14 dong (each top-up
within the int64 of one movement), and a balance holds anything up to 10^22 currency units
exactly, compared and ordered correctly in SQL. Before, the second top-up of 50 billion dong was
refused: the balance overflowed int64 at about 92 billion."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

from cloudbill.api.app import create_app
from cloudbill.bootstrap import Container
from cloudbill.customers import service as customers
from cloudbill.kernel.errors import CloudbillError, ErrorCode
from cloudbill.kernel.limits import BOOK_UNITS_MAX
from cloudbill.kernel.money import SCALE
from cloudbill.ledger.verify import verify
from cloudbill.store.schema import ledger_account
from tests.conftest import T0
from tests.helpers import assert_books_balance, new_customer

AUTH = {"Authorization": "Bearer test-token"}
TOP_UP_VND = 90_000_000_000  # 90 billion dong, one movement (under int64's 92 billion)
TOP_UPS = 1_112  # 100,080,000,000,000 dong in all: past 10^14


def _top_up(container: Container, customer_id: str, count: int, amount: int, tag: str) -> None:
    def work(conn, now):  # type: ignore[no-untyped-def]
        for n in range(count):
            customers.topup(conn, customer_id, str(amount), reference=f"{tag}-{n}", now=now)

    container.write(work)


def test_vnd_books_pass_ten_to_the_fourteen(container: Container) -> None:
    acme = new_customer(container, "vn-acme", currency="VND")
    _top_up(container, acme.id, 2, 50_000_000_000, "two")  # the second was refused before
    for batch in range(0, TOP_UPS, 200):
        _top_up(container, acme.id, min(200, TOP_UPS - batch), TOP_UP_VND, f"big-{batch}")
    total = 2 * 50_000_000_000 + TOP_UPS * TOP_UP_VND
    assert total > 10**14

    client = TestClient(create_app(container))
    shown = client.get(f"/operator/v1/customers/{acme.id}", headers=AUTH).json()["overview"]
    assert shown["cash_balance"] == f"{total}" and shown["withdrawable"] == f"{total}"
    taken = client.post(f"/operator/v1/customers/{acme.id}/withdrawals", headers=AUTH,
                        json={"amount": "1234567", "reference": "out-1"})  # fmt: skip
    assert taken.status_code == 201, taken.text
    shown = client.get(f"/operator/v1/customers/{acme.id}", headers=AUTH).json()["overview"]
    assert shown["cash_balance"] == f"{total - 1_234_567}"

    with container.db.read() as conn:
        provider = conn.execute(
            select(ledger_account.c.code, ledger_account.c.balance_units).where(
                ledger_account.c.customer_id.is_(None), ledger_account.c.currency == "VND"
            )
        ).all()
        report = verify(conn)
    # The provider's side holds all of it, far past int64's 9.2e18 units of 10^-8.
    assert max(abs(balance) for _code, balance in provider) == (total - 1_234_567) * SCALE
    assert report.ok, report.problems


def test_one_movement_past_int64_is_refused_and_changes_nothing(container: Container) -> None:
    acme = new_customer(container, "vn-big", currency="VND")
    with pytest.raises(CloudbillError) as info:
        _top_up(container, acme.id, 1, 100_000_000_000, "huge")  # 10^19 units of 10^-8
    assert info.value.code is ErrorCode.AMOUNT_OUT_OF_RANGE
    assert_books_balance(container)


BALANCES = [-BOOK_UNITS_MAX, -(10**23), -(2**63), -1, 0, 1, 2**63, 10**23, BOOK_UNITS_MAX]


def test_a_balance_holds_up_to_ten_to_the_twenty_two_exactly(container: Container) -> None:
    """Stored and read back exact; `> 0`, `< 0` and ORDER BY in SQL follow the numbers."""
    rows = [
        {"code": f"scale-{n}", "customer_id": None, "kind": "scale_test", "currency": "VND",
         "normal_sign": 1, "may_go_negative": True, "balance_units": value, "created_at": T0}
        for n, value in enumerate(BALANCES)
    ]  # fmt: skip
    c = ledger_account.c
    with container.db.write() as conn:
        conn.execute(insert(ledger_account), rows)
    with container.db.read() as conn:
        mine = c.kind == "scale_test"
        ordered = conn.execute(select(c.balance_units).where(mine).order_by(c.balance_units))
        positive = conn.execute(select(c.balance_units).where(mine, c.balance_units > 0))
        negative = conn.execute(select(func.count()).where(mine, c.balance_units < 0))
        assert ordered.scalars().all() == BALANCES
        assert sorted(positive.scalars().all()) == [v for v in BALANCES if v > 0]
        assert negative.scalar_one() == 4
