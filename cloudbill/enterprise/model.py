"""Enterprise data: an association of a member account with a master account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class AccountingMode(StrEnum):
    UNIFIED = "unified"  # the master pays the member's fees and orders, from its own books
    INDEPENDENT = "independent"  # the member pays itself; the master may allocate to it


class AssociationStatus(StrEnum):
    INVITED = "invited"  # waiting for the member to accept
    ACTIVE = "active"
    DECLINED = "declined"  # the member said no
    CANCELLED = "cancelled"  # the master or operator withdrew the invitation
    ENDED = "ended"  # disassociated


LIVE_STATUSES = (AssociationStatus.INVITED, AssociationStatus.ACTIVE)


class InvitedBy(StrEnum):
    MASTER = "master"
    OPERATOR = "operator"


@dataclass(frozen=True, slots=True)
class Association:
    id: str
    master_id: str
    member_id: str
    mode: AccountingMode
    status: AssociationStatus
    invited_by: InvitedBy
    created_at: datetime
    accepted_at: datetime | None
    ended_at: datetime | None
    updated_at: datetime

    def in_force_at(self, at: datetime) -> bool:
        """Whether the member was associated at `at` (accepted, not yet ended)."""
        return (
            self.accepted_at is not None
            and self.accepted_at <= at
            and (self.ended_at is None or at < self.ended_at)
        )


class AllocationKind(StrEnum):
    CASH = "cash"  # cash balance
    CREDIT = "credit"  # credit limit (post-paid): a limit, not money; the sum never grows
    COUPON = "coupon"  # a cash coupon, or part of its balance


class Direction(StrEnum):
    ALLOCATE = "allocate"  # master -> member
    RECALL = "recall"  # member -> master


@dataclass(frozen=True, slots=True)
class Allocation:
    """One movement of independent accounting, as both the master and the member see it."""

    id: int
    association_id: str
    master_id: str
    member_id: str
    kind: AllocationKind
    direction: Direction
    currency: str
    amount_units: int
    from_coupon_id: str | None
    to_coupon_id: str | None
    ledger_transaction_id: int | None
    actor: str
    created_at: datetime
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class MemberSetting:
    member_id: str
    master_id: str
    budget_units: int | None
    budget_alerted_month: str | None
    updated_at: datetime
