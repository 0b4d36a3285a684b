"""Pure decisions of enterprise accounts: who may be associated with whom, when a member may
leave, how much may be allocated or recalled. Huawei's Enterprise Center is the reference:
same currency; a master is never a member nor a member a master; a member with unpaid bills,
debt or arrears cannot join; a member leaves only with no funds, credit limit, coupons or
arrears left ("What Are the Requirements for Canceling Associations Between an Enterprise
Master Account and Its Member Account?"); allocatable = balance - overinvoiced amount."""

from __future__ import annotations

from ..customers.model import Customer, CustomerStatus, Overview, PaymentMode
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.money import Money
from .model import AccountingMode, AllocationKind, Association, AssociationStatus, Direction

# One cent: the smallest amount a recall can name (amounts take the currency's 2 digits).
SUB_CENT_UNITS = 10**6


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


def check_inviter(master: Customer, member: Customer, *, master_is_member: bool) -> None:
    """What an invitation checks: only what the inviter may know (itself, its own standing).
    Nothing of the invitee is looked at here, so that the answer is the same for every
    customer that exists and an invitation cannot probe a stranger's currency, debt or
    membership; the invitee's conditions are checked when it accepts (check_invitee)."""
    if master.id == member.id:
        raise CloudbillError(ErrorCode.ENTERPRISE_SELF, "a customer cannot be its own master")
    if master_is_member:
        raise CloudbillError(
            ErrorCode.ENTERPRISE_MASTER_IS_MEMBER,
            f"customer {master.id} is a member account: a member cannot have members",
        )


def check_invitee(
    master: Customer,
    member: Customer,
    *,
    member_is_master: bool,
    member_live: Association | None,
    member_figures: Overview,
) -> None:
    """The invitee's conditions (at acceptance, or the operator's direct association)."""
    if master.currency != member.currency:
        raise CloudbillError(
            ErrorCode.CURRENCY_MISMATCH,
            f"the master bills in {master.currency}, the member in {member.currency}: "
            "a master and its members share one currency",
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


def check_association(
    master: Customer,
    member: Customer,
    *,
    master_is_member: bool,
    member_is_master: bool,
    member_live: Association | None,
    member_figures: Overview,
) -> None:
    """Every condition at once (the operator's direct association, which may see all)."""
    check_inviter(master, member, master_is_member=master_is_member)
    check_invitee(
        master, member, member_is_master=member_is_master, member_live=member_live,
        member_figures=member_figures,
    )  # fmt: skip


def check_disassociation(
    association: Association,
    member_figures: Overview,
    member_credit_limit_units: int,
    master_figures: Overview,
    *,
    member_orders_pending: int = 0,
) -> None:
    """May the member leave? Nothing of value or owed may be left behind on either side.
    Cash below one cent is no obstacle: a recall moves whole cents (the currency's digits),
    so a pay-per-use rest below it could never be recalled; the part of it the master
    allocated goes back to the master with the disassociation (service.disassociate)."""
    money = member_figures.currency
    if association.mode is AccountingMode.UNIFIED:
        # Huawei (zh-cn_topic_0145034205): a unified member leaves with a normal status and
        # no unpaid orders (their payment would fall on the master's books).
        if member_figures.status is not CustomerStatus.ACTIVE:
            raise CloudbillError(
                ErrorCode.ENTERPRISE_MEMBER_NOT_NORMAL,
                f"the member is {member_figures.status}: a unified member leaves only with a "
                "normal status",
            )
        if member_orders_pending:
            raise CloudbillError(
                ErrorCode.ENTERPRISE_MEMBER_HAS_ORDERS,
                f"the member has {member_orders_pending} order(s) pending payment: pay or "
                "cancel them first",
            )
    if owes(member_figures):
        raise CloudbillError(
            ErrorCode.ENTERPRISE_MEMBER_OWES,
            "the member has unpaid bills, debt or arrears: they must be paid first",
        )
    if member_figures.cash_balance_units >= SUB_CENT_UNITS:
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
    """What the member has not spent of what it was given: at most its cash less the invoice
    hold (the allocated hold is what a recall takes, so it does not count here) and at most
    the cash allocated to it less what was recalled."""
    if member.in_arrears:
        return 0
    return max(0, min(member.cash_balance_units - member.held_units, net_allocated_units))


def check_master_may_allocate(master: Overview) -> None:
    """A master in arrears, with debt or with overdue bills allocates nothing (cash, credit
    or coupons): it would give away what it owes."""
    if master.in_arrears or master.debt_units or master.overdue_units:
        raise CloudbillError(
            ErrorCode.ENTERPRISE_MASTER_OWES,
            "you are in arrears or have overdue bills: pay them before allocating to members",
        )


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
