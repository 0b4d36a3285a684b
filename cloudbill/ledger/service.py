"""Ledger use cases: open accounts, post transactions (idempotently), read balances."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection, Engine

from ..kernel.errors import CloudbillError, ErrorCode
from ..observe import metrics
from ..store import commit_hooks
from . import repo
from .model import (
    CUSTOMER_KINDS,
    Account,
    AccountKind,
    PostedTransaction,
    Posting,
    customer_account_code,
    provider_account_code,
)
from .rules import check_balanced, check_key, net_by_account, new_balances

# Later stages (balance alerts) look at the customers whose money just moved, in the same
# transaction. Registered once by bootstrap.
PostedHandler = Callable[[Connection, set[str], datetime], None]
_posted_handlers: list[PostedHandler] = []


def on_posted(handler: PostedHandler) -> None:
    if handler not in _posted_handlers:
        _posted_handlers.append(handler)


def _notify(conn: Connection, postings: list[Posting], now: datetime) -> None:
    customer_ids = {p.customer_id for p in postings if p.customer_id}
    if customer_ids:
        for handler in _posted_handlers:
            handler(conn, customer_ids, now)


def replay(conn: Connection, key: str, payload_hash: str) -> PostedTransaction | None:
    """The first answer for `key` if it was already used with this payload; None if unused.

    The same key with another payload is an error: the caller meant something else.
    """
    row = repo.find_transaction(conn, check_key(key))
    if row is None:
        return None
    if row.payload_hash != payload_hash:
        raise CloudbillError(
            ErrorCode.IDEMPOTENCY_CONFLICT,
            f"idempotency key {key!r} was already used for a different request",
            idempotency_key=key,
        )
    return repo.to_posted(row, replayed=True)


def post(
    conn: Connection, posting: Posting, *, now: datetime, key_checked: bool = False
) -> PostedTransaction:
    """Append one balanced transaction and update the cached balances, or change nothing.

    `key_checked`: the caller has just called `replay` for this key and payload in this
    transaction (and it was unused): not read again. The provider's accounts (which may go
    negative) move by increments just before the commit (repo.add_at_commit)."""
    if not key_checked:
        previous = replay(conn, posting.idempotency_key, posting.payload_hash)
        if previous is not None:
            return previous
    check_balanced(posting.legs)
    accounts = repo.accounts_for_one_post(conn, (leg.account_id for leg in posting.legs))
    for leg in posting.legs:
        account = accounts.get(leg.account_id)
        if account is None:
            raise CloudbillError(ErrorCode.NOT_FOUND, f"ledger account {leg.account_id} not found")
        if account.currency != leg.currency:
            raise CloudbillError(
                ErrorCode.CURRENCY_MISMATCH,
                f"account {account.code} is in {account.currency}, leg is in {leg.currency}",
            )
    later = conn.dialect.name == "postgresql"  # SQLite: writers are serial, nothing to gain
    free = {i for i, a in accounts.items() if later and a.may_go_negative}
    balances = new_balances(accounts, [leg for leg in posting.legs if leg.account_id not in free])
    transaction_id = repo.insert_transaction(conn, posting, now)
    repo.insert_entries(conn, transaction_id, posting.legs)
    repo.set_balances(conn, balances)
    if free:
        repo.add_at_commit(
            conn,
            {
                i: accounts[i].normal_sign * delta
                for i, delta in net_by_account(posting.legs).items()
                if i in free
            },
        )
    metrics.after_commit(conn, metrics.LEDGER_TRANSACTIONS, (str(posting.kind),))
    _notify(conn, [posting], now)
    return repo.posted(transaction_id, posting, now)


def open_customer_accounts(
    conn: Connection, customer_id: str, currency: str, *, now: datetime
) -> dict[AccountKind, Account]:
    return {
        kind: repo.create_account(
            conn,
            code=customer_account_code(customer_id, kind),
            kind=kind,
            currency=currency,
            customer_id=customer_id,
            now=now,
        )
        for kind in CUSTOMER_KINDS
    }


def provider_account(
    conn: Connection, currency: str, kind: AccountKind, *, now: datetime
) -> Account:
    """The provider's account of `kind` in `currency`, opened on first use."""
    code = provider_account_code(currency, kind)
    account = repo.get_account_by_code(conn, code)
    if account is None:
        account = repo.create_account(
            conn, code=code, kind=kind, currency=currency, customer_id=None, now=now
        )
    return account


