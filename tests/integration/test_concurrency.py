"""Top-ups, withdrawals and charges on one customer from many threads at once.

On PostgreSQL this exercises the row locks (customer row, then accounts in id order); on SQLite
the BEGIN IMMEDIATE queue. Either way: no lost update, no double spend, one transaction per key.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from cloudbill.customers import service as customers
from cloudbill.kernel.errors import CloudbillError, ErrorCode
from cloudbill.kernel.money import SCALE
from cloudbill.ledger import repo as ledger_repo

from ..helpers import assert_books_balance, new_customer

CENT = SCALE // 100
THREADS = 8
ROUNDS = 6


def _round(container, customer_id: str, ref: str) -> str:  # type: ignore[no-untyped-def]
    """Top up 3.00, withdraw 1.00, be charged 0.50: one round of one worker."""

    def topup(conn, now):  # type: ignore[no-untyped-def]
        return customers.topup(conn, customer_id, "3.00", reference=f"t-{ref}", now=now)

    def withdraw(conn, now):  # type: ignore[no-untyped-def]
        return customers.withdraw(conn, customer_id, "1.00", reference=f"x-{ref}", now=now)

    def charge(conn, now):  # type: ignore[no-untyped-def]
        return customers.adjust(
            conn, customer_id, "0.50", direction="charge", reason="race",
            reference=f"c-{ref}", now=now,
        )  # fmt: skip

    container.write(topup)
    try:
        container.write(withdraw)
        outcome = "withdrawn"
    except CloudbillError as exc:
        outcome = str(exc.code)
    container.write(charge)
    return outcome


def _work(container, customer_id: str, worker: int) -> list[str]:  # type: ignore[no-untyped-def]
    return [_round(container, customer_id, f"w{worker}-{n}") for n in range(ROUNDS)]


def test_parallel_movements_lose_nothing(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(lambda w: _work(container, customer.id, w), range(THREADS)))
    ops = THREADS * ROUNDS
    withdrawn = sum(r.count("withdrawn") for r in results)
    assert withdrawn == ops  # each round tops up 3.00 before taking 1.00: always enough
    figures = container.read(
        lambda conn, _now: customers.overview(conn, customers.get(conn, customer.id))
    )
    assert figures.cash_balance_units == ops * (300 - 100 - 50) * CENT
    assert figures.debt_units == 0
    assert_books_balance(container)


def test_one_key_raced_by_many_gives_one_transaction(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)

    def attempt(_i: int):  # type: ignore[no-untyped-def]
        return container.write(
            lambda conn, now: customers.topup(conn, customer.id, "5.00", reference="dup", now=now)
        )

    with ThreadPoolExecutor(THREADS) as pool:
        posted = list(pool.map(attempt, range(THREADS * 2)))
    assert len({p.id for p in posted}) == 1
    assert sum(not p.replayed for p in posted) == 1
    figures = container.read(
        lambda conn, _now: customers.overview(conn, customers.get(conn, customer.id))
    )
    assert figures.cash_balance_units == 500 * CENT
    with container.db.read() as conn:
        assert ledger_repo.count_history(conn, [ledger_repo.customer_accounts(conn, customer.id)[
            "cash"].id]) == 1  # fmt: skip
    assert_books_balance(container)


def test_racing_withdrawals_never_overdraw(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    container.write(
        lambda conn, now: customers.topup(conn, customer.id, "10.00", reference="seed", now=now)
    )

    def attempt(i: int) -> str:
        try:
            container.write(
                lambda conn, now: customers.withdraw(
                    conn, customer.id, "3.00", reference=f"w{i}", now=now
                )
            )
            return "ok"
        except CloudbillError as exc:
            assert exc.code == ErrorCode.INSUFFICIENT_BALANCE
            return "refused"

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(attempt, range(THREADS)))
    assert outcomes.count("ok") == 3
    figures = container.read(
        lambda conn, _now: customers.overview(conn, customers.get(conn, customer.id))
    )
    assert figures.cash_balance_units == 100 * CENT
    assert_books_balance(container)
