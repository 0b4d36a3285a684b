"""Enterprise accounts on the simulated clock: invitations and their conditions, allocation and
recall in independent accounting with the books verified after each step, disassociation
refused while each condition fails and allowed once it holds, members' budgets.

Huawei: "To disassociate a member account from its master account, the member account must not
have available funds, available credit limits, available cash coupons, be in credit arrears"
(Enterprise Center FAQ en-us_topic_0145034205); "Allocatable amount = Account balance -
Overinvoiced amount" (Allocating Account Balance, Credit Limit, and Cash Coupons)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from cloudbill.benefits import service as benefits
from cloudbill.customers import service as customers
from cloudbill.enterprise import allocation, budgets
from cloudbill.enterprise import repo as enterprise_repo
from cloudbill.enterprise import service as enterprise
from cloudbill.enterprise.model import AssociationStatus, Direction
from cloudbill.kernel.errors import CloudbillError, ErrorCode
from cloudbill.store.schema import outbox_event
from cloudbill.worker.jobs import run_due

from ..helpers import assert_books_balance, new_customer, snapshot
from .test_settlement import advance, figures, hour, meter, register, topup


def invite(c, master, member, mode="independent"):  # type: ignore[no-untyped-def]
    return c.write(lambda conn, now: enterprise.invite(
        conn, master_id=master, member_id=member, mode=mode, now=now))  # fmt: skip


def associate(c, master, member, mode="independent"):  # type: ignore[no-untyped-def]
    return c.write(lambda conn, now: enterprise.associate(
        conn, master_id=master, member_id=member, mode=mode, now=now))  # fmt: skip


def accept(c, member, aid):  # type: ignore[no-untyped-def]
    return c.write(lambda conn, now: enterprise.accept(
        conn, member_id=member, association_id=aid, now=now))  # fmt: skip


def disassociate(c, aid, master=None):  # type: ignore[no-untyped-def]
    return c.write(lambda conn, now: enterprise.disassociate(
        conn, association_id=aid, master_id=master, now=now))  # fmt: skip


def move(c, aid, kind, direction, amount, rid, master=None, coupon_id=None):  # type: ignore[no-untyped-def]
    return c.write(lambda conn, now: allocation.move(
        conn, association_id=aid, kind=kind, direction=direction, amount=amount,
        request_id=rid, coupon_id=coupon_id, master_id=master, now=now))  # fmt: skip


def adjust(c, cid, amount, ref, direction="charge"):  # type: ignore[no-untyped-def]
    c.write(lambda conn, now: customers.adjust(
        conn, cid, amount, direction=direction, reason="test", reference=ref, now=now))  # fmt: skip


def coupon(c, cid, ref, value):  # type: ignore[no-untyped-def]
    return c.write(lambda conn, now: benefits.issue_coupon(
        conn, customer_id=cid, name=ref, value=value, valid_from=now - timedelta(days=1),
        valid_to=now + timedelta(days=30), reference=ref, now=now))[0]  # fmt: skip


def refused(c, call, expected: ErrorCode) -> CloudbillError:  # type: ignore[no-untyped-def]
    """`call` is refused with `expected` and changes nothing at all."""
    before = snapshot(c)
    with pytest.raises(CloudbillError) as caught:
        call()
    assert caught.value.code is expected, caught.value
    assert snapshot(c) == before
    return caught.value


def events(c, topic):  # type: ignore[no-untyped-def]
    with c.db.read() as conn:
        rows = conn.execute(
            select(outbox_event.c.subject_id, outbox_event.c.payload)
            .where(outbox_event.c.topic == topic)
            .order_by(outbox_event.c.id)
        ).all()
    return [(subject, json.loads(payload)) for subject, payload in rows]


def test_invitation_accepted_tells_both_sides(container) -> None:  # type: ignore[no-untyped-def]
    master, member = new_customer(container, "hq"), new_customer(container, "team-a")
    invited = invite(container, master.id, member.id, "unified")
    assert invited.status is AssociationStatus.INVITED and invited.accepted_at is None
    refused(container, lambda: accept(container, master.id, invited.id), ErrorCode.FORBIDDEN)
    active = accept(container, member.id, invited.id)
    assert active.status is AssociationStatus.ACTIVE and active.accepted_at is not None
    told = [
        (s, p["change"], p["role"]) for s, p in events(container, "customer.enterprise_association")
    ]
    assert told == [
        (master.id, "invited", "master"), (member.id, "invited", "member"),
        (master.id, "accepted", "master"), (member.id, "accepted", "member"),
    ]  # fmt: skip
    # accepting twice: the association has moved on
    refused(container, lambda: accept(container, member.id, invited.id), ErrorCode.INVALID_STATE)
    with container.db.read() as conn:
        assert enterprise_repo.sees(conn, master.id, member.id)
        assert not enterprise_repo.sees(conn, member.id, master.id)


def test_decline_and_cancel(container) -> None:  # type: ignore[no-untyped-def]
    master, member = new_customer(container, "hq"), new_customer(container, "team-a")
    first = invite(container, master.id, member.id)
    declined = container.write(lambda conn, now: enterprise.decline(
        conn, member_id=member.id, association_id=first.id, now=now))  # fmt: skip
    assert declined.status is AssociationStatus.DECLINED
    second = invite(container, master.id, member.id)  # a declined one is no longer live
    by_member = lambda: container.write(lambda conn, now: enterprise.cancel(  # noqa: E731
        conn, association_id=second.id, master_id=member.id, now=now))  # fmt: skip
    refused(container, by_member, ErrorCode.FORBIDDEN)
    cancelled = container.write(lambda conn, now: enterprise.cancel(
        conn, association_id=second.id, master_id=master.id, now=now))  # fmt: skip
    assert cancelled.status is AssociationStatus.CANCELLED
    refused(container, lambda: accept(container, member.id, second.id), ErrorCode.INVALID_STATE)


def test_association_conditions(container) -> None:  # type: ignore[no-untyped-def]
    """An invitation checks only the inviter's side (it must not tell a stranger's currency,
    debt or membership); the invitee's conditions are checked at acceptance, and all at once
    by the operator's direct association."""
    master, member = new_customer(container, "hq"), new_customer(container, "team-a")
    euro = new_customer(container, "eu", currency="EUR")
    other = new_customer(container, "other")
    refused(container, lambda: invite(container, master.id, master.id), ErrorCode.ENTERPRISE_SELF)
    to_euro = invite(container, master.id, euro.id)
    refused(container, lambda: accept(container, euro.id, to_euro.id), ErrorCode.CURRENCY_MISMATCH)
    loose = new_customer(container, "eu-2", currency="EUR")
    refused(container, lambda: associate(container, master.id, loose.id),
            ErrorCode.CURRENCY_MISMATCH)  # fmt: skip
    # a member with arrears cannot join until it has paid
    adjust(container, member.id, "3.00", "owe")
    invited = invite(container, master.id, member.id)
    refused(
        container,
        lambda: accept(container, member.id, invited.id),
        ErrorCode.ENTERPRISE_MEMBER_OWES,
    )
    topup(container, member.id, "3.00", "pay")
    association = accept(container, member.id, invited.id)
    assert association.status is AssociationStatus.ACTIVE
    refused(
        container, lambda: invite(container, other.id, member.id), ErrorCode.ENTERPRISE_MEMBER_TAKEN
    )
    refused(
        container,
        lambda: invite(container, member.id, other.id),
        ErrorCode.ENTERPRISE_MASTER_IS_MEMBER,
    )
    to_master = invite(container, other.id, master.id)
    refused(
        container,
        lambda: accept(container, master.id, to_master.id),
        ErrorCode.ENTERPRISE_MEMBER_IS_MASTER,
    )
    third = new_customer(container, "third")
    refused(  # the operator's association checks the invitee at once
        container,
        lambda: associate(container, third.id, master.id),
        ErrorCode.ENTERPRISE_MEMBER_IS_MASTER,
    )
    assert_books_balance(container)


