"""Prove the books: every check is one set-based query, so it scales with the journal.

Checks:
- every transaction balances to zero in every currency, and has at least two entries;
- all entries together sum to zero in every currency;
- every entry is in its account's currency;
- every cached balance equals the fold of its account's entries;
- no guarded account (a customer's cash, debt, unpaid, coupon) is below zero;
- every customer's coupon book equals the sum of their coupons' balances.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, func, select

from ..store.schema import cash_coupon, ledger_account, ledger_entry, ledger_transaction

# Report at most this many rows per kind of problem; the count says if there were more.
MAX_EXAMPLES = 20


@dataclass
class VerifyReport:
    accounts: int = 0
    transactions: int = 0
    entries: int = 0
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
