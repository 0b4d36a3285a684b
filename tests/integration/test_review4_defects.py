"""review4: defects found in the performance changes (7e6c370..main), each shown failing."""

from __future__ import annotations

from sqlalchemy import select

from cloudbill.bootstrap import Container
from cloudbill.customers import service as customers
from cloudbill.ledger import service as ledger
from cloudbill.ledger.model import AccountKind, provider_account_code
from cloudbill.store.schema import ledger_account
from tests.helpers import new_customer


class Boom(Exception):
    pass


def test_provider_account_opened_in_a_rolled_back_savepoint_is_not_remembered(
    container: Container,
) -> None:
    """The renewal job pays each renewal inside conn.begin_nested() and rolls the savepoint
    back when the renewal fails, while the job's transaction commits. A provider account first
    opened inside such a savepoint is rolled back with it, but the after_commit action that
    remembers its id was registered on the outer connection and still runs: every later money
    movement in that currency then posts to an account id that does not exist."""
    code = provider_account_code("JPY", AccountKind.FUNDS)

    def open_in_savepoint_then_fail(conn, now):  # type: ignore[no-untyped-def]
        try:
            with conn.begin_nested():
                ledger.provider_account_id(conn, "JPY", AccountKind.FUNDS, now=now)
                raise Boom
        except Boom:
            pass  # as the renewal job does: the savepoint is rolled back, the rest commits

    container.write(open_in_savepoint_then_fail)
    account_id = container.write(
        lambda conn, now: ledger.provider_account_id(conn, "JPY", AccountKind.FUNDS, now=now)
    )
    stored = container.read(
        lambda conn, _now: conn.execute(
            select(ledger_account.c.id).where(ledger_account.c.code == code)
        ).scalar_one_or_none()
    )
    assert stored is not None and account_id == stored


def test_topup_after_a_rolled_back_savepoint_opened_the_funds_account(
    container: Container,
) -> None:
    """The same, seen from the API's side: a top-up in that currency afterwards fails (the
    posting names a FUNDS account id that was rolled back: on PostgreSQL no such account, on
    SQLite the id is given again to the next account opened, here the customer's own) where
    before it succeeded and moved the money to the provider's FUNDS account."""

    def open_in_savepoint_then_fail(conn, now):  # type: ignore[no-untyped-def]
        try:
            with conn.begin_nested():
                ledger.provider_account_id(conn, "JPY", AccountKind.FUNDS, now=now)
                raise Boom
        except Boom:
            pass

    container.write(open_in_savepoint_then_fail)
    customer = new_customer(container, "sp", currency="JPY")
    container.write(
        lambda conn, now: customers.topup(conn, customer.id, "100", reference="sp-1", now=now)
    )
    code = provider_account_code("JPY", AccountKind.FUNDS)
    legs = container.read(
        lambda conn, _now: conn.execute(
            select(ledger_account.c.code, ledger_account.c.customer_id, ledger_account.c.kind,
                   ledger_account.c.balance_units)
            .where(ledger_account.c.balance_units != 0)
            .order_by(ledger_account.c.code)
        ).all()
    )  # fmt: skip
    assert [r.code for r in legs if r.customer_id is None] == [code], legs