def test_allocation_and_recall_keep_the_books(container) -> None:  # type: ignore[no-untyped-def]
    master, member = new_customer(container, "hq"), new_customer(container, "team-a")
    topup(container, master.id, "100.00", "m1")
    aid = associate(container, master.id, member.id).id
    cash = Direction.ALLOCATE
    first = move(container, aid, "cash", cash, "30.00", "r1", master=master.id)
    assert first.ledger_transaction_id is not None
    assert figures(container, master.id).cash_balance_units == 70 * 10**8
    assert figures(container, member.id).cash_balance_units == 30 * 10**8
    assert_books_balance(container)
    # a replay answers the first movement; the same id for another movement is refused
    again = move(container, aid, "cash", cash, "30.00", "r1", master=master.id)
    assert again.replayed and again.id == first.id
    refused(container, lambda: move(container, aid, "cash", cash, "31.00", "r1", master=master.id),
            ErrorCode.IDEMPOTENCY_CONFLICT)  # fmt: skip
    # over the allocatable amount: refused, and says how much is allocatable
    error = refused(container, lambda: move(container, aid, "cash", cash, "70.01", "r2"),
                    ErrorCode.ENTERPRISE_OVER_ALLOCATABLE)  # fmt: skip
    assert error.details["limit"] == "70.00"
    # the member spends 12 of the 30: only 18 can come back
    adjust(container, member.id, "12.00", "spend")
    refused(container, lambda: move(container, aid, "cash", Direction.RECALL, "18.01", "r3"),
            ErrorCode.ENTERPRISE_OVER_ALLOCATABLE)  # fmt: skip
    move(container, aid, "cash", Direction.RECALL, "18.00", "r3", master=master.id)
    assert figures(container, master.id).cash_balance_units == 88 * 10**8
    assert figures(container, member.id).cash_balance_units == 0
    assert_books_balance(container)
    history = container.read(
        lambda conn, _n: allocation.history(conn, member.id, limit=10, offset=0)
    )
    assert [(a.direction, a.amount_units) for a in history[0]] == [
        (Direction.RECALL, 18 * 10**8), (Direction.ALLOCATE, 30 * 10**8)]  # fmt: skip


