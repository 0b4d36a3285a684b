"""Review of the enterprise merge (f51afa1): each test proves one defect and fails until it is
fixed. Product code is not changed here."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from sqlalchemy import text

from cloudbill.customers import service as customers
from cloudbill.customers.model import CustomerStatus
from cloudbill.enterprise import allocation
from cloudbill.enterprise import service as enterprise
from cloudbill.enterprise.model import AssociationStatus, Direction
from cloudbill.kernel.errors import CloudbillError, ErrorCode
from cloudbill.store import clock_repo
from cloudbill.worker.jobs import run_due

from ..helpers import assert_books_balance, new_customer, snapshot
from .test_enterprise_accounts import accept, associate, disassociate, invite, move, refused
from .test_settlement import figures, topup

UNIT = 10**8


def _wait_until_blocked(container, seconds: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    """On PostgreSQL: until another backend waits on a row lock; on SQLite: a short pause
    (the other writer queues on BEGIN IMMEDIATE)."""
    if container.db.engine.dialect.name != "postgresql":
        time.sleep(0.5)
        return
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with container.db.engine.connect() as conn:
            waiting = conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()")).scalar_one()  # fmt: skip
        if waiting:
            return
        time.sleep(0.05)
    raise AssertionError("the allocation never waited on the disassociation's locks")


def test_disassociation_racing_an_allocation_leaves_no_money_with_the_ex_member(container) -> None:  # type: ignore[no-untyped-def]
    """allocation.move reads the association before lock_pair and checks the stale copy
    afterwards: an allocation that queued behind a disassociation goes through after the
    association ended (PostgreSQL, READ COMMITTED)."""
    master, member = new_customer(container, "hq"), new_customer(container, "team-a")
    topup(container, master.id, "100.00", "m1")
    aid = associate(container, master.id, member.id).id
    outcome: dict[str, object] = {}

    def allocate() -> None:
        try:
            outcome["moved"] = move(container, aid, "cash", Direction.ALLOCATE, "10.00", "race-1",
                                    master=master.id)  # fmt: skip
        except CloudbillError as exc:
            outcome["refused"] = exc.code

    with container.db.write() as conn:
        now = clock_repo.read_clock(conn)[1]
        ended = enterprise.disassociate(conn, association_id=aid, master_id=master.id, now=now)
        assert ended.status is AssociationStatus.ENDED
        worker = threading.Thread(target=allocate)
        worker.start()
        _wait_until_blocked(container)
    worker.join(30)
    assert not worker.is_alive()
    assert figures(container, member.id).cash_balance_units == 0, (
        f"an ex-member received the master's cash after the association ended: {outcome}"
    )
    assert outcome.get("refused") is ErrorCode.INVALID_STATE
    assert_books_balance(container)


def test_a_former_master_now_a_member_sees_what_it_was_allocated(container) -> None:  # type: ignore[no-untyped-def]
    """allocation.history answers the master-side list for any customer that ever allocated
    as a master: once it is a member of another master, the movements made to it are gone
    from its own history (enterprise/allocation.py history())."""
    first_master, member = new_customer(container, "hq-1"), new_customer(container, "team-a")
    topup(container, first_master.id, "50.00", "m1")
    old = associate(container, first_master.id, member.id).id
    move(container, old, "cash", Direction.ALLOCATE, "5.00", "a1")
    move(container, old, "cash", Direction.RECALL, "5.00", "a2")
    disassociate(container, old)
    # the first master now joins another master as an independent member and is given money
    second_master = new_customer(container, "hq-2")
    topup(container, second_master.id, "20.00", "m2")
    aid = associate(container, second_master.id, first_master.id).id
    given = move(container, aid, "cash", Direction.ALLOCATE, "7.00", "b1")
    seen, _total = container.read(
        lambda conn, _n: allocation.history(conn, first_master.id, limit=50, offset=0)
    )
    assert given.id in [a.id for a in seen], (
        "its own received allocation is missing from its history; it is shown "
        f"{[(a.master_id, a.member_id, a.direction) for a in seen]}"
    )


def test_a_frozen_master_cannot_invite_nor_a_frozen_customer_be_associated(container) -> None:  # type: ignore[no-untyped-def]
    """check_not_frozen says "frozen by the operator: no operations are allowed"; the
    association use cases (invite, associate, accept) never look at the status."""
    master, member = new_customer(container, "hq"), new_customer(container, "team-a")
    container.write(lambda conn, now: customers.set_status(
        conn, master.id, CustomerStatus.FROZEN, reason="review", now=now))  # fmt: skip
    refused(container, lambda: invite(container, master.id, member.id), ErrorCode.CUSTOMER_FROZEN)


def test_a_frozen_member_cannot_accept(container) -> None:  # type: ignore[no-untyped-def]
    master, member = new_customer(container, "hq"), new_customer(container, "team-a")
    invited = invite(container, master.id, member.id)
    container.write(lambda conn, now: customers.set_status(
        conn, member.id, CustomerStatus.FROZEN, reason="review", now=now))  # fmt: skip
    refused(container, lambda: accept(container, member.id, invited.id), ErrorCode.CUSTOMER_FROZEN)


def test_a_member_that_used_pay_per_use_can_be_emptied_and_leave(container) -> None:  # type: ignore[no-untyped-def]
    """Pay-per-use fees are deducted at 8 decimals, but a recall amount is parsed at the
    currency's 2 digits (customer_rules.positive_amount -> Money.parse): the sub-cent rest of
    the allocated cash can never be recalled (nor withdrawn), and check_disassociation refuses
    any cash balance (ENTERPRISE_MEMBER_HAS_FUNDS): the member can never leave."""
    from .test_settlement import hour, meter, register

    master, member = new_customer(container, "hq"), new_customer(container, "team-a")
    topup(container, master.id, "100.00", "m1")
    aid = associate(container, master.id, member.id).id
    move(container, aid, "cash", Direction.ALLOCATE, "10.00", "a1", master=master.id)
    register(container, member.id, "vm-1")
    meter(container, ("r1", "vm-1", "duration", "3600", hour(5), hour(6), "s"))
    run_due(container)
    left = figures(container, member.id).cash_balance_units
    assert 0 < left < 10 * UNIT and left % (UNIT // 100) != 0  # a sub-cent rest: 9.9219
    whole = str(Decimal(left).scaleb(-8).normalize())
    try:
        move(container, aid, "cash", Direction.RECALL, whole, "b1", master=master.id)
    except CloudbillError as exc:
        # what a master can do instead: recall the whole cents, then try to end the association
        cents = str(Decimal(left // (UNIT // 100)).scaleb(-2))
        move(container, aid, "cash", Direction.RECALL, cents, "b2", master=master.id)
        rest = figures(container, member.id).cash_balance_units
        try:
            ended = disassociate(container, aid, master=master.id)
        except CloudbillError as stuck:
            raise AssertionError(
                f"recalling the member's whole {whole} was refused ({exc.code}), and the "
                f"{rest} units left make disassociation impossible ({stuck.code})"
            ) from None
        # (fix: the association has ended here; the original fell through to a second
        # disassociation, which can only be refused)
        assert ended.status is AssociationStatus.ENDED
        assert figures(container, member.id).cash_balance_units == 0  # the rest went back
        assert_books_balance(container)
        return
    assert disassociate(container, aid, master=master.id).status is AssociationStatus.ENDED
    assert_books_balance(container)


def test_a_unified_member_does_not_pay_its_own_fees(container) -> None:  # type: ignore[no-untyped-def]
    """mode=unified ("the master pays the member's fees"), through the operator's association:
    an hour of the member's usage after it joined (09:00, the association's instant) falls on
    the master's books, not on the member's (who has no money) nor its arrears."""
    from .test_settlement import advance, hour, meter, register

    master, member = new_customer(container, "hq"), new_customer(container, "team-a")
    topup(container, master.id, "100.00", "m1")
    associate(container, master.id, member.id, "unified")
    register(container, member.id, "vm-1")
    advance(container, hours=2)
    meter(container, ("r1", "vm-1", "duration", "3600", hour(9), hour(10), "s"))
    run_due(container)
    own = figures(container, member.id)
    assert (own.debt_units, own.in_arrears) == (0, False), (
        f"the unified member owes its own fee ({own.debt_units} units) and is in arrears "
        f"while its master holds {figures(container, master.id).cash_balance_units} units"
    )
    assert figures(container, master.id).cash_balance_units < 100 * UNIT


def test_a_member_cannot_withdraw_the_cash_its_master_allocated(container) -> None:  # type: ignore[no-untyped-def]
    """Huawei, Balance Withdrawals: "The amount allocated to an enterprise member account
    cannot be withdrawn. ... the master account must withdraw it [recall] before requesting a
    money withdrawal." customers.withdraw knows nothing of allocations (the withdrawal hold
    counts only invoiced money): the member pays the master's money out to itself."""
    master, member = new_customer(container, "hq"), new_customer(container, "team-a")
    topup(container, master.id, "100.00", "m1")
    aid = associate(container, master.id, member.id).id
    move(container, aid, "cash", Direction.ALLOCATE, "30.00", "a1", master=master.id)
    before = snapshot(container)
    with pytest.raises(CloudbillError):  # whichever stable code the fix chooses
        container.write(lambda conn, now: customers.withdraw(
            conn, member.id, "30.00", reference="cash-out", now=now))  # fmt: skip
    assert snapshot(container) == before


