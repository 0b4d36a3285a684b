"""Post-paid SQL: what a cycle charged against the credit limit, what was repaid, the bills."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, and_, func, insert, or_, select

from ..enterprise import accounting
from ..ledger.model import AccountKind, TransactionKind
from ..store.schema import (
    customer,
    fee_record,
    ledger_account,
    ledger_entry,
    ledger_transaction,
    postpaid_bill,
    settlement_run,
)
from .rules import Cycle


def _unpaid_entries(customer_id: str):  # type: ignore[no-untyped-def]
    return (
        select(
            ledger_entry.c.amount_units,
            ledger_transaction.c.kind,
            ledger_transaction.c.created_at,
        )
        .join(ledger_account, ledger_account.c.id == ledger_entry.c.account_id)
        .join(ledger_transaction, ledger_transaction.c.id == ledger_entry.c.transaction_id)
        .where(
            ledger_account.c.customer_id == customer_id,
            ledger_account.c.kind == str(AccountKind.UNPAID),
        )
    )


def charged_in(conn: Connection, customer_id: str, c: Cycle, previous_issue_at: datetime) -> int:
    """Charges against the credit limit that belong to cycle `c`.

    Usage fees by their hour (expenditure time) when settled before the bill is issued; fees
    settled later for earlier hours join the bill being prepared when they were settled (never
    lost, never on two bills). Other charges (operator adjustments) by when they were posted."""
    f, s = fee_record.c, settlement_run.c
    fees = conn.execute(
        select(func.coalesce(func.sum(f.credit_units), 0))
        .select_from(fee_record.join(settlement_run, s.id == f.settlement_id))
        .where(
            accounting.paid_by(f, customer_id),
            f.credit_units > 0,
            or_(
                and_(f.hour_start >= c.start, f.hour_start < c.end, s.started_at < c.issue_at),
                and_(
                    f.hour_start < c.start,
                    s.started_at >= previous_issue_at,
                    s.started_at < c.issue_at,
                ),
            ),
        )
    ).scalar_one()
    entries = _unpaid_entries(customer_id).subquery()
    others = conn.execute(
        select(func.coalesce(func.sum(entries.c.amount_units), 0)).where(
            entries.c.amount_units > 0,
            entries.c.kind != str(TransactionKind.FEE),
            entries.c.created_at >= c.start,
            entries.c.created_at < c.end,
        )
    ).scalar_one()
    return int(fees) + int(others)


def first_charge_at(conn: Connection, customer_id: str, since: datetime | None) -> datetime | None:
    """When the first charge against the credit limit (after `since`) was posted."""
    entries = _unpaid_entries(customer_id).subquery()
    query = select(func.min(entries.c.created_at)).where(entries.c.amount_units > 0)
    if since is not None:
        query = query.where(entries.c.created_at >= since)
    return conn.execute(query).scalar()


def next_fee_hour(conn: Connection, customer_id: str, since: datetime | None) -> datetime | None:
    f = fee_record.c
    # Usage fees only: orders and adjustments on credit are found on the unpaid book.
    query = select(func.min(f.hour_start)).where(
        accounting.paid_by(f, customer_id), f.settlement_id.is_not(None), f.credit_units > 0
    )
    if since is not None:
        query = query.where(f.hour_start >= since)
    return conn.execute(query).scalar()


def next_late_settlement(
    conn: Connection, customer_id: str, hours_before: datetime, since: datetime
) -> datetime | None:
    """When fees for hours before `hours_before` were next settled at or after `since`."""
    f, s = fee_record.c, settlement_run.c
    return conn.execute(
        select(func.min(s.started_at))
        .select_from(fee_record.join(settlement_run, s.id == f.settlement_id))
        .where(
            accounting.paid_by(f, customer_id),
            f.credit_units > 0,
            f.hour_start < hours_before,
            s.started_at >= since,
        )
    ).scalar()


def next_other_charge(conn: Connection, customer_id: str, since: datetime) -> datetime | None:
    """The next charge against the credit limit that is not a usage fee."""
    entries = _unpaid_entries(customer_id).subquery()
    return conn.execute(
        select(func.min(entries.c.created_at)).where(
            entries.c.amount_units > 0,
            entries.c.kind != str(TransactionKind.FEE),
            entries.c.created_at >= since,
        )
    ).scalar()


def repaid_total(conn: Connection, customer_id: str) -> int:
    entries = _unpaid_entries(customer_id).subquery()
    total = conn.execute(
        select(func.coalesce(func.sum(entries.c.amount_units), 0)).where(entries.c.amount_units < 0)
    ).scalar_one()
    return -int(total)


def bills(conn: Connection, customer_id: str):  # type: ignore[no-untyped-def]
    return conn.execute(
        select(postpaid_bill)
        .where(postpaid_bill.c.customer_id == customer_id)
        .order_by(postpaid_bill.c.period_start)
    ).all()


def last_bill(conn: Connection, customer_id: str):  # type: ignore[no-untyped-def]
    return conn.execute(
        select(postpaid_bill)
        .where(postpaid_bill.c.customer_id == customer_id)
        .order_by(postpaid_bill.c.period_start.desc())
        .limit(1)
    ).first()


def insert_bill(conn: Connection, values: dict[str, object]) -> int:
    return conn.execute(insert(postpaid_bill).values(**values)).inserted_primary_key[0]


def overdue_candidates(conn: Connection, now: datetime):  # type: ignore[no-untyped-def]
    """Customers not yet in arrears who owe something on the unpaid book and have a bill past
    its due date: the only ones an overdue bill can put into arrears. One set-based query, so
    the worker does not revisit every customer who ever had a bill."""
    b, c, a = postpaid_bill.c, customer.c, ledger_account.c
    return conn.execute(
        select(c.id, c.currency)
        .join(ledger_account, and_(a.customer_id == c.id, a.kind == str(AccountKind.UNPAID)))
        .where(
            c.arrears_since.is_(None),
            a.balance_units > 0,
            select(b.id).where(b.customer_id == c.id, b.due_at <= now).exists(),
        )
        .order_by(c.id)
    ).all()