# The ids of the provider's accounts, per database: an account, once committed, is never
# deleted and its code, kind and currency never change (only its balance does).
_provider_ids: weakref.WeakKeyDictionary[Engine, dict[str, int]] = weakref.WeakKeyDictionary()


def provider_account_id(
    conn: Connection, currency: str, kind: AccountKind, *, now: datetime
) -> int:
    """The id of the provider's account of `kind` in `currency` (opened on first use), read
    once per process: remembered only after the transaction that saw it has committed (an
    account opened by a transaction that is rolled back is never remembered)."""
    code = provider_account_code(currency, kind)
    known = _provider_ids.get(conn.engine)
    if known is not None and code in known:
        return known[code]
    account_id = provider_account(conn, currency, kind, now=now).id
    engine = conn.engine
    commit_hooks.after_commit(
        conn, lambda: _provider_ids.setdefault(engine, {}).__setitem__(code, account_id)
    )
    return account_id


def customer_accounts(conn: Connection, customer_id: str) -> dict[AccountKind, Account]:
    return repo.customer_accounts(conn, customer_id)


def post_many(conn: Connection, postings: list[Posting], *, now: datetime) -> list[int]:
    """Append many balanced transactions at once (settlement: one per customer per hour).

    Same guarantees as `post`, in bulk: every posting balances, no guarded account goes below
    zero, keys are new (a settlement that finds its key used is a bug, not a replay)."""
    if not postings:
        return []
    used = repo.existing_keys(conn, [p.idempotency_key for p in postings])
    if used:
        raise CloudbillError(
            ErrorCode.IDEMPOTENCY_CONFLICT,
            f"{len(used)} ledger key(s) already used",
            keys=sorted(used)[:5],
        )
    for posting in postings:
        check_key(posting.idempotency_key)
        check_balanced(posting.legs)
    accounts = repo.accounts_for_post(conn, (leg.account_id for p in postings for leg in p.legs))
    all_legs = [leg for p in postings for leg in p.legs]
    for leg in all_legs:
        account = accounts.get(leg.account_id)
        if account is None or account.currency != leg.currency:
            raise CloudbillError(
                ErrorCode.CURRENCY_MISMATCH, f"bad leg for account {leg.account_id}"
            )
    # The provider's accounts move at commit (as in `post`): settlements of different shards
    # do not queue on them for the rest of their transactions.
    free = {
        i for i, a in accounts.items() if conn.dialect.name == "postgresql" and a.may_go_negative
    }
    balances = new_balances(accounts, [leg for leg in all_legs if leg.account_id not in free])
    ids = repo.insert_transactions(conn, postings, now)
    repo.insert_entries_bulk(
        conn,
        (
            (tx_id, leg.account_id, leg.currency, leg.amount_units)
            for tx_id, posting in zip(ids, postings, strict=True)
            for leg in posting.legs
        ),
    )
    repo.set_balances_bulk(conn, balances)
    if free:
        repo.add_at_commit(
            conn,
            {
                i: accounts[i].normal_sign * delta
                for i, delta in net_by_account(all_legs).items()
                if i in free
            },
        )
    for kind in {str(p.kind) for p in postings}:
        n = sum(1 for p in postings if str(p.kind) == kind)
        metrics.after_commit(conn, metrics.LEDGER_TRANSACTIONS, (kind,), n)
    _notify(conn, postings, now)
    return ids