def test_a_frozen_unified_member_is_not_disassociated(container) -> None:  # type: ignore[no-untyped-def]
    """Huawei (zh-cn_topic_0145034205): in unified accounting (财务托管) the member, to leave,
    must have no unpaid orders, no credit arrears, and a normal status (状态正常).
    rules.check_disassociation never looks at the member's status."""
    master, member = new_customer(container, "hq"), new_customer(container, "team-a")
    aid = associate(container, master.id, member.id, "unified").id
    container.write(lambda conn, now: customers.set_status(
        conn, member.id, CustomerStatus.FROZEN, reason="review", now=now))  # fmt: skip
    before = snapshot(container)
    with pytest.raises(CloudbillError):
        disassociate(container, aid)
    assert snapshot(container) == before


def test_a_unified_member_with_an_order_pending_payment_is_not_disassociated(container) -> None:  # type: ignore[no-untyped-def]
    """Huawei (zh-cn_topic_0145034205): a unified member leaves only with no unpaid orders
    (不存在未支付订单); an order pending payment is not looked at (check_disassociation)."""
    from .test_orders import buy

    master, member = new_customer(container, "hq"), new_customer(container, "team-a")
    aid = associate(container, master.id, member.id, "unified").id
    order = buy(container, member.id)
    assert order.status.value == "pending_payment"
    before = snapshot(container)
    with pytest.raises(CloudbillError):
        disassociate(container, aid)
    assert snapshot(container) == before


