"""Prove the books: every check is a set-based query (a balance is compared with its fold
account by account, both may pass 64 bits), so it scales with the journal.

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

from sqlalchemy import Connection, and_, case, func, or_, select

from ..store.schema import (
    cash_coupon,
    fee_record,
    ledger_account,
    ledger_entry,
    ledger_transaction,
)
from ..store.types import exact_sum
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
        .having(func.sum(e.amount_units) != 0)  # a few legs of at most 64 bits each
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

    # Sums over many entries may pass 64 bits (the books of a currency): summed exactly.
    totals = conn.execute(select(e.currency, exact_sum(e.amount_units)).group_by(e.currency)).all()
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

    # Balances and folds may pass 64 bits: compared here, not in SQL (SQLite keeps such a
    # balance as text, store/types.py).
    folds = dict(
        conn.execute(select(e.account_id, exact_sum(e.amount_units)).group_by(e.account_id)).all()
    )
    drift = 0
    for account_id, code, cached, sign in conn.execute(
        select(a.id, a.code, a.balance_units, a.normal_sign).order_by(a.id)
    ):
        fold = sign * folds.get(account_id, 0)
        if cached != fold:
            drift += 1
            if drift <= MAX_EXAMPLES:
                report.problems.append(
                    f"account {code}: cached balance {cached} != fold of entries {fold}"
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
    sums = dict(
        conn.execute(
            select(c.customer_id, exact_sum(c.balance_units)).group_by(c.customer_id)
        ).all()
    )
    books = conn.execute(
        select(a.customer_id, a.balance_units).where(a.kind == "coupon").order_by(a.customer_id)
    ).all()
    drift = [(customer_id, book) for customer_id, book in books if book != sums.get(customer_id, 0)]
    for customer_id, book in drift[:MAX_EXAMPLES]:
        report.problems.append(
            f"customer {customer_id}: coupon book {book} != sum of coupon balances "
            f"{sums.get(customer_id, 0)}"
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
# A record's payment columns and the books they are moved on. A refund's share for a coupon
# past its validity goes to the provider's promotion book, not back to the customer's coupons.
SOURCE_BOOKS = {
    "coupon": ([AccountKind.COUPON], [AccountKind.PROMOTION]),
    "cash": ([AccountKind.CASH], []),
    "credit": ([AccountKind.UNPAID], []),
    "debt": ([AccountKind.DEBT], []),
}
FIGURES = ("amount", *SOURCE_BOOKS)


def _moved_on(kinds_customer: list[AccountKind], kinds_provider: list[AccountKind]):  # type: ignore[no-untyped-def]
    a, e = ledger_account.c, ledger_entry.c
    on = or_(
        and_(a.customer_id.is_not(None), a.kind.in_([str(k) for k in kinds_customer])),
        and_(a.customer_id.is_(None), a.kind.in_([str(k) for k in kinds_provider])),
    )
    return func.sum(case((on, e.amount_units), else_=0))


def verify_bill_records(conn: Connection, report: VerifyReport) -> None:
    """Bills hold every movement of a customer's money for services, exactly once.

    For each fee, order, refund and adjustment transaction, the expenditure records written
    with it (same paying customer: a unified member's records are its master's money) add up
    to what it moved into the provider's revenue or out of its adjustment book, and each
    payment column (coupon, cash, credit, debt) to what it moved on that book of the
    customer; no record names another transaction or none while carrying money. A bill is
    the sum of a month's records, so its total equals the ledger's movements of the
    customer's money for services in that month."""
    e, a, t, f = ledger_entry.c, ledger_account.c, ledger_transaction.c, fee_record.c
    counter = and_(a.customer_id.is_(None), a.kind.in_(COUNTER_KINDS))
    moved = (
        select(
            e.transaction_id.label("tx"),
            t.customer_id,
            (-func.sum(case((counter, e.amount_units), else_=0))).label("amount"),
            *(_moved_on(*books).label(name) for name, books in SOURCE_BOOKS.items()),
        )
        .join(ledger_account, a.id == e.account_id)
        .join(ledger_transaction, t.id == e.transaction_id)
        .where(t.kind.in_(SERVICE_KINDS), t.customer_id.is_not(None))
        .group_by(e.transaction_id, t.customer_id)
        .subquery()
    )
    # The customer whose money a record moved: its payer (a unified member's master), else itself.
    paid_by = func.coalesce(f.payer_id, f.customer_id)
    billed = (
        select(
            f.ledger_transaction_id.label("tx"),
            paid_by.label("customer_id"),
            *(func.sum(f[f"{name}_units"]).label(name) for name in FIGURES),
        )
        .where(f.ledger_transaction_id.is_not(None))
        .group_by(f.ledger_transaction_id, paid_by)
        .subquery()
    )
    same = and_(billed.c.tx == moved.c.tx, billed.c.customer_id == moved.c.customer_id)
    differs = [
        func.coalesce(billed.c[name], 0) != func.coalesce(moved.c[name], 0) for name in FIGURES
    ]
    unbilled = conn.execute(
        select(moved, *(billed.c[name].label(f"billed_{name}") for name in FIGURES))
        .select_from(moved.outerjoin(billed, same))
        .where(or_(*differs))
        .limit(MAX_EXAMPLES)
    ).all()
    for row in unbilled:
        m = row._mapping
        ledger_side = ", ".join(f"{n} {int(m[n] or 0)}" for n in FIGURES)
        bill_side = ", ".join(f"{n} {int(m['billed_' + n] or 0)}" for n in FIGURES)
        report.problems.append(
            f"transaction {m['tx']} moved customer {m['customer_id']}'s money for services "
            f"({ledger_side}) but its fee records say {bill_side}"
        )
    stray = conn.execute(
        select(billed.c.tx, billed.c.customer_id, billed.c.amount)
        .select_from(billed.outerjoin(moved, same))
        .where(moved.c.tx.is_(None), billed.c.amount != 0)
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
