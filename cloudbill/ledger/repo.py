"""Ledger SQL. Every function takes an open transaction (`Connection`)."""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, bindparam, func, insert, select, update

from ..kernel.limits import FETCH_ROWS, PAGE_SIZE_MAX
from ..kernel.money import check_book
from ..store import commit_hooks
from ..store.bulk import insert_tuples
from ..store.id_sets import among
from ..store.schema import ledger_account, ledger_entry, ledger_transaction
from ..store.types import BookUnits
from .model import ACCOUNT_RULES, Account, AccountKind, Leg, PostedTransaction, Posting

# A settlement reads every customer's four accounts: a dict lookup, not an enum call, each,
# and only the columns an Account holds (not created_at: an instant converted for nothing).
_KINDS = {kind.value: kind for kind in AccountKind}
_ACCOUNT = tuple(
    ledger_account.c[name]
    for name in ("id", "code", "customer_id", "kind", "currency", "normal_sign",
                 "may_go_negative", "balance_units")
)  # fmt: skip


def _account(row) -> Account:  # type: ignore[no-untyped-def]
    return Account(
        id=row.id,
        code=row.code,
        customer_id=row.customer_id,
        kind=_KINDS[row.kind],
        currency=row.currency,
        normal_sign=row.normal_sign,
        may_go_negative=row.may_go_negative,
        balance_units=row.balance_units,
    )


def get_account_by_code(conn: Connection, code: str) -> Account | None:
    row = conn.execute(select(*_ACCOUNT).where(ledger_account.c.code == code)).first()
    return _account(row) if row else None


def create_account(
    conn: Connection,
    *,
    code: str,
    kind: AccountKind,
    currency: str,
    customer_id: str | None,
    now: datetime,
) -> Account:
    sign, may_go_negative = ACCOUNT_RULES[kind]
    account_id = conn.execute(
        insert(ledger_account).values(
            code=code,
            customer_id=customer_id,
            kind=str(kind),
            currency=currency,
            normal_sign=sign,
            may_go_negative=may_go_negative,
            balance_units=0,
            created_at=now,
        )
    ).inserted_primary_key[0]
    return Account(account_id, code, customer_id, kind, currency, sign, may_go_negative, 0)