def test_an_allocation_writes_off_the_members_debt_first(container) -> None:  # type: ignore[no-untyped-def]
    master, member = new_customer(container, "hq"), new_customer(container, "team-a")
    topup(container, master.id, "50.00", "m1")
    aid = associate(container, master.id, member.id).id
    adjust(container, member.id, "4.00", "owe")  # arrears after joining
    assert figures(container, member.id).in_arrears
    move(container, aid, "cash", Direction.ALLOCATE, "10.00", "r1")
    after = figures(container, member.id)
    assert (after.debt_units, after.cash_balance_units, after.in_arrears) == (0, 6 * 10**8, False)
    assert_books_balance(container)


def test_coupons_move_whole_or_in_part(container) -> None:  # type: ignore[no-untyped-def]
    master, member = new_customer(container, "hq"), new_customer(container, "team-a")
    aid = associate(container, master.id, member.id).id
    source = coupon(container, master.id, "cpn-1", "20.00")
    given = move(container, aid, "coupon", Direction.ALLOCATE, "15.00", "c1", coupon_id=source.id)
    assert figures(container, master.id).coupon_units == 5 * 10**8
    assert figures(container, member.id).coupon_units == 15 * 10**8
    assert_books_balance(container)
    too_much = lambda: move(container, aid, "coupon", Direction.ALLOCATE, "5.01", "c2",  # noqa: E731
                            coupon_id=source.id)  # fmt: skip
    refused(container, too_much, ErrorCode.ENTERPRISE_OVER_ALLOCATABLE)
    # a recall takes back only coupons this master gave
    own = coupon(container, member.id, "cpn-own", "2.00")
    refused(container, lambda: move(container, aid, "coupon", Direction.RECALL, "1.00", "c3",
                                    coupon_id=own.id), ErrorCode.INVALID_STATE)  # fmt: skip
    move(container, aid, "coupon", Direction.RECALL, "15.00", "c4", coupon_id=given.to_coupon_id)
    assert figures(container, member.id).coupon_units == 2 * 10**8
    assert figures(container, master.id).coupon_units == 20 * 10**8
    assert_books_balance(container)


def test_credit_limit_moves_and_the_sum_stays(container) -> None:  # type: ignore[no-untyped-def]
    master = new_customer(container, "hq", payment_mode="postpaid", credit_limit="100.00")
    member = new_customer(container, "team-a", payment_mode="postpaid")
    prepaid = new_customer(container, "team-b")
    aid = associate(container, master.id, member.id).id
    other = associate(container, master.id, prepaid.id).id
    refused(container, lambda: move(container, other, "credit", Direction.ALLOCATE, "1.00", "k0"),
            ErrorCode.INVALID_STATE)  # fmt: skip
    move(container, aid, "credit", Direction.ALLOCATE, "40.00", "k1")
    limits = lambda: (figures(container, master.id).credit_limit_units,  # noqa: E731
                      figures(container, member.id).credit_limit_units)  # fmt: skip
    assert limits() == (60 * 10**8, 40 * 10**8)
    adjust(container, member.id, "25.00", "spend")  # uses 25 of its 40
    refused(container, lambda: move(container, aid, "credit", Direction.RECALL, "15.01", "k2"),
            ErrorCode.ENTERPRISE_OVER_ALLOCATABLE)  # fmt: skip
    move(container, aid, "credit", Direction.RECALL, "15.00", "k2")
    assert limits() == (75 * 10**8, 25 * 10**8) and sum(limits()) == 100 * 10**8
    assert_books_balance(container)


