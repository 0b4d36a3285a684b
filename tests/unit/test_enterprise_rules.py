"""Enterprise rules: who may join whom, when a member may leave, what may be allocated."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from cloudbill.customers.model import Customer, CustomerStatus, Overview, PaymentMode
from cloudbill.enterprise import rules
from cloudbill.enterprise.model import (
    AccountingMode,
    AllocationKind,
    Association,
    AssociationStatus,
    Direction,
    InvitedBy,
)
from cloudbill.kernel.errors import CloudbillError, ErrorCode

T = datetime(2026, 3, 1, tzinfo=UTC)


def customer(cid: str, currency: str = "USD", mode: PaymentMode = PaymentMode.PREPAID,
             limit: int = 0) -> Customer:  # fmt: skip
    return Customer(cid, cid, None, None, currency, mode, limit, 1, "UTC",
                    CustomerStatus.ACTIVE, None, T, T)  # fmt: skip


def figures(**kw: object) -> Overview:
    base = Overview("c", "USD", PaymentMode.PREPAID, CustomerStatus.ACTIVE, 0, 0, 0, 0, 0, 0, 0,
                    False, None)  # fmt: skip
    return replace(base, **kw)  # type: ignore[arg-type]


def association(mode: AccountingMode = AccountingMode.INDEPENDENT,
                status: AssociationStatus = AssociationStatus.ACTIVE) -> Association:  # fmt: skip
    return Association("a1", "m", "s", mode, status, InvitedBy.MASTER, T, T, None, T)


def code(call) -> ErrorCode:  # type: ignore[no-untyped-def]
    with pytest.raises(CloudbillError) as refused:
        call()
    return refused.value.code


def check(master=None, member=None, **kw):  # type: ignore[no-untyped-def]
    args = {"master_is_member": False, "member_is_master": False, "member_live": None,
            "member_figures": figures()} | kw  # fmt: skip
    return lambda: rules.check_association(master or customer("m"), member or customer("s"), **args)


def test_a_clean_pair_may_associate() -> None:
    check()()


@pytest.mark.parametrize(
    ("master", "member", "kw", "expected"),
    [
        (customer("m"), customer("m"), {}, ErrorCode.ENTERPRISE_SELF),
        (customer("m"), customer("s", "EUR"), {}, ErrorCode.CURRENCY_MISMATCH),
        (None, None, {"master_is_member": True}, ErrorCode.ENTERPRISE_MASTER_IS_MEMBER),
        (None, None, {"member_is_master": True}, ErrorCode.ENTERPRISE_MEMBER_IS_MASTER),
        (None, None, {"member_live": association()}, ErrorCode.ENTERPRISE_MEMBER_TAKEN),
        (None, None, {"member_figures": figures(debt_units=1)}, ErrorCode.ENTERPRISE_MEMBER_OWES),
        (None, None, {"member_figures": figures(unpaid_units=5)}, ErrorCode.ENTERPRISE_MEMBER_OWES),
        (
            None,
            None,
            {"member_figures": figures(billed_outstanding_units=5)},
            ErrorCode.ENTERPRISE_MEMBER_OWES,
        ),
        (
            None,
            None,
            {"member_figures": figures(in_arrears=True)},
            ErrorCode.ENTERPRISE_MEMBER_OWES,
        ),
    ],
)
def test_association_refusals(master, member, kw, expected) -> None:  # type: ignore[no-untyped-def]
    assert code(check(master, member, **kw)) is expected


@pytest.mark.parametrize(
    ("member_kw", "limit", "expected"),
    [
        ({"cash_balance_units": 10**6}, 0, ErrorCode.ENTERPRISE_MEMBER_HAS_FUNDS),
        ({}, 100, ErrorCode.ENTERPRISE_MEMBER_HAS_CREDIT),
        ({"coupon_units": 3}, 0, ErrorCode.ENTERPRISE_MEMBER_HAS_COUPONS),
        ({"debt_units": 3, "in_arrears": True}, 0, ErrorCode.ENTERPRISE_MEMBER_OWES),
    ],
)
def test_disassociation_refusals(member_kw, limit, expected) -> None:  # type: ignore[no-untyped-def]
    call = lambda: rules.check_disassociation(association(), figures(**member_kw), limit, figures())  # noqa: E731
    assert code(call) is expected


def test_less_than_a_cent_of_cash_does_not_stop_a_member_leaving() -> None:
    """A recall names whole cents: a pay-per-use rest below one cent could never go (the
    master's part of it goes back with the disassociation, service.disassociate)."""
    rules.check_disassociation(association(), figures(cash_balance_units=10**6 - 1), 0, figures())


def test_a_unified_member_leaves_only_normal_and_with_no_order_pending() -> None:
    unified = association(AccountingMode.UNIFIED)
    frozen = figures(status=CustomerStatus.FROZEN)
    assert code(lambda: rules.check_disassociation(unified, frozen, 0, figures())) is (
        ErrorCode.ENTERPRISE_MEMBER_NOT_NORMAL
    )
    pending = lambda: rules.check_disassociation(  # noqa: E731
        unified, figures(), 0, figures(), member_orders_pending=1
    )
    assert code(pending) is ErrorCode.ENTERPRISE_MEMBER_HAS_ORDERS
    # independent accounting: the member's orders and status are its own business
    rules.check_disassociation(association(), frozen, 0, figures(), member_orders_pending=1)


def test_a_master_owing_allocates_nothing() -> None:
    for owing in (figures(in_arrears=True), figures(debt_units=1), figures(overdue_units=1)):
        assert code(lambda o=owing: rules.check_master_may_allocate(o)) is (
            ErrorCode.ENTERPRISE_MASTER_OWES
        )
    rules.check_master_may_allocate(figures(unpaid_units=5, billed_outstanding_units=5))


def test_recallable_cash_ignores_the_allocated_hold_but_not_the_invoice_hold() -> None:
    member = figures(cash_balance_units=900, held_units=100, allocated_held_units=800)
    assert member.withdrawable_units == 0
    assert rules.recallable_cash_units(member, 1000) == 800
    assert rules.recallable_cash_units(member, 300) == 300
    assert rules.recallable_cash_units(replace(member, in_arrears=True), 1000) == 0


def test_unified_member_leaves_only_once_the_master_has_paid() -> None:
    unified = association(AccountingMode.UNIFIED)
    owing = figures(unpaid_units=10)
    assert code(lambda: rules.check_disassociation(unified, figures(), 0, owing)) is (
        ErrorCode.ENTERPRISE_MASTER_OWES
    )
    rules.check_disassociation(unified, figures(), 0, figures())
    # independent accounting: the master's own bills are its own business
    rules.check_disassociation(association(), figures(), 0, owing)


def test_allocation_needs_an_active_independent_member() -> None:
    rules.check_allocatable(association())
    assert code(lambda: rules.check_allocatable(association(AccountingMode.UNIFIED))) is (
        ErrorCode.ENTERPRISE_NOT_INDEPENDENT
    )
    invited = association(status=AssociationStatus.INVITED)
    assert code(lambda: rules.check_allocatable(invited)) is ErrorCode.INVALID_STATE


def test_allocatable_cash_is_balance_less_the_outstanding_invoice_amount() -> None:
    assert rules.allocatable_cash_units(figures(cash_balance_units=100, held_units=30)) == 70
    assert rules.allocatable_cash_units(figures(cash_balance_units=20, held_units=30)) == 0
    in_arrears = figures(cash_balance_units=100, in_arrears=True)
    assert rules.allocatable_cash_units(in_arrears) == 0


def test_recall_is_bounded_by_what_was_given_and_not_spent() -> None:
    member = figures(cash_balance_units=40)
    assert rules.recallable_cash_units(member, 100) == 40  # 60 of it was spent
    assert rules.recallable_cash_units(member, 25) == 25  # the rest is the member's own
    assert rules.recallable_cash_units(member, -5) == 0


def test_credit_moves_only_unused_limit_of_postpaid_accounts() -> None:
    post = customer("m", mode=PaymentMode.POSTPAID, limit=100)
    assert rules.allocatable_credit_units(post, figures(available_credit_units=60)) == 60
    assert rules.allocatable_credit_units(customer("m"), figures(available_credit_units=60)) == 0
    assert code(lambda: rules.check_credit_member(customer("s"))) is ErrorCode.INVALID_STATE


def test_over_the_limit_names_it() -> None:
    with pytest.raises(CloudbillError) as refused:
        rules.check_within(101, 100, AllocationKind.CASH, Direction.ALLOCATE, "USD")
    assert refused.value.code is ErrorCode.ENTERPRISE_OVER_ALLOCATABLE
    assert refused.value.details["limit"] == "0.000001"
    rules.check_within(100, 100, AllocationKind.CASH, Direction.ALLOCATE, "USD")


@pytest.mark.parametrize("bad", ["", "both", None, 3])
def test_mode_and_kind_are_checked(bad: object) -> None:
    assert code(lambda: rules.check_mode(bad)) is ErrorCode.INVALID_ARGUMENT
    assert code(lambda: rules.check_kind(bad)) is ErrorCode.INVALID_ARGUMENT
