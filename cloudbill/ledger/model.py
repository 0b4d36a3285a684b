"""Ledger data: accounts, legs, postings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class AccountKind(StrEnum):
    # a customer's books
    CASH = "cash"  # money the customer paid in; a liability of the provider; never negative
    DEBT = "debt"  # arrears: fees that could not be paid; a receivable
    UNPAID = "unpaid"  # post-paid: fees charged against the credit limit, not yet repaid
    COUPON = "coupon"  # value of cash coupons issued and not yet used or expired
    # the provider's books (one set per currency)
    FUNDS = "funds"  # money received from customers (top-ups) and paid back (withdrawals)
    REVENUE = "revenue"  # fees earned
    PROMOTION = "promotion"  # cost of coupons the provider gives away
    ADJUSTMENT = "adjustment"  # operator corrections


# kind -> (normal sign, may go negative). +1 debit-normal, -1 credit-normal.
ACCOUNT_RULES: dict[AccountKind, tuple[int, bool]] = {
    AccountKind.CASH: (-1, False),
    AccountKind.DEBT: (+1, False),
    AccountKind.UNPAID: (+1, False),
    AccountKind.COUPON: (-1, False),
    AccountKind.FUNDS: (+1, True),
    AccountKind.REVENUE: (-1, True),
    AccountKind.PROMOTION: (+1, True),
    AccountKind.ADJUSTMENT: (+1, True),
}

CUSTOMER_KINDS = (AccountKind.CASH, AccountKind.DEBT, AccountKind.UNPAID, AccountKind.COUPON)
PROVIDER_KINDS = (
    AccountKind.FUNDS,
    AccountKind.REVENUE,
    AccountKind.PROMOTION,
    AccountKind.ADJUSTMENT,
)


def customer_account_code(customer_id: str, kind: AccountKind) -> str:
    return f"customer:{customer_id}:{kind}"


def provider_account_code(currency: str, kind: AccountKind) -> str:
    return f"provider:{currency}:{kind}"


class TransactionKind(StrEnum):
    TOPUP = "topup"
    WITHDRAWAL = "withdrawal"
    FEE = "fee"
    ADJUSTMENT = "adjustment"
    TRANSFER = "transfer"
    COUPON = "coupon"  # issuing, revoking and expiring cash coupons
    ORDER = "order"  # paying a yearly/monthly order
    REFUND = "refund"  # money given back: unsubscription, downgrade


@dataclass(frozen=True, slots=True)
class Leg:
    """One entry of a transaction: `amount_units` > 0 debits the account, < 0 credits it."""

    account_id: int
    amount_units: int
    currency: str


@dataclass(frozen=True, slots=True)
class Transfer:
    """The common two-leg case: move `amount_units` from `credit` to `debit`."""

    debit_account_id: int
    credit_account_id: int
    amount_units: int
    currency: str

    def legs(self) -> tuple[Leg, Leg]:
        return (
            Leg(self.debit_account_id, self.amount_units, self.currency),
            Leg(self.credit_account_id, -self.amount_units, self.currency),
        )


@dataclass(frozen=True, slots=True)
class Posting:
    idempotency_key: str
    payload_hash: str
    kind: TransactionKind
    legs: tuple[Leg, ...]
    customer_id: str | None = None
    reference: str | None = None
    description: str | None = None
    result: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PostedTransaction:
    id: int
    idempotency_key: str
    kind: str
    customer_id: str | None
    reference: str | None
    description: str | None
    created_at: datetime
    result: dict[str, Any]
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    code: str
    customer_id: str | None
    kind: AccountKind
    currency: str
    normal_sign: int
    may_go_negative: bool
    balance_units: int
