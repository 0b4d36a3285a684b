"""Prove the books: every check is one set-based query, so it scales with the journal.

Checks:
- every transaction balances to zero in every currency, and has at least two entries;
- all entries together sum to zero in every currency;
- every entry is in its account's currency;
- every cached balance equals the fold of its account's entries;
- no guarded account (a customer's cash, debt, unpaid, coupon) is below zero;
- every customer's coupon book equals the sum of their coupons' balances;
- the bills hold every movement of money for services exactly (see `verify_bill_records`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, and_, func, or_, select

from ..store.schema import (
    cash_coupon,
    fee_record,
    ledger_account,
    ledger_entry,
    ledger_transaction,
)
from .model import AccountKind, TransactionKind

# Report at most this many rows per kind of problem; the count says if there were more.
MAX_EXAMPLES = 20


@dataclass
class VerifyReport:
    accounts: int = 0
    transactions: int = 0
    entries: int = 0
    fee_records: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(conn: Connection) -> VerifyReport:
    report = VerifyReport(
        accounts=conn.execute(select(func.count()).select_from(ledger_account)).scalar_one(),
        transactions=conn.execute(
            select(func.count()).select_from(ledger_transaction)
        ).scalar_one(),
        entries=conn.execute(select(func.count()).select_from(ledger_entry)).scalar_one(),
        fee_records=conn.execute(select(func.count()).select_from(fee_record)).scalar_one(),
    )
    e, a, t = ledger_entry.c, ledger_account.c, ledger_transaction.c

    unbalanced = conn.execute(
        select(e.transaction_id, e.currency, func.sum(e.amount_units))
        .group_by(e.transaction_id, e.currency)
        .having(func.sum(e.amount_units) != 0)
        .limit(MAX_EXAMPLES)
    ).all()
    for tx_id, currency, total in unbalanced:
        report.problems.append(f"transaction {tx_id} does not balance in {currency}: {total}")

    thin = conn.execute(
        select(t.id, func.count(e.id))
        .select_from(ledger_transaction.outerjoin(ledger_entry, e.transaction_id == t.id))
        .group_by(t.id)
        .having(func.count(e.id) < 2)
        .limit(MAX_EXAMPLES)
    ).all()
    for tx_id, count in thin:
        report.problems.append(f"transaction {tx_id} has {count} entries (needs at least 2)")

    totals = conn.execute(select(e.currency, func.sum(e.amount_units)).group_by(e.currency)).all()
    for currency, total in totals:
        if total != 0:
            report.problems.append(f"all entries in {currency} sum to {total}, not zero")

    mismatched = conn.execute(
        select(e.id, a.code, e.currency, a.currency)
        .join(ledger_account, a.id == e.account_id)
        .where(e.currency != a.currency)
        .limit(MAX_EXAMPLES)
    ).all()
    for entry_id, code, entry_cur, account_cur in mismatched:
        report.problems.append(
            f"entry {entry_id} is in {entry_cur} but account {code} is in {account_cur}"
        )

    folds = (
        select(e.account_id, func.sum(e.amount_units).label("total"))
        .group_by(e.account_id)
        .subquery()
    )
    drift = conn.execute(
        select(a.code, a.balance_units, a.normal_sign, folds.c.total)
        .select_from(ledger_account.outerjoin(folds, folds.c.account_id == a.id))
        .where(a.balance_units != a.normal_sign * func.coalesce(folds.c.total, 0))
        .limit(MAX_EXAMPLES)
    ).all()
    for code, cached, sign, total in drift:
        report.problems.append(
            f"account {code}: cached balance {cached} != fold of entries {sign * (total or 0)}"
        )

    negative = conn.execute(
        select(a.code, a.balance_units)
        .where(a.may_go_negative.is_(False), a.balance_units < 0)
        .limit(MAX_EXAMPLES)
    ).all()
    for code, balance in negative:
        report.problems.append(f"account {code} is below zero: {balance}")
    verify_coupon_books(conn, report)
    verify_bill_records(conn, report)
    return report


def verify_coupon_books(conn: Connection, report: VerifyReport) -> None:
    """Each customer's coupon book equals the sum of their coupons' balances."""
    a, c = ledger_account.c, cash_coupon.c
    sums = (
        select(c.customer_id, func.sum(c.balance_units).label("total"))
        .group_by(c.customer_id)
        .subquery()
    )
    drift = conn.execute(
        select(a.customer_id, a.balance_units, sums.c.total)
        .select_from(ledger_account.outerjoin(sums, sums.c.customer_id == a.customer_id))
        .where(a.kind == "coupon", a.balance_units != func.coalesce(sums.c.total, 0))
        .limit(MAX_EXAMPLES)
    ).all()
    for customer_id, book, total in drift:
        report.problems.append(
            f"customer {customer_id}: coupon book {book} != sum of coupon balances {total or 0}"
        )


# Transactions that move a customer's money for services, and the provider's books on the
# other side of them: revenue (fees, orders, refunds, charges) or adjustments (credits).
SERVICE_KINDS = [
    str(k)
    for k in (
        TransactionKind.FEE,
        TransactionKind.ORDER,
        TransactionKind.REFUND,
        TransactionKind.ADJUSTMENT,
    )
]
COUNTER_KINDS = [str(AccountKind.REVENUE), str(AccountKind.ADJUSTMENT)]


def verify_bill_records(conn: Connection, report: VerifyReport) -> None:
    """Bills hold every movement of a customer's money for services, exactly once.

    For each fee, order, refund and adjustment transaction, the expenditure records written
    with it (same customer) add up to what it moved into the provider's revenue or out of its
    adjustment book; no record names another transaction or none while carrying money. A bill
    is the sum of a month's records, so its total equals the ledger's movements of the
    customer's money for services in that month."""
    e, a, t, f = ledger_entry.c, ledger_account.c, ledger_transaction.c, fee_record.c
    moved = (
        select(
            e.transaction_id.label("tx"),
            t.customer_id,
            func.sum(e.amount_units).label("counter"),
        )
        .join(ledger_account, a.id == e.account_id)
        .join(ledger_transaction, t.id == e.transaction_id)
        .where(
            t.kind.in_(SERVICE_KINDS),
            t.customer_id.is_not(None),
            a.customer_id.is_(None),
            a.kind.in_(COUNTER_KINDS),
        )
        .group_by(e.transaction_id, t.customer_id)
        .subquery()
    )
    billed = (
        select(
            f.ledger_transaction_id.label("tx"),
            f.customer_id,
            func.sum(f.amount_units).label("units"),
        )
        .where(f.ledger_transaction_id.is_not(None))
        .group_by(f.ledger_transaction_id, f.customer_id)
        .subquery()
    )
    same = and_(billed.c.tx == moved.c.tx, billed.c.customer_id == moved.c.customer_id)
    unbilled = conn.execute(
        select(moved.c.tx, moved.c.customer_id, moved.c.counter, billed.c.units)
        .select_from(moved.outerjoin(billed, same))
        .where(
            or_(
                and_(billed.c.units.is_(None), moved.c.counter != 0),
                billed.c.units != -moved.c.counter,
            )
        )
        .limit(MAX_EXAMPLES)
    ).all()
    for tx, customer_id, counter, units in unbilled:
        report.problems.append(
            f"transaction {tx} moved {-int(counter)} of customer {customer_id}'s money for "
            f"services but its fee records add up to {int(units or 0)}"
        )
    stray = conn.execute(
        select(billed.c.tx, billed.c.customer_id, billed.c.units)
        .select_from(billed.outerjoin(moved, same))
        .where(moved.c.tx.is_(None), billed.c.units != 0)
        .limit(MAX_EXAMPLES)
    ).all()
    for tx, customer_id, units in stray:
        report.problems.append(
            f"fee records of customer {customer_id} add up to {int(units)} in transaction {tx}, "
            "which moves none of that customer's money for services"
        )
    loose = conn.execute(
        select(f.id, f.amount_units)
        .where(f.ledger_transaction_id.is_(None), f.amount_units != 0)
        .limit(MAX_EXAMPLES)
    ).all()
    for record_id, units in loose:
        report.problems.append(f"fee record {record_id} carries {units} without a transaction")