def lock_accounts(conn: Connection, account_ids: Iterable[int]) -> dict[int, Account]:
    """Load and, on PostgreSQL, row-lock the accounts in id order (a fixed order: no deadlock)."""
    a = ledger_account.c
    query = select(*_ACCOUNT).where(among(conn, a.id, account_ids)).order_by(a.id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(key_share=True)
    return {row.id: _account(row) for row in conn.execute(query).all()}


def accounts_for_post(conn: Connection, account_ids: Iterable[int]) -> dict[int, Account]:
    """The accounts a posting touches. PostgreSQL: the guarded ones (that may not go below
    zero) row-locked in id order; the others (the provider's, which every top-up, withdrawal
    and payment touches) read unlocked: their balances move by increments at commit
    (add_at_commit), so concurrent postings do not queue on them for a whole use case."""
    if conn.dialect.name != "postgresql":
        return lock_accounts(conn, account_ids)
    ids = sorted(set(account_ids))
    a = ledger_account.c
    guarded = (
        select(*_ACCOUNT)
        .where(among(conn, a.id, ids), a.may_go_negative.is_(False))
        .order_by(a.id)
        .with_for_update(key_share=True)
    )
    found = {row.id: _account(row) for row in conn.execute(guarded).all()}
    free = select(*_ACCOUNT).where(among(conn, a.id, ids), a.may_go_negative.is_(True))
    found.update({row.id: _account(row) for row in conn.execute(free).all()})
    return found


# The accounts that may go negative (the provider's), per database, as first read: their code,
# kind, currency and sign never change and their balances are not read to post (they move by
# increments at commit), so one posting need not read them again.
_free_accounts: weakref.WeakKeyDictionary[Engine, dict[int, Account]] = weakref.WeakKeyDictionary()


def accounts_for_one_post(conn: Connection, account_ids: Iterable[int]) -> dict[int, Account]:
    """`accounts_for_post` for one posting: the same accounts, guarded ones row-locked, but the
    provider's accounts this process has seen committed before are not read again (their
    `balance_units` is then the balance when first read, not the current one: unused here)."""
    if conn.dialect.name != "postgresql":
        return lock_accounts(conn, account_ids)
    ids = sorted(set(account_ids))
    known = _free_accounts.get(conn.engine, {})
    found = {i: known[i] for i in ids if i in known}
    rest = [i for i in ids if i not in found]
    if not rest:
        return found
    a = ledger_account.c
    guarded = (
        select(*_ACCOUNT)
        .where(a.id.in_(rest), a.may_go_negative.is_(False))
        .order_by(a.id)
        .with_for_update(key_share=True)
    )
    locked = {row.id: _account(row) for row in conn.execute(guarded)}
    found.update(locked)
    unlocked = [i for i in rest if i not in locked]
    if unlocked:
        free = select(*_ACCOUNT).where(a.id.in_(unlocked), a.may_go_negative.is_(True))
        seen = {row.id: _account(row) for row in conn.execute(free)}
        found.update(seen)
        engine = conn.engine
        commit_hooks.after_commit(conn, lambda: _free_accounts.setdefault(engine, {}).update(seen))
    return found


def add_at_commit(conn: Connection, deltas: dict[int, int]) -> None:
    """Add `deltas` (in each account's normal sign) to accounts that may go negative: just
    before the commit of a transaction Database.write opened, at once otherwise."""
    pending = commit_hooks.state(conn, "ledger_increments", _add_balances)
    if pending is None:
        _add_balances(conn, deltas)
        return
    for account_id, delta in deltas.items():
        pending[account_id] = pending.get(account_id, 0) + delta


def _add_balances(conn: Connection, deltas: dict[int, int]) -> None:
    """One atomic increment per account, in id order (no deadlock between two of these)."""
    statement = (
        update(ledger_account)
        .where(ledger_account.c.id == bindparam("account_id"))
        .values(balance_units=ledger_account.c.balance_units + bindparam("delta", type_=BookUnits))
        .returning(ledger_account.c.balance_units)
    )
    for account_id, delta in sorted(deltas.items()):
        if delta:
            balance = conn.execute(statement, {"account_id": account_id, "delta": delta}).scalar()
            check_book(balance, "balance")


def customer_accounts(conn: Connection, customer_id: str) -> dict[AccountKind, Account]:
    rows = conn.execute(select(*_ACCOUNT).where(ledger_account.c.customer_id == customer_id))
    return {AccountKind(row.kind): _account(row) for row in rows}


def customer_balances(conn: Connection, customer_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """customer id -> account kind -> balance, for many customers in one query."""
    out: dict[str, dict[str, int]] = {cid: {} for cid in customer_ids}
    if not customer_ids:
        return out
    rows = conn.execute(
        select(
            ledger_account.c.customer_id, ledger_account.c.kind, ledger_account.c.balance_units
        ).where(ledger_account.c.customer_id.in_(list(customer_ids)))
    )
    for row in rows:
        out[row.customer_id][row.kind] = row.balance_units
    return out


def find_transaction(conn: Connection, key: str):  # type: ignore[no-untyped-def]
    return conn.execute(
        select(ledger_transaction).where(ledger_transaction.c.idempotency_key == key)
    ).first()


def posted(transaction_id: int, posting: Posting, now: datetime) -> PostedTransaction:
    """What `to_posted` reads back from the row just inserted, without reading it: the same
    fields as stored (the result through its JSON text, the time as UTC)."""
    stored = json.dumps(posting.result, sort_keys=True, default=str)
    return PostedTransaction(
        id=transaction_id,
        idempotency_key=posting.idempotency_key,
        kind=str(posting.kind),
        customer_id=posting.customer_id,
        reference=posting.reference,
        description=posting.description,
        created_at=now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC),
        result=json.loads(stored) if stored else {},
    )


def to_posted(row, *, replayed: bool = False) -> PostedTransaction:  # type: ignore[no-untyped-def]
    return PostedTransaction(
        id=row.id,
        idempotency_key=row.idempotency_key,
        kind=row.kind,
        customer_id=row.customer_id,
        reference=row.reference,
        description=row.description,
        created_at=row.created_at,
        result=json.loads(row.result) if row.result else {},
        replayed=replayed,
    )


def insert_transaction(conn: Connection, posting: Posting, now: datetime) -> int:
    return conn.execute(
        insert(ledger_transaction).values(
            idempotency_key=posting.idempotency_key,
            payload_hash=posting.payload_hash,
            kind=str(posting.kind),
            customer_id=posting.customer_id,
            reference=posting.reference,
            description=posting.description,
            result=json.dumps(posting.result, sort_keys=True, default=str),
            created_at=now,
        )
    ).inserted_primary_key[0]


def insert_entries(conn: Connection, transaction_id: int, legs: Sequence[Leg]) -> None:
    conn.execute(
        insert(ledger_entry),
        [
            {
                "transaction_id": transaction_id,
                "account_id": leg.account_id,
                "currency": leg.currency,
                "amount_units": leg.amount_units,
            }
            for leg in legs
        ],
    )


def set_balances(conn: Connection, balances: dict[int, int]) -> None:
    for account_id, balance in sorted(balances.items()):
        conn.execute(
            update(ledger_account)
            .where(ledger_account.c.id == account_id)
            .values(balance_units=balance)
        )


def account_history(conn: Connection, account_ids: Sequence[int], *, limit: int, offset: int):  # type: ignore[no-untyped-def]
    """Entries of the given accounts, newest first, with their transaction."""
    limit = min(limit, PAGE_SIZE_MAX)
    query = (
        select(
            ledger_transaction.c.id.label("transaction_id"),
            ledger_transaction.c.kind,
            ledger_transaction.c.reference,
            ledger_transaction.c.description,
            ledger_transaction.c.created_at,
            ledger_account.c.kind.label("account_kind"),
            ledger_account.c.normal_sign,
            ledger_entry.c.amount_units,
            ledger_entry.c.currency,
        )
        .join(ledger_transaction, ledger_transaction.c.id == ledger_entry.c.transaction_id)
        .join(ledger_account, ledger_account.c.id == ledger_entry.c.account_id)
        .where(ledger_entry.c.account_id.in_(list(account_ids)))
        .order_by(ledger_transaction.c.id.desc(), ledger_entry.c.id)
        .limit(limit)
        .offset(offset)
    )
    return conn.execute(query).all()


def count_history(conn: Connection, account_ids: Sequence[int]) -> int:
    return conn.execute(
        select(func.count())
        .select_from(ledger_entry)
        .where(ledger_entry.c.account_id.in_(list(account_ids)))
    ).scalar_one()


def existing_keys(conn: Connection, keys: Sequence[str]) -> set[str]:
    key = ledger_transaction.c.idempotency_key
    return set(conn.execute(select(key).where(among(conn, key, keys))).scalars())


TRANSACTION_COLUMNS = (
    "idempotency_key",
    "payload_hash",
    "kind",
    "customer_id",
    "reference",
    "description",
    "result",
    "created_at",
)
ENTRY_COLUMNS = ("transaction_id", "account_id", "currency", "amount_units")


def insert_transactions(conn: Connection, postings: Sequence[Posting], now: datetime) -> list[int]:
    """Insert many transactions; their ids, in the order given (read back by their keys, which
    are unique: one statement per 900 instead of one RETURNING per row)."""
    insert_tuples(
        conn,
        ledger_transaction,
        TRANSACTION_COLUMNS,
        (
            (
                p.idempotency_key,
                p.payload_hash,
                str(p.kind),
                p.customer_id,
                p.reference,
                p.description,
                json.dumps(p.result, sort_keys=True, default=str),
                now,
            )
            for p in postings
        ),
    )
    keys = [p.idempotency_key for p in postings]
    t = ledger_transaction.c
    rows = conn.execute(select(t.idempotency_key, t.id).where(among(conn, t.idempotency_key, keys)))
    ids = dict(rows.all())
    return [ids[key] for key in keys]


def insert_entries_bulk(conn: Connection, entries: Iterable[tuple[int, int, str, int]]) -> None:
    insert_tuples(conn, ledger_entry, ENTRY_COLUMNS, entries)


def set_balances_bulk(conn: Connection, balances: dict[int, int]) -> None:
    if not balances:
        return
    statement = (
        update(ledger_account)
        .where(ledger_account.c.id == bindparam("account_id"))
        .values(balance_units=bindparam("balance"))
    )
    conn.execute(
        statement,
        [{"account_id": a, "balance": b} for a, b in sorted(balances.items())],
    )


def customer_accounts_bulk(
    conn: Connection, customer_ids: Iterable[str]
) -> dict[str, dict[AccountKind, Account]]:
    ids = set(customer_ids)
    found: dict[str, dict[AccountKind, Account]] = {cid: {} for cid in ids}
    rows = conn.execute(select(*_ACCOUNT).where(among(conn, ledger_account.c.customer_id, ids)))
    for part in rows.partitions(FETCH_ROWS):  # a fetch a part, not a fetch a row
        for row in part:
            account = _account(row)
            found[row.customer_id][account.kind] = account
    return found
