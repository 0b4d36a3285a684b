"""Small helpers for tests: counting rows to prove that a refused request changed nothing."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select

from cloudbill.bootstrap import Container
from cloudbill.catalog import service as catalog_service
from cloudbill.customers import service as customers
from cloudbill.customers.model import CustomerInput
from cloudbill.kernel.periods import zone
from cloudbill.ledger.verify import verify
from cloudbill.resources.model import ResourceInput
from cloudbill.settle.lines import record_split
from cloudbill.store.schema import (
    ledger_account,
    ledger_entry,
    ledger_transaction,
    metadata,
    usage_record,
)


def snapshot(container: Container) -> dict[str, object]:
    """Row counts of every table plus every account balance: equal snapshots = nothing changed.
    Request budgets (`rate_limit`) are left out: a refused request still spends from them."""
    with container.db.read() as conn:
        counts = {
            name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in metadata.tables.items()
            if name != "rate_limit"
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


def ledger_by_month(container: Container, customer_id: str, tz: str) -> dict[str, int]:
    """What the journal moved of a customer's money for services (fees, orders, refunds,
    adjustments) per local month of the transaction: the provider side of each, negated. Read
    from the ledger alone, to check bills against."""
    e, a, t = ledger_entry.c, ledger_account.c, ledger_transaction.c
    with container.db.read() as conn:
        rows = conn.execute(
            select(t.created_at, e.amount_units)
            .join(ledger_transaction, t.id == e.transaction_id)
            .join(ledger_account, a.id == e.account_id)
            .where(
                t.customer_id == customer_id,
                t.kind.in_(["fee", "order", "refund", "adjustment"]),
                a.customer_id.is_(None),
                a.kind.in_(["revenue", "adjustment"]),
            )
        ).all()
    out: dict[str, int] = defaultdict(int)
    for created_at, amount_units in rows:
        out[created_at.astimezone(zone(tz)).strftime("%Y-%m")] -= amount_units
    return dict(out)


# Test resources were created a day before they are registered: the tests meter the hours
# before the clock's (usage before a resource's creation is refused).
METERED_SINCE = timedelta(days=1)


def created_before(data: ResourceInput, now: datetime) -> ResourceInput:
    """A pay-per-use resource as created METERED_SINCE before `now` (unless it says when)."""
    if data.billing_mode != "pay_per_use" or data.created_at is not None:
        return data
    return replace(data, created_at=now - METERED_SINCE)


def billable_by_resource(conn: Connection) -> dict[str, int]:
    """Each resource's usage as settlement bills it (pricing unit, 1e-10): a record within an
    hour as stored, one spanning hours as the sum of its hour pieces, each truncated on its own
    (Huawei's rule), so a little less than the record truncated once. Voided records count."""

    u = usage_record.c
    factors = {code: unit.factor for code, unit in catalog_service.active(conn).units.items()}
    totals: dict[str, int] = {}
    rows = conn.execute(
        select(u.resource_id, u.quantity_e10, u.start_at, u.end_at, u.first_hour, u.last_hour,
               u.quantity, u.unit, u.pricing_unit)
    )  # fmt: skip
    for rid, e10, start, end, first, last, sent, sent_unit, unit in rows:
        pieces = record_split(start, end, first, last, e10, sent, sent_unit, unit, factors)
        totals[rid] = totals.get(rid, 0) + sum(part for _hour, part in pieces)
    return totals
