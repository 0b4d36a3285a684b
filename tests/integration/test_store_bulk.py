"""The store's bulk helpers on both databases: `among` (an id set bound as one parameter)
finds exactly the listed rows whatever their number, and bulk writes (COPY on PostgreSQL)
store what an INSERT would and fail as an INSERT would, with SQLAlchemy's errors."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from cloudbill.bootstrap import Container
from cloudbill.kernel.errors import CloudbillError, ErrorCode
from cloudbill.kernel.periods import utc
from cloudbill.ledger.repo import TRANSACTION_COLUMNS
from cloudbill.store.bulk import insert_columns, insert_tuples
from cloudbill.store.id_sets import among
from cloudbill.store.schema import ledger_transaction

NOW = utc(2026, 3, 16, 9, 30, 0)


def _row(key: str) -> tuple[object, ...]:
    return (key, "h" * 64, "fee", None, "ref", "a fee", '{"x": 1}', NOW)


def test_among_finds_exactly_the_listed_ids_past_any_in_list_bound(container: Container) -> None:
    keys = [f"k-{n:05d}" for n in range(2500)]  # more than SQLite's IN-list allows in one go
    container.write(
        lambda conn, now: insert_tuples(
            conn, ledger_transaction, TRANSACTION_COLUMNS, [_row(k) for k in keys]
        )
    )
    t = ledger_transaction.c
    wanted = [*keys[::3], "k-absent", "k-00001'; --"]

    def read(conn, now):  # type: ignore[no-untyped-def]
        ids = conn.execute(select(t.id).where(among(conn, t.id, range(1, 11)))).scalars()
        found = conn.execute(
            select(t.idempotency_key).where(among(conn, t.idempotency_key, wanted))
        )
        nothing = conn.execute(select(t.id).where(among(conn, t.idempotency_key, [])))
        return sorted(ids), sorted(found.scalars()), nothing.all()

    ids, found, nothing = container.read(read)
    assert ids == list(range(1, 11))
    assert found == sorted(keys[::3])
    assert nothing == []


def test_bulk_rows_are_stored_as_an_insert_would(container: Container) -> None:
    container.write(
        lambda conn, now: insert_columns(
            conn,
            ledger_transaction,
            TRANSACTION_COLUMNS,
            [list(col) for col in zip(_row("a"), _row("b"), strict=True)],
        )
    )
    rows = container.read(
        lambda conn, now: conn.execute(
            select(ledger_transaction).order_by(ledger_transaction.c.idempotency_key)
        ).all()
    )
    assert [r.idempotency_key for r in rows] == ["a", "b"]
    assert rows[0].created_at == NOW and rows[0].customer_id is None
    assert rows[0].result == '{"x": 1}'


def test_a_bulk_write_that_breaks_a_constraint_fails_whole_with_sqlalchemys_error(
    container: Container,
) -> None:
    container.write(
        lambda conn, now: insert_tuples(conn, ledger_transaction, TRANSACTION_COLUMNS, [_row("a")])
    )
    # Container.write retries an IntegrityError (a lost race) and then answers ALREADY_EXISTS:
    # what it does for an INSERT's, so the COPY's error reached it as SQLAlchemy's.
    with pytest.raises(CloudbillError) as refused:
        container.write(
            lambda conn, now: insert_tuples(
                conn, ledger_transaction, TRANSACTION_COLUMNS, [_row("b"), _row("a")]
            )
        )
    assert refused.value.code == ErrorCode.ALREADY_EXISTS
    keys = container.read(
        lambda conn, now: conn.execute(select(ledger_transaction.c.idempotency_key)).scalars().all()
    )
    assert keys == ["a"]  # nothing of the failed write stayed
