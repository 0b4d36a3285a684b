"""Issue 18's main scenario on the simulated clock: an enterprise master (post-paid, Shanghai)
with two members in unified accounting and one in independent accounting, through March,
April and into May.

The unified members' usage is paid from the master's books (its credit), recorded with the
member as consumer and the master as payer, and shows on the master's bill (with a member
dimension); the independent member pays itself. The master's March bill goes overdue: the
master is in arrears and every unified member's pay-per-use resources go to grace with the
master's, then are frozen; the independent member's keep running. One top-up of the master
restores them all, paying the overdue March bill first, then the oldest after it (April's).
Members see only their own records; a disassociated member's records vanish from the old
master's views. `cloudbill verify` passes throughout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from cloudbill.bills import export as bill_export
from cloudbill.bills import service as bill_service
from cloudbill.kernel.errors import CloudbillError, ErrorCode
from cloudbill.kernel.money import Rounding
from cloudbill.postpaid.rules import BillStatus
from cloudbill.store.schema import fee_record, ledger_transaction, resource
from cloudbill.worker.jobs import run_due

from ..conftest import T0
from ..enterprise_fixtures import associate, disassociate
from ..helpers import assert_books_balance, new_customer
from .test_postpaid_bills import (
    HOURLY,
    MARCH_BILL_AT,
    MARCH_DUE_AT,
    ZONE,
    bills,
    figures,
    go_to,
    units,
)
from .test_settlement import meter, register, topup

APRIL_BILL_AT = datetime(2026, 5, 2, 16, tzinfo=UTC)  # 3 May 00:00 in Shanghai
JOINED_AT = T0  # the members joined at T0: usage from then on is the master's to pay


def hours_of(rid: str, start: datetime, hours: int) -> list[tuple]:
    return [
        (f"{rid}-{start:%Y%m%d%H}-{h}", rid, "duration", "3600",
         (start + timedelta(hours=h)).isoformat(), (start + timedelta(hours=h + 1)).isoformat(),
         "s")
        for h in range(hours)
    ]  # fmt: skip


def statuses(container) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with container.db.read() as conn:
        return dict(conn.execute(select(resource.c.id, resource.c.status)).all())


def records(container, customer_id, **kwargs):  # type: ignore[no-untyped-def]
    rows, total = container.read(
        lambda conn, _now: bill_service.fee_records(conn, customer_id, limit=500, **kwargs)
    )
    assert len(rows) == total
    return rows


@pytest.fixture
def enterprise(container):  # type: ignore[no-untyped-def]
    master = new_customer(
        container, "master", payment_mode="postpaid", credit_limit="100", timezone=ZONE
    )
    u1 = new_customer(container, "unified-1", timezone=ZONE)
    u2 = new_customer(container, "unified-2", timezone=ZONE)
    ind = new_customer(container, "independent", timezone=ZONE)
    topup(container, u1.id, "5.00", "u1-own")  # its balance from before it joined
    topup(container, ind.id, "50.00", "ind-own")
    for cid, rid in ((master.id, "vm-m"), (u1.id, "vm-u1"), (u2.id, "vm-u2"), (ind.id, "vm-i")):
        register(container, cid, rid)
    links = {
        u1.id: associate(container, master.id, u1.id, "unified", at=JOINED_AT),
        u2.id: associate(container, master.id, u2.id, "unified", at=JOINED_AT),
        ind.id: associate(container, master.id, ind.id, "independent", at=JOINED_AT),
    }
    return master, u1, u2, ind, links


def test_a_month_of_unified_accounting_arrears_and_one_top_up(container, enterprise) -> None:  # type: ignore[no-untyped-def]
    master, u1, u2, ind, links = enterprise
    unified = (master.id, u1.id, u2.id)
    # A unified member cannot top up: its master pays for it.
    with pytest.raises(CloudbillError) as refused:
        topup(container, u1.id, "1.00", "u1-after-joining")
    assert refused.value.code is ErrorCode.UNIFIED_MEMBER_PAYS_THROUGH_MASTER

    # A day of March: every VM runs 24 hours; and one late hour of u1 from before it joined.
    go_to(container, T0 + timedelta(days=1, minutes=16))
    meter(container, *(r for rid in ("vm-m", "vm-u1", "vm-u2", "vm-i")
                       for r in hours_of(rid, T0, 24)))  # fmt: skip
    meter(container, *hours_of("vm-u1", T0 - timedelta(hours=1), 1))
    run_due(container)
    day = units(24 * HOURLY)

    # The members' fees are on the master's books: its credit paid them, nothing of theirs.
    for member in (u1, u2):
        rows = [r for r in records(container, member.id) if r.hour_start >= JOINED_AT]
        assert len(rows) == 24 and {r.customer_id for r in rows} == {member.id}
        assert sum(r.figures.credit_units for r in rows) == day
        assert sum(r.figures.cash_units + r.figures.debt_units for r in rows) == 0
    with container.db.read() as conn:
        payers = dict(
            conn.execute(
                select(fee_record.c.customer_id, fee_record.c.payer_id)
                .where(fee_record.c.hour_start >= JOINED_AT)
                .distinct()
            ).all()
        )
        assert payers == {master.id: None, u1.id: master.id, u2.id: master.id, ind.id: None}
        # One transfer per paying customer and hour: the members' fees are in the master's.
        owners = conn.execute(
            select(ledger_transaction.c.customer_id)
            .join(fee_record, fee_record.c.ledger_transaction_id == ledger_transaction.c.id)
            .where(fee_record.c.customer_id == u1.id, fee_record.c.hour_start >= JOINED_AT)
            .distinct()
        ).scalars().all()  # fmt: skip
        assert owners == [master.id]
    assert figures(container, master.id).unpaid_units == 3 * day
    # u1's old balance paid only its hour from before it joined, and nothing since.
    [before] = [r for r in records(container, u1.id) if r.hour_start < JOINED_AT]
    assert before.figures.cash_units == units(HOURLY)
    assert figures(container, u1.id).cash_balance_units == units("5.00") - units(HOURLY)
    assert figures(container, u2.id).cash_balance_units == 0
    assert not figures(container, u2.id).in_arrears
    # The independent member paid itself.
    assert figures(container, ind.id).cash_balance_units == units("50.00") - day
    assert_books_balance(container)

    # The master's views hold its unified members' records, each naming its consumer.
    mine = records(container, master.id, month="2026-03")
    assert {r.customer_id for r in mine} == set(unified) and len(mine) == 72
    summary = container.read(
        lambda conn, _now: bill_service.monthly_summary(
            conn, master.id, "2026-03", rounding=Rounding.HALF_UP
        )
    )
    assert summary.exact.amount_units == 3 * day
    [by_member] = [b for b in summary.breakdowns if b.dimension == "customer_id"]
    assert [(line.key, line.exact.amount_units) for line in by_member.lines] == sorted(
        (cid, day) for cid in unified
    )
    trend = container.read(
        lambda conn, now: bill_service.expenditure_trend(conn, master.id, months=1, now=now)
    )
    assert [t.amount_units for t in trend] == [3 * day]
    export = container.read(lambda conn, _now: bill_export.plan_export(conn, master.id, "2026-03"))
    with container.db.read() as conn:
        text = "".join(chunk for chunk, _ in bill_export._chunks(conn, export, 100))
    assert text.count(u1.id) == 24 and text.count(u2.id) == 24 and ind.id not in text
    # The master may look at one member's own records, the independent one's too.
    assert len(records(container, master.id, member_id=ind.id)) == 24
    assert {r.customer_id for r in records(container, master.id, member_id=u1.id)} == {u1.id}
    # A member sees only its own; another member's id is an unknown one.
    assert {r.customer_id for r in records(container, u2.id)} == {u2.id}
    for viewer, other in ((u1.id, u2.id), (u2.id, master.id), (ind.id, u1.id)):
        with pytest.raises(CloudbillError) as hidden:
            records(container, viewer, member_id=other)
        assert hidden.value.code is ErrorCode.CUSTOMER_NOT_FOUND

    # The March bill is the master's and holds its members' usage; members get none.
    go_to(container, MARCH_BILL_AT + timedelta(minutes=30))
    run_due(container)
    [march] = bills(container, master.id)
    assert march.amount_units == 3 * day and march.status is BillStatus.UNPAID
    assert bills(container, u1.id) == [] and bills(container, u2.id) == []

    # April: two hours of every VM, on the master's credit again.
    april = datetime(2026, 4, 10, 1, tzinfo=UTC)
    go_to(container, april + timedelta(hours=3))
    meter(container, *(r for rid in ("vm-m", "vm-u1", "vm-u2", "vm-i")
                       for r in hours_of(rid, april, 2)))  # fmt: skip
    run_due(container)

    # The March bill goes overdue: the master is in arrears, and so are its unified members'
    # resources, from the due date; the independent member's keep running.
    go_to(container, MARCH_DUE_AT + timedelta(hours=5))
    run_due(container)
    assert figures(container, master.id).arrears_since == MARCH_DUE_AT
    assert not figures(container, u1.id).in_arrears  # the master's arrears, not its own
    with pytest.raises(CloudbillError) as refused:  # ... which refuse its new fees all the same
        register(container, u1.id, "vm-u1-new")
    assert refused.value.code is ErrorCode.CUSTOMER_IN_ARREARS
    register(container, ind.id, "vm-i-new")  # the independent member pays itself
    assert statuses(container) == {
        "vm-m": "grace", "vm-u1": "grace", "vm-u2": "grace", "vm-i": "normal",
        "vm-i-new": "normal",
    }  # fmt: skip
    # After the grace period: frozen, all three; the April bill is issued meanwhile.
    go_to(container, MARCH_DUE_AT + timedelta(days=15, hours=1))
    run_due(container)
    assert statuses(container) == {
        "vm-m": "frozen", "vm-u1": "frozen", "vm-u2": "frozen", "vm-i": "normal",
        "vm-i-new": "normal",
    }  # fmt: skip
    march, april_bill = bills(container, master.id)
    assert march.status is BillStatus.OVERDUE
    assert april_bill.amount_units == 3 * units(2 * HOURLY)
    assert april_bill.status is BillStatus.UNPAID

    # One top-up of the master: the overdue March bill first, then the oldest after it.
    paid = 3 * day + units("0.10")
    cents = -(-paid // units("0.01"))  # rounded up to a whole cent
    amount = f"{cents // 100}.{cents % 100:02d}"
    topup(container, master.id, amount, "master-pays")
    march, april_bill = bills(container, master.id)
    assert march.status is BillStatus.PAID
    assert april_bill.outstanding_units == april_bill.amount_units - (units(amount) - 3 * day)
    assert not figures(container, master.id).in_arrears
    assert statuses(container) == {
        "vm-m": "normal", "vm-u1": "normal", "vm-u2": "normal", "vm-i": "normal",
        "vm-i-new": "normal",
    }  # fmt: skip
    assert_books_balance(container)

    # Disassociated: the old master no longer sees u2's records, u2 still sees its own.
    disassociate(container, links[u2.id], at=container.now())
    assert {r.customer_id for r in records(container, master.id)} == {master.id, u1.id}
    with pytest.raises(CloudbillError) as gone:
        records(container, master.id, member_id=u2.id)
    assert gone.value.code is ErrorCode.CUSTOMER_NOT_FOUND
    assert len(records(container, u2.id)) == 26
    # ... and it may top up again, for its own spending from now on.
    topup(container, u2.id, "1.00", "u2-on-its-own")
    assert figures(container, u2.id).cash_balance_units == units("1.00")
    assert_books_balance(container)
