"""review4: defects found in the performance changes (7e6c370..main), each shown failing."""

from __future__ import annotations

from sqlalchemy import select

from cloudbill.bootstrap import Container
from cloudbill.customers import service as customers
from cloudbill.ledger import service as ledger
from cloudbill.ledger.model import AccountKind, provider_account_code
from cloudbill.notify.outbox import Event, emit_many
from cloudbill.store.schema import ledger_account
from tests.helpers import new_customer


class Boom(Exception):
    pass


def open_in_savepoint_then_fail(conn, now):  # type: ignore[no-untyped-def]
    """Open the provider's JPY funds account inside a savepoint that then fails: as the
    renewal job does, the savepoint is rolled back and the rest of the transaction commits."""
    try:
        with conn.begin_nested():
            ledger.provider_account_id(conn, "JPY", AccountKind.FUNDS, now=now)
            raise Boom
    except Boom:
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


def test_outbox_lookup_stays_under_sqlites_999_bound_parameters(
    sqlite_container: Container,
) -> None:
    """SQL_IN_CHUNK (900) keeps an IN list under SQLite's historical bound of 999 parameters
    (SQLITE_MAX_VARIABLE_NUMBER before 3.32, and what builds may still set). emit_many's
    merged lookup binds up to 900 keys and 900 subjects in one statement: 1,800 parameters,
    which such a SQLite refuses, where the chunked lookups it replaced never passed 900."""
    import sqlite3

    from sqlalchemy import event

    engine = sqlite_container.db.engine

    @event.listens_for(engine, "connect")
    def _bound(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)

    engine.dispose()  # new connections, with the bound
    events = [Event("t", f"subject-{i}", {}, f"key-{i}") for i in range(900)]
    written = sqlite_container.write(lambda conn, now: emit_many(conn, events, now=now))
    assert written == 900
