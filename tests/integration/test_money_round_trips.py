"""The short paths of online money operations keep their rules: a provider account's id is
remembered only once the transaction that saw it has committed; the outbox numbers and
deduplicates events read in one statement as before; a payment's answer is the order as
stored."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from cloudbill.ledger import service as ledger
from cloudbill.ledger.model import AccountKind, provider_account_code
from cloudbill.notify.outbox import Event, emit_many
from cloudbill.store import commit_hooks
from cloudbill.store.schema import ledger_account, outbox_event


class Boom(Exception):
    pass


def _known(container) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return dict(ledger._provider_ids.get(container.db.engine, {}))


def test_a_provider_account_opened_by_a_rolled_back_transaction_is_not_remembered(
    container,
) -> None:  # type: ignore[no-untyped-def]
    code = provider_account_code("JPY", AccountKind.FUNDS)

    def open_then_fail(conn, now):  # type: ignore[no-untyped-def]
        ledger.provider_account_id(conn, "JPY", AccountKind.FUNDS, now=now)
        raise Boom

    with pytest.raises(Boom):
        container.write(open_then_fail)
    assert code not in _known(container)
    account_id = container.write(
        lambda conn, now: ledger.provider_account_id(conn, "JPY", AccountKind.FUNDS, now=now)
    )
    stored = container.read(
        lambda conn, _now: conn.execute(
            select(ledger_account.c.id).where(ledger_account.c.code == code)
        ).scalar_one()
    )
    assert account_id == stored
    assert _known(container)[code] == stored  # committed: remembered
    again = container.write(
        lambda conn, now: ledger.provider_account_id(conn, "JPY", AccountKind.FUNDS, now=now)
    )
    assert again == stored


def test_after_commit_actions_run_only_when_the_commit_happened(container) -> None:  # type: ignore[no-untyped-def]
    done: list[str] = []

    def ask(conn, _now):  # type: ignore[no-untyped-def]
        assert commit_hooks.after_commit(conn, lambda: done.append("committed"))
        assert not done  # not before the commit

    container.write(ask)
    assert done == ["committed"]

    def ask_then_fail(conn, _now):  # type: ignore[no-untyped-def]
        commit_hooks.after_commit(conn, lambda: done.append("rolled back"))
        raise Boom

    with pytest.raises(Boom):
        container.write(ask_then_fail)
    assert done == ["committed"]


def test_outbox_numbers_per_subject_and_skips_known_keys(container) -> None:  # type: ignore[no-untyped-def]
    def emit(events):  # type: ignore[no-untyped-def]
        return container.write(lambda conn, now: emit_many(conn, events, now=now))

    assert emit([Event("t", "a", {}, "k1"), Event("t", "b", {}, "k2")]) == 2
    assert emit([Event("t", "a", {}, "k1"), Event("t", "a", {}, "k3")]) == 1  # k1 known
    assert emit([Event("t", "a", {}, "k3")]) == 0
    assert emit([Event("t", "b", {}, "k4"), Event("t", "a", {}, "k5")]) == 2
    rows = container.read(
        lambda conn, _now: conn.execute(
            select(outbox_event.c.dedupe_key, outbox_event.c.subject_id, outbox_event.c.subject_seq)
            .where(outbox_event.c.topic == "t")
            .order_by(outbox_event.c.dedupe_key)
        ).all()
    )
    assert [tuple(r) for r in rows] == [
        ("k1", "a", 1),
        ("k2", "b", 1),
        ("k3", "a", 2),
        ("k4", "b", 2),
        ("k5", "a", 3),
    ]


def test_a_posting_reads_the_provider_account_once_and_the_books_stay_right(container) -> None:  # type: ignore[no-untyped-def]
    from cloudbill.customers import service as customers
    from cloudbill.customers.model import CustomerInput
    from cloudbill.ledger import repo as ledger_repo
    from cloudbill.ledger.verify import verify

    cid = container.write(
        lambda conn, now: customers.create(conn, CustomerInput(name="rt", currency="USD"), now=now)
    ).id
    for n in range(3):
        container.write(
            lambda conn, now, n=n: customers.topup(conn, cid, "2.50", reference=f"rt-{n}", now=now)
        )
    container.write(
        lambda conn, now: customers.withdraw(conn, cid, "1.00", reference="rt-w", now=now)
    )
    funds = container.read(
        lambda conn, _now: ledger.provider_account(conn, "USD", AccountKind.FUNDS, now=_now)
    )
    assert funds.balance_units == 650_000_000  # 3 x 2.50 in, 1.00 out (units of 1e-8)
    if container.db.dialect == "postgresql":  # SQLite locks every account it posts to
        remembered = ledger_repo._free_accounts[container.db.engine][funds.id]
        assert (remembered.code, remembered.currency, remembered.may_go_negative) == (
            funds.code,
            "USD",
            True,
        )
    report = container.read(lambda conn, _now: verify(conn))
    assert report.ok, report.problems