def test_unified_members_get_no_allocations(container) -> None:  # type: ignore[no-untyped-def]
    master, member = new_customer(container, "hq"), new_customer(container, "team-a")
    topup(container, master.id, "10.00", "m1")
    aid = associate(container, master.id, member.id, "unified").id
    refused(container, lambda: move(container, aid, "cash", Direction.ALLOCATE, "1.00", "u1"),
            ErrorCode.ENTERPRISE_NOT_INDEPENDENT)  # fmt: skip


def test_disassociation_waits_for_each_condition(container) -> None:  # type: ignore[no-untyped-def]
    master = new_customer(container, "hq", payment_mode="postpaid", credit_limit="100.00")
    member = new_customer(container, "team-a", payment_mode="postpaid")
    topup(container, master.id, "50.00", "m1")
    aid = associate(container, master.id, member.id).id
    move(container, aid, "cash", Direction.ALLOCATE, "10.00", "a1")
    move(container, aid, "credit", Direction.ALLOCATE, "20.00", "a2")
    given = move(container, aid, "coupon", Direction.ALLOCATE, "5.00", "a3",
                 coupon_id=coupon(container, master.id, "cpn", "5.00").id)  # fmt: skip
    leave = lambda: disassociate(container, aid, master=master.id)  # noqa: E731
    refused(container, leave, ErrorCode.ENTERPRISE_MEMBER_HAS_FUNDS)
    move(container, aid, "cash", Direction.RECALL, "10.00", "b1")
    refused(container, leave, ErrorCode.ENTERPRISE_MEMBER_HAS_CREDIT)
    move(container, aid, "credit", Direction.RECALL, "20.00", "b2")
    refused(container, leave, ErrorCode.ENTERPRISE_MEMBER_HAS_COUPONS)
    move(container, aid, "coupon", Direction.RECALL, "5.00", "b3", coupon_id=given.to_coupon_id)
    adjust(container, member.id, "1.00", "late-fee")  # owed, with no credit left: arrears
    refused(container, leave, ErrorCode.ENTERPRISE_MEMBER_OWES)
    topup(container, member.id, "1.00", "paid")
    ended = leave()
    assert ended.status is AssociationStatus.ENDED and ended.ended_at is not None
    assert_books_balance(container)
    with container.db.read() as conn:
        assert not enterprise_repo.sees(conn, master.id, member.id)
    members, total = container.read(
        lambda conn, _n: enterprise.members_of(conn, master.id, limit=10, offset=0)
    )
    assert (members, total) == ([], 0)
    # after leaving, the member can be invited afresh (by anyone)
    invite(container, new_customer(container, "new-hq").id, member.id)


def test_unified_member_leaves_once_the_master_has_paid(container) -> None:  # type: ignore[no-untyped-def]
    master, member = new_customer(container, "hq"), new_customer(container, "team-a")
    aid = associate(container, master.id, member.id, "unified").id
    adjust(container, master.id, "7.00", "members-fees")  # the master owes (arrears)
    refused(container, lambda: disassociate(container, aid), ErrorCode.ENTERPRISE_MASTER_OWES)
    topup(container, master.id, "7.00", "pay")
    assert disassociate(container, aid).status is AssociationStatus.ENDED


def test_member_budget_alerts_once_a_month(container) -> None:  # type: ignore[no-untyped-def]
    master, member = new_customer(container, "hq"), new_customer(container, "team-a")
    topup(container, member.id, "10.00", "t1")
    register(container, member.id, "vm-1")
    aid = associate(container, master.id, member.id).id
    set_budget = lambda **kw: container.write(lambda conn, now: budgets.set_controls(  # noqa: E731
        conn, aid, master_id=master.id, now=now, **kw))  # fmt: skip
    shown = set_budget(budget="0.10", alert_enabled=True, alert_threshold="5.00")
    assert (shown.budget_units, shown.spent_this_month_units) == (10**7, 0)
    assert shown.alert.enabled and shown.alert.threshold_units == 5 * 10**8
    meter(container, ("r1", "vm-1", "duration", "3600", hour(5), hour(6), "s"))
    run_due(container)
    assert events(container, budgets.TOPIC) == []  # 0.0781 of 0.10 spent
    meter(container, ("r2", "vm-1", "duration", "3600", hour(6), hour(7), "s"))
    advance(container, hours=1)  # late for its hour: billed with the next one
    run_due(container)
    told = events(container, budgets.TOPIC)
    assert sorted((s, p["role"]) for s, p in told) == sorted(
        [(member.id, "member"), (master.id, "master")])  # fmt: skip
    assert told[0][1]["budget"] == "0.10" and told[0][1]["month"] == "2026-03"
    meter(container, ("r3", "vm-1", "duration", "3600", hour(7), hour(8), "s"))
    advance(container, hours=1)
    run_due(container)
    assert len(events(container, budgets.TOPIC)) == 2  # once a month
    # another master cannot read or set it
    outsider = new_customer(container, "nosy")
    refused(container, lambda: container.write(lambda conn, now: budgets.set_controls(
        conn, aid, master_id=outsider.id, budget="1.00", now=now)),
        ErrorCode.ENTERPRISE_ASSOCIATION_NOT_FOUND)  # fmt: skip
    assert_books_balance(container)


