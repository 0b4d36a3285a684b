"""Small helpers for tests: counting rows to prove that a refused request changed nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from cloudbill.bootstrap import Container
from cloudbill.customers import service as customers
from cloudbill.customers.model import CustomerInput
from cloudbill.ledger.verify import verify
from cloudbill.store.schema import metadata


def snapshot(container: Container) -> dict[str, object]:
    """Row counts of every table plus every account balance: equal snapshots = nothing changed."""
    with container.db.read() as conn:
        counts = {
            name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in metadata.tables.items()
        }
        balances = dict(
            conn.execute(
                select(
                    metadata.tables["ledger_account"].c.code,
                    metadata.tables["ledger_account"].c.balance_units,
                )
            ).all()
        )
        customers_rows = conn.execute(select(metadata.tables["customer"])).all()
    return {"counts": counts, "balances": balances, "customers": sorted(map(tuple, customers_rows))}


def new_customer(container: Container, name: str = "acme", **kwargs: object):  # type: ignore[no-untyped-def]
    data = CustomerInput(name=name, currency=kwargs.pop("currency", "USD"), **kwargs)  # type: ignore[arg-type]
    return container.write(lambda conn, now: customers.create(conn, data, now=now))


def assert_books_balance(container: Container) -> None:
    with container.db.read() as conn:
        report = verify(conn)
    assert report.ok, report.problems
