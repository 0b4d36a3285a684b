"""Pure ledger rules: balancing, payload fingerprints, balance effects."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.limits import IDEMPOTENCY_KEY_MAX_CHARS, LEDGER_LEGS_MAX
from ..kernel.money import check_book, check_int64
from .model import Account, Leg


def payload_hash(payload: Mapping[str, Any]) -> str:
    """A stable fingerprint of a request, to tell a replay from a conflicting reuse of a key."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def check_key(key: object) -> str:
    if not isinstance(key, str) or not key.strip():
        raise CloudbillError(ErrorCode.INVALID_ARGUMENT, "an idempotency key is required")
    if len(key) > IDEMPOTENCY_KEY_MAX_CHARS:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT,
            f"idempotency key longer than {IDEMPOTENCY_KEY_MAX_CHARS} characters",
        )
    return key


def check_balanced(legs: Iterable[Leg]) -> None:
    """Legs are non-zero, storable, and sum to zero in every currency."""
    totals: dict[str, int] = defaultdict(int)
    count = 0
    for leg in legs:
        count += 1
        if leg.amount_units == 0:
            raise CloudbillError(ErrorCode.UNBALANCED_TRANSACTION, "a ledger leg cannot be zero")
        check_int64(leg.amount_units, "ledger leg")
        totals[leg.currency] += leg.amount_units
    if count < 2:
        raise CloudbillError(ErrorCode.UNBALANCED_TRANSACTION, "a transaction needs two legs")
    if count > LEDGER_LEGS_MAX:
        raise CloudbillError(ErrorCode.LIMIT_EXCEEDED, "too many legs in one transaction")
    unbalanced = {cur: total for cur, total in totals.items() if total != 0}
    if unbalanced:
        raise CloudbillError(
            ErrorCode.UNBALANCED_TRANSACTION,
            "transaction does not balance",
            totals={k: str(v) for k, v in unbalanced.items()},
        )


def net_by_account(legs: Iterable[Leg]) -> dict[int, int]:
    net: dict[int, int] = defaultdict(int)
    for leg in legs:
        net[leg.account_id] += leg.amount_units
    return dict(net)


def new_balances(accounts: Mapping[int, Account], legs: Iterable[Leg]) -> dict[int, int]:
    """Balance of each touched account after the legs, refusing to overdraw guarded accounts."""
    result: dict[int, int] = {}
    for account_id, delta in net_by_account(legs).items():
        account = accounts[account_id]
        balance = check_book(account.balance_units + account.normal_sign * delta, "balance")
        if balance < 0 and not account.may_go_negative:
            raise CloudbillError(
                ErrorCode.INSUFFICIENT_BALANCE,
                f"account {account.code} would go below zero",
                account=account.code,
            )
        result[account_id] = balance
    return result
