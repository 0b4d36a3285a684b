"""The ledger on both databases: balanced, idempotent, append-only, and provable by verify."""

from __future__ import annotations

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError

from cloudbill.kernel.errors import CloudbillError, ErrorCode
from cloudbill.ledger import service as ledger
from cloudbill.ledger.model import AccountKind, Leg, Posting, TransactionKind, Transfer
from cloudbill.ledger.rules import payload_hash
from cloudbill.ledger.verify import verify
from cloudbill.store.schema import ledger_account

from ..helpers import assert_books_balance, new_customer, snapshot


def _accounts(container, customer_id):  # type: ignore[no-untyped-def]
    def work(conn, now):  # type: ignore[no-untyped-def]
        accounts = ledger.customer_accounts(conn, customer_id)
        funds = ledger.provider_account(conn, "USD", AccountKind.FUNDS, now=now)
        return accounts, funds

    return container.write(work)


def _post(container, key, legs, payload=None):  # type: ignore[no-untyped-def]
    posting = Posting(
        idempotency_key=key,
        payload_hash=payload_hash(
            payload or {"legs": [(leg.account_id, leg.amount_units) for leg in legs]}
        ),
        kind=TransactionKind.TRANSFER,
        legs=tuple(legs),
    )
    return container.write(lambda conn, now: ledger.post(conn, posting, now=now))


def test_a_transfer_moves_money_and_verifies(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    accounts, funds = _accounts(container, customer.id)
    cash = accounts[AccountKind.CASH]
    posted = _post(container, "t1", Transfer(funds.id, cash.id, 500, "USD").legs())
    assert not posted.replayed
    after, funds_after = _accounts(container, customer.id)
    assert after[AccountKind.CASH].balance_units == 500
    assert funds_after.balance_units == 500
    assert_books_balance(container)


def test_replay_returns_the_first_answer_and_changes_nothing(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    accounts, funds = _accounts(container, customer.id)
    legs = Transfer(funds.id, accounts[AccountKind.CASH].id, 700, "USD").legs()
    first = _post(container, "same-key", legs)
    before = snapshot(container)
    again = _post(container, "same-key", legs)
    assert again.replayed and again.id == first.id
    assert snapshot(container) == before
    with pytest.raises(CloudbillError) as info:
        _post(
            container,
            "same-key",
            Transfer(funds.id, accounts[AccountKind.CASH].id, 701, "USD").legs(),
        )
    assert info.value.code == ErrorCode.IDEMPOTENCY_CONFLICT
    assert snapshot(container) == before


@pytest.mark.parametrize(
    ("amounts", "code"),
    [
        ((100, -99), ErrorCode.UNBALANCED_TRANSACTION),
        ((100,), ErrorCode.UNBALANCED_TRANSACTION),
        ((0, 0), ErrorCode.UNBALANCED_TRANSACTION),
        ((100, -100), ErrorCode.INSUFFICIENT_BALANCE),  # debits (overdraws) the empty cash book
        ((2**63, -(2**63)), ErrorCode.AMOUNT_OUT_OF_RANGE),
    ],
)
def test_refused_postings_change_nothing(container, amounts, code) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    accounts, funds = _accounts(container, customer.id)
    ids = [accounts[AccountKind.CASH].id, funds.id]
    before = snapshot(container)
    with pytest.raises(CloudbillError) as info:
        _post(container, "bad", [Leg(ids[i], a, "USD") for i, a in enumerate(amounts)])
    assert info.value.code == code
    assert snapshot(container) == before


def test_currency_of_a_leg_must_match_its_account(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    accounts, funds = _accounts(container, customer.id)
    with pytest.raises(CloudbillError) as info:
        _post(container, "eur", Transfer(funds.id, accounts[AccountKind.CASH].id, 5, "EUR").legs())
    assert info.value.code == ErrorCode.CURRENCY_MISMATCH


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_entry SET amount_units = amount_units + 1",
        "DELETE FROM ledger_entry",
        "UPDATE ledger_transaction SET reference = 'rewritten'",
        "DELETE FROM ledger_transaction",
    ],
)
def test_the_database_refuses_to_rewrite_history(container, statement) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    accounts, funds = _accounts(container, customer.id)
    _post(container, "t1", Transfer(funds.id, accounts[AccountKind.CASH].id, 5, "USD").legs())
    with pytest.raises(DBAPIError, match="append-only"), container.db.write() as conn:
        conn.execute(text(statement))
    assert_books_balance(container)


def test_verify_finds_a_tampered_cached_balance(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    accounts, funds = _accounts(container, customer.id)
    _post(container, "t1", Transfer(funds.id, accounts[AccountKind.CASH].id, 5, "USD").legs())
    with container.db.write() as conn:
        conn.execute(
            update(ledger_account)
            .where(ledger_account.c.id == accounts[AccountKind.CASH].id)
            .values(balance_units=6)
        )
    with container.db.read() as conn:
        report = verify(conn)
    assert not report.ok
    assert any("cached balance 6" in p for p in report.problems)


def test_verify_finds_a_coupon_book_that_disagrees_with_its_coupons(container) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from cloudbill.benefits import service as benefits
    from cloudbill.store.schema import cash_coupon

    customer = new_customer(container)
    container.write(
        lambda conn, now: benefits.issue_coupon(
            conn, customer_id=customer.id, name="welcome", value="20.00", valid_from=None,
            valid_to=now + timedelta(days=30), reference="c1", now=now,
        )
    )  # fmt: skip
    assert_books_balance(container)
    with container.db.write() as conn:
        conn.execute(update(cash_coupon).values(balance_units=cash_coupon.c.balance_units - 1))
    with container.db.read() as conn:
        report = verify(conn)
    assert any("coupon book" in p for p in report.problems), report.problems