def test_member_budget_alerts_again_the_next_month(container) -> None:  # type: ignore[no-untyped-def]
    master, member = new_customer(container, "hq"), new_customer(container, "team-a")
    topup(container, member.id, "10.00", "t1")
    aid = associate(container, master.id, member.id).id
    container.write(
        lambda conn, now: budgets.set_controls(
            conn, aid, master_id=master.id, budget="1.00", now=now
        )
    )
    check = lambda: container.write(lambda conn, now: budgets.check_due(conn, now=now))  # noqa: E731
    adjust(container, member.id, "0.60", "march-1")
    assert check() == 0  # 0.60 of 1.00
    adjust(container, member.id, "0.60", "march-2")
    assert check() == 2 and check() == 0  # passed: member and master told, once
    advance(container, days=20)  # April in the member's zone (UTC)
    assert check() == 0  # a new month starts at nothing spent
    adjust(container, member.id, "1.50", "april-1")
    assert check() == 2
    months = sorted({p["month"] for _s, p in events(container, budgets.TOPIC)})
    assert months == ["2026-03", "2026-04"]


def test_a_master_owing_allocates_no_coupon_nor_cash(container) -> None:  # type: ignore[no-untyped-def]
    master, member = new_customer(container, "hq"), new_customer(container, "team-a")
    aid = associate(container, master.id, member.id).id
    adjust(container, master.id, "3.00", "owe")  # debt, and in arrears
    source = coupon(container, master.id, "cpn-1", "20.00")
    give = lambda: move(container, aid, "coupon", Direction.ALLOCATE, "5.00", "c1",  # noqa: E731
                        coupon_id=source.id)  # fmt: skip
    refused(container, give, ErrorCode.ENTERPRISE_MASTER_OWES)
    refused(container, lambda: move(container, aid, "cash", Direction.ALLOCATE, "1.00", "c2"),
            ErrorCode.ENTERPRISE_MASTER_OWES)  # fmt: skip
    topup(container, master.id, "3.00", "pay")
    move(container, aid, "coupon", Direction.ALLOCATE, "5.00", "c1", coupon_id=source.id)
    assert_books_balance(container)


def test_the_operator_does_not_associate_a_frozen_customer(container) -> None:  # type: ignore[no-untyped-def]
    from cloudbill.customers.model import CustomerStatus

    master, member = new_customer(container, "hq"), new_customer(container, "team-a")
    container.write(lambda conn, now: customers.set_status(
        conn, member.id, CustomerStatus.FROZEN, reason="test", now=now))  # fmt: skip
    refused(container, lambda: associate(container, master.id, member.id),
            ErrorCode.CUSTOMER_FROZEN)  # fmt: skip
    # a frozen customer's invitation is made (the inviter may not know), its acceptance is not
    invited = invite(container, master.id, member.id)
    refused(container, lambda: accept(container, member.id, invited.id), ErrorCode.CUSTOMER_FROZEN)


def test_the_old_master_no_longer_sees_the_members_movements(container) -> None:  # type: ignore[no-untyped-def]
    master, member = new_customer(container, "hq"), new_customer(container, "team-a")
    topup(container, master.id, "50.00", "m1")
    aid = associate(container, master.id, member.id).id
    move(container, aid, "cash", Direction.ALLOCATE, "5.00", "a1")
    move(container, aid, "cash", Direction.RECALL, "5.00", "a2")

    def seen(customer_id: str, operator: bool = False) -> int:
        return container.read(lambda conn, _n: allocation.history(
            conn, customer_id, limit=50, offset=0, operator=operator))[1]  # fmt: skip

    assert (seen(master.id), seen(member.id)) == (2, 2)
    disassociate(container, aid)
    assert (seen(master.id), seen(member.id), seen(master.id, operator=True)) == (0, 2, 2)
