"""Pure decisions of enterprise accounts: who may be associated with whom, when a member may
leave, how much may be allocated or recalled. Huawei's Enterprise Center is the reference:
same currency; a master is never a member nor a member a master; a member with unpaid bills,
debt or arrears cannot join; a member leaves only with no funds, credit limit, coupons or
arrears left ("What Are the Requirements for Canceling Associations Between an Enterprise
Master Account and Its Member Account?"); allocatable = balance - overinvoiced amount."""

from __future__ import annotations

from ..customers.model import Customer, Overview, PaymentMode
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.money import Money
from .model import AccountingMode, AllocationKind, Association, AssociationStatus, Direction


def check_mode(value: object) -> AccountingMode:
    try:
        return AccountingMode(str(value))
    except ValueError:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, "mode must be unified or independent"
        ) from None


def check_kind(value: object) -> AllocationKind:
    try:
        return AllocationKind(str(value))
    except ValueError:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, "kind must be cash, credit or coupon"
        ) from None


def owes(figures: Overview) -> bool:
    """Unpaid bills, debt or arrears: what stops a customer joining or leaving."""
    return bool(
        figures.in_arrears
        or figures.debt_units
        or figures.unpaid_units
        or figures.billed_outstanding_units
    )


def check_association(
    master: Customer,
    member: Customer,
    *,
    master_is_member: bool,
    member_is_master: bool,
    member_live: Association | None,
    member_figures: Overview,
) -> None:
    """May `member` be associated with `master` now? Raises the first condition that fails."""
    if master.id == member.id:
        raise CloudbillError(ErrorCode.ENTERPRISE_SELF, "a customer cannot be its own master")
    if master.currency != member.currency:
        raise CloudbillError(
            ErrorCode.CURRENCY_MISMATCH,
            f"the master bills in {master.currency}, the member in {member.currency}: "
            "a master and its members share one currency",
        )
    if master_is_member:
        raise CloudbillError(
            ErrorCode.ENTERPRISE_MASTER_IS_MEMBER,
            f"customer {master.id} is a member account: a member cannot have members",
        )
    if member_is_master:
        raise CloudbillError(
            ErrorCode.ENTERPRISE_MEMBER_IS_MASTER,
            f"customer {member.id} is a master account: a master cannot be a member",
        )
    if member_live is not None:
        raise CloudbillError(
            ErrorCode.ENTERPRISE_MEMBER_TAKEN,
            f"customer {member.id} is already {member_live.status} with a master account",
            association_id=member_live.id if member_live.master_id == master.id else None,
        )
    if owes(member_figures):
        raise CloudbillError(
            ErrorCode.ENTERPRISE_MEMBER_OWES,
            f"customer {member.id} has unpaid bills, debt or arrears: they must be paid first",
        )


def check_disassociation(
    association: Association,
    member_figures: Overview,
    member_credit_limit_units: int,
    master_figures: Overview,
) -> None:
    """May the member leave? Nothing of value or owed may be left behind on either side."""
    money = member_figures.currency
    if owes(member_figures):
        raise CloudbillError(
            ErrorCode.ENTERPRISE_MEMBER_OWES,
            "the member has unpaid bills, debt or arrears: they must be paid first",
        )
    if member_figures.cash_balance_units:
        raise CloudbillError(
            ErrorCode.ENTERPRISE_MEMBER_HAS_FUNDS,
            f"the member still has {Money(member_figures.cash_balance_units, money)} of cash "
            "balance: recall or withdraw it first",
        )
    if member_credit_limit_units:
        raise CloudbillError(
            ErrorCode.ENTERPRISE_MEMBER_HAS_CREDIT,
            f"the member still has a credit limit of {Money(member_credit_limit_units, money)}: "
            "recall it first",
        )
    if member_figures.coupon_units:
        raise CloudbillError(
            ErrorCode.ENTERPRISE_MEMBER_HAS_COUPONS,
            f"the member still has {Money(member_figures.coupon_units, money)} of cash coupons: "
            "recall them or let them be used first",
        )
    # Unified: the master's books carry the member's fees; they are settled before it leaves.
    if association.mode is AccountingMode.UNIFIED and owes(master_figures):
        raise CloudbillError(
            ErrorCode.ENTERPRISE_MASTER_OWES,
            "the master has unpaid bills, debt or arrears (unified accounting carries the "
            "member's fees on the master's books): they must be paid first",
        )


def check_transition(association: Association, allowed: tuple[AssociationStatus, ...]) -> None:
    if association.status not in allowed:
        raise CloudbillError(
            ErrorCode.INVALID_STATE,
            f"the association is {association.status}; this needs it "
            + " or ".join(str(s) for s in allowed),
            status=str(association.status),
        )


def check_allocatable(association: Association) -> None:
    if association.status is not AssociationStatus.ACTIVE:
        raise CloudbillError(
            ErrorCode.INVALID_STATE, f"the association is {association.status}, not active"
        )
    if association.mode is not AccountingMode.INDEPENDENT:
        raise CloudbillError(
            ErrorCode.ENTERPRISE_NOT_INDEPENDENT,
            "allocation and recall are for members in independent accounting; a unified "
            "member spends from the master's books",
        )


def allocatable_cash_units(master: Overview) -> int:
    """Allocatable = cash balance - outstanding invoice amount (Huawei's "overinvoiced
    amount"); nothing while in arrears, so an allocation never leaves the master owing."""
    return master.withdrawable_units


def recallable_cash_units(member: Overview, net_allocated_units: int) -> int:
    """What the member has not spent of what it was given: at most its withdrawable cash and
    at most the cash allocated to it less what was recalled."""
    return max(0, min(member.withdrawable_units, net_allocated_units))


def allocatable_credit_units(master: Customer, master_figures: Overview) -> int:
    """Unused limit only: the part the master has spent stays with it."""
    if master.payment_mode is not PaymentMode.POSTPAID:
        return 0
    return master_figures.available_credit_units


def check_credit_member(member: Customer) -> None:
    if member.payment_mode is not PaymentMode.POSTPAID:
        raise CloudbillError(
            ErrorCode.INVALID_STATE,
            "a credit limit can be allocated only to a post-paid member",
        )


def check_within(units: int, limit_units: int, kind: AllocationKind, direction: Direction,
                 currency: str) -> None:  # fmt: skip
    if units > limit_units:
        verb = "allocatable" if direction is Direction.ALLOCATE else "recallable"
        raise CloudbillError(
            ErrorCode.ENTERPRISE_OVER_ALLOCATABLE,
            f"at most {Money(limit_units, currency)} of {kind} is {verb} now",
            field="amount",
            limit=Money(limit_units, currency).to_text(),
        )
