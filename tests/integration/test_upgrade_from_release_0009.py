"""A database written by the release before expenditure records (migration head 0009), upgraded:
its old orders, refunds and adjustments are in the bills, and the bills equal the ledger.

The rows come from `tests/fixtures/release_0009_db.json`, made by that release's own code (see
`tests/fixtures/make_release_0009_db.py`). They are loaded into a database migrated to 0009 with
the migrations as shipped, then the database is migrated to head."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Boolean, Date, DateTime, MetaData, select, text

from cloudbill.bills import service as bills
from cloudbill.bootstrap import Container, build
from cloudbill.config import Settings
from cloudbill.ledger.verify import verify
from cloudbill.store.engine import Database
from cloudbill.store.migrate import migrate
from cloudbill.store.schema import customer, customer_order, fee_record

from ..conftest import empty_postgres_database
from ..helpers import ledger_by_month
from ..scenarios.test_orders import buy, pay
from ..scenarios.test_settlement import units

FIXTURE = Path(__file__).parents[1] / "fixtures" / "release_0009_db.json"


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'release.sqlite'}"
        return
    with empty_postgres_database() as url:
        yield url


def _value(column: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column.type, DateTime):
        return datetime.fromisoformat(value)
    if isinstance(column.type, Date):
        return date.fromisoformat(value)
    if isinstance(column.type, Boolean):
        return bool(value)
    return value


def load_release(url: str) -> None:
    """Migrate to 0009 and insert the old release's rows as it stored them."""
    dump = json.loads(FIXTURE.read_text())
    assert dump["alembic_version"] == "0009"
    db = Database(url)
    migrate(db, "0009")
    old = MetaData()
    old.reflect(db.engine)
    with db.engine.begin() as conn:
        for table in old.sorted_tables:
            rows = dump["tables"].get(table.name, [])
            if rows:
                conn.execute(
                    table.insert(),
                    [{k: _value(table.c[k], v) for k, v in row.items()} for row in rows],
                )
            if conn.dialect.name == "postgresql" and "id" in table.c and rows:
                # explicit ids do not move PostgreSQL's sequences: move them past the rows
                sequence = conn.execute(
                    text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name}
                ).scalar()
                if sequence:
                    conn.execute(
                        text(f'SELECT setval(:s, (SELECT max(id) FROM "{table.name}"))'),
                        {"s": sequence},
                    )
    db.dispose()


@pytest.fixture
def upgraded(empty_url: str) -> Iterator[Container]:
    load_release(empty_url)
    db = Database(empty_url)
    migrate(db)  # 0009 -> head: the expenditure records of what is there are written
    db.dispose()
    container = build(Settings(database_url=empty_url, clock="system", operator_token="t"))
    yield container
    container.db.dispose()


def _customer(container: Container, name: str) -> Any:
    with container.db.read() as conn:
        return conn.execute(select(customer).where(customer.c.name == name)).one()


def test_old_orders_refunds_and_adjustments_are_in_the_bills(upgraded: Container) -> None:
    with upgraded.db.read() as conn:
        report = verify(conn)
        old_orders = conn.execute(
            select(customer_order.c.id).where(customer_order.c.status.in_(["paid", "refunded"]))
        ).scalars()
        paid_ids = set(old_orders)
        billed = set(
            conn.execute(select(fee_record.c.trade_id).where(fee_record.c.settlement_id.is_(None)))
            .scalars()
            .all()
        )
    assert report.ok, report.problems
    assert paid_ids <= billed  # every paid or refunded order of the old release is billed
    assert {"adj-charge", "adj-credit"} <= billed

    acme = _customer(upgraded, "acme")
    ledger = ledger_by_month(upgraded, acme.id, acme.timezone)

    def summary(month: str) -> Any:
        return upgraded.read(
            lambda conn, _now: bills.monthly_summary(conn, acme.id, month, rounding="half_up")
        )

    march, april = summary("2026-03"), summary("2026-04")
    for month, s in (("2026-03", march), ("2026-04", april)):
        assert s.exact.amount_units == ledger[month], month
    kinds = {b.dimension: {line.key for line in b.lines} for b in march.breakdowns}
    assert kinds["bill_type"] == {
        "usage", "new_purchase", "renewal", "upgrade", "downgrade_refund",
        "unsubscription_refund", "unsubscription_fee", "deduction", "compensation",
    }  # fmt: skip
    assert {b.dimension: {x.key for x in b.lines} for b in april.breakdowns}["bill_type"] == {
        "auto_renewal"
    }
    # post-paid: orders paid on credit; the downgrade after repaying came back as cash
    delta = _customer(upgraded, "delta")
    by_type = upgraded.read(
        lambda conn, _now: bills.monthly_summary(conn, delta.id, "2026-03", rounding="half_up")
    ).breakdowns[3]
    lines = {line.key: (line.exact.credit_units, line.exact.cash_units) for line in by_type.lines}
    assert lines == {
        "new_purchase": (units("50.70"), 0),  # 11.60 + 39.10
        "downgrade_refund": (0, -units("27.50")),
    }


def test_the_upgraded_database_bills_on(upgraded: Container) -> None:
    acme = _customer(upgraded, "acme")
    order = pay(upgraded, acme.id, buy(upgraded, acme.id).id)
    fees, _total = upgraded.read(
        lambda conn, _now: bills.fee_records(
            conn, acme.id, month="2026-04", bill_type="new_purchase"
        )
    )
    assert [r.trade_id for r in fees] == [order.id]
    with upgraded.db.read() as conn:
        assert verify(conn).ok


def test_the_old_plaintext_operator_token_becomes_a_digest_and_still_works(
    empty_url: str,
) -> None:
    from cloudbill.store import operator_token
    from cloudbill.store.schema import app_setting

    old = "Cquu5cUyiNbMPg5Zy71yZZMJw2yXL-o3"  # the token the earlier release printed
    load_release(empty_url)
    container = build(Settings(database_url=empty_url, clock="system"))
    try:
        assert container.new_operator_token is None  # nothing new to show: the old one holds
        assert container.operator_token_ok(old) and not container.operator_token_ok(old + "x")
        with container.db.read() as conn:
            keys = dict(conn.execute(select(app_setting.c.key, app_setting.c.value)).all())
        assert "operator_token" not in keys and old not in keys.values()
        assert keys[operator_token.DIGEST_KEY] == operator_token.digest(old)
    finally:
        container.db.dispose()