def test_recall_all_takes_the_members_whole_rest_sub_cent_included(container) -> None:  # type: ignore[no-untyped-def]
    """The fix's other half: a cash recall of "all" moves the member's whole recallable rest
    (8 decimals) in one movement; the member then leaves with nothing."""
    from .test_settlement import hour, meter, register

    master, member = new_customer(container, "hq"), new_customer(container, "team-a")
    topup(container, master.id, "100.00", "m1")
    aid = associate(container, master.id, member.id).id
    move(container, aid, "cash", Direction.ALLOCATE, "10.00", "a1", master=master.id)
    register(container, member.id, "vm-1")
    meter(container, ("r1", "vm-1", "duration", "3600", hour(5), hour(6), "s"))
    run_due(container)
    left = figures(container, member.id).cash_balance_units
    assert left % (UNIT // 100) != 0
    back = move(container, aid, "cash", Direction.RECALL, "all", "b1", master=master.id)
    assert back.amount_units == left
    assert figures(container, member.id).cash_balance_units == 0
    # a replay answers the same movement; nothing more is left to recall
    assert (
        move(container, aid, "cash", Direction.RECALL, "all", "b1", master=master.id).id == back.id
    )
    again = lambda: move(container, aid, "cash", Direction.RECALL, "all", "b2", master=master.id)  # noqa: E731
    refused(container, again, ErrorCode.ENTERPRISE_OVER_ALLOCATABLE)
    assert disassociate(container, aid, master=master.id).status is AssociationStatus.ENDED
    assert_books_balance(container)
