"""Review of the merge of unified accounting into the column-wise settlement (f80c775).

Entries are keyed (consumer, payer); a payer's entries share its wallet; a consumer's tiers run
across its entries; unusual entries are priced line by line together with everything sharing
their payer or consumer; one transfer per payer (and shard). These tests pin what must hold: a
member with lines of two payers in one run, a master paying for two members and itself while
running out of money, unusual members next to ordinary ones, and sharded PostgreSQL runs;
`verify` passes after each."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from cloudbill.kernel.periods import hour_floor
from cloudbill.settle import holds
from cloudbill.settle.shards import shard_of
from cloudbill.store.schema import (
    cash_coupon,
    coupon_usage,
    fee_record,
    ledger_transaction,
    settlement_run,
    usage_record,
)
from cloudbill.worker.jobs import settle_due

from ..conftest import T0, make_container
from ..enterprise_fixtures import associate, disassociate
from ..helpers import assert_books_balance, new_customer
from .test_settlement import (
    TRAFFIC,
    VM,
    advance,
    fees,
    figures,
    hour,
    meter,
    register,
    topup,
    units,
)
from .test_settlement_benefits import coupon
from .test_settlement_columns import _dear_vm
from .test_settlement_isolation import _catalog_without, _default_catalog

VM_FEE = units("0.0781")


def _open_holds(container):  # type: ignore[no-untyped-def]
    return container.read(lambda conn, _now: holds.open_holds(conn))


def _master_after(container, member_id: str, name: str = "master"):  # type: ignore[no-untyped-def]
    """A master whose id sorts before `member_id`: the entry (member, master) then comes
    before (member, member) in key order."""
    for n in range(200):
        master = new_customer(container, f"{name}-{n}")
        if master.id < member_id:
            return master
    raise AssertionError("no id sorted before the member's")


def _dear_usage(container, customer_id: str, rids: list[str], hours: int = 20) -> None:  # type: ignore[no-untyped-def]
    """`hours` VM-hours at 1e9 USD/h per resource in the 07:00 hour (2e18 units each for 20)."""
    start = T0.replace(hour=7)
    with container.db.write() as conn:  # as stored before ingestion bounded quantities
        conn.execute(insert(usage_record), [
            {"record_id": f"dear-{rid}", "payload_hash": "x" * 32, "customer_id": customer_id,
             "resource_id": rid, "usage_type": "duration", "quantity": str(hours), "unit": "h",
             "pricing_unit": "h", "quantity_e10": hours * 10**10, "start_at": start,
             "end_at": start + timedelta(minutes=30), "first_hour": hour_floor(start),
             "last_hour": hour_floor(start), "received_at": T0}
            for rid in rids
        ])  # fmt: skip


# --- a member with lines of two payers in one run --------------------------------------------


def test_a_members_late_own_hour_and_its_masters_hour_in_one_run_tiers_counted_once(
    container,
) -> None:  # type: ignore[no-untyped-def]
    """The member joins at 08:00. Its 07:00 traffic arrives late and is settled in the run of
    08:00 together with 08:00's: 07:00 is its own to pay, 08:00 the master's. The month's tiers
    run once, in the order of the hours (as for any customer): 07:00's 200 GB fill the first
    tier (10,240 GB at 0.12) before 08:00's 1,000 GB."""
    member = new_customer(container, "member")
    master = _master_after(container, member.id)
    topup(container, member.id, "5000.00", "member-own")
    topup(container, master.id, "5000.00", "master-seed")
    register(container, member.id, "eip-1", TRAFFIC)
    associate(container, master.id, member.id, "unified", at=T0.replace(hour=8))
    meter(container, ("t6", "eip-1", "upflow", "10000", hour(6), hour(7), "GB"))
    settle_due(container)  # 06:00 and 07:00
    meter(container, ("t7", "eip-1", "upflow", "200", hour(7), hour(8), "GB"),  # late
          ("t8", "eip-1", "upflow", "1000", hour(8), hour(9), "GB"))  # fmt: skip
    advance(container, hours=1)
    settle_due(container)  # 08:00 and the late 07:00
    rows = fees(container, customer_id=member.id)
    got = [(r.hour_start.hour, r.is_late, r.payer_id, r.amount_units) for r in rows]
    assert got == [
        (6, False, None, units("1200.00")),
        (7, True, None, units("24.00")),  # 200 GB at 0.12
        (8, False, master.id, units("4.80") + units("96.00")),  # 40 GB at 0.12, 960 at 0.10
    ]
    assert sum(r.amount_units for r in rows[1:]) == units("124.80")  # tiers counted once
    assert figures(container, member.id).cash_balance_units == units("5000.00") - units("1224.00")
    assert figures(container, master.id).cash_balance_units == units("5000.00") - units("100.80")
    assert_books_balance(container)


def test_a_members_two_payers_in_one_run_are_each_paid_by_their_own_books(container) -> None:  # type: ignore[no-untyped-def]
    """The same shape without tiers: the late 07:00 VM hour from the member's cash, the 08:00
    hour from the master's, under the master's discount (level 2: 5% off)."""
    member = new_customer(container, "member")
    master = new_customer(container, "master", level=2)
    topup(container, member.id, "1.00", "member-own")
    topup(container, master.id, "1.00", "master-seed")
    register(container, member.id, "vm-1")
    associate(container, master.id, member.id, "unified", at=T0.replace(hour=8))
    settle_due(container)
    meter(container, ("v7", "vm-1", "duration", "1", hour(7), hour(8), "h"),  # late
          ("v8", "vm-1", "duration", "1", hour(8), hour(9), "h"))  # fmt: skip
    advance(container, hours=1)
    settle_due(container)
    own, paid = fees(container, customer_id=member.id)
    assert (own.hour_start.hour, own.payer_id, own.cash_units, own.discount_units) == (
        7, None, VM_FEE, 0,
    )  # fmt: skip
    discounted = VM_FEE - units("0.003905")
    assert (paid.hour_start.hour, paid.payer_id, paid.cash_units) == (8, master.id, discounted)
    assert figures(container, member.id).cash_balance_units == units("1.00") - VM_FEE
    assert figures(container, master.id).cash_balance_units == units("1.00") - discounted
    assert_books_balance(container)


# --- a master paying for two members and itself, running out of money -------------------------


def test_a_master_pays_two_members_and_itself_coupon_once_then_cash_then_debt(container) -> None:  # type: ignore[no-untyped-def]
    master = new_customer(container, "master")
    members = [new_customer(container, f"member-{n}") for n in range(2)]
    topup(container, master.id, "0.10", "master-seed")
    coupon(container, master.id, "master-gift", "0.05")
    for n, c in enumerate([master, *members]):
        register(container, c.id, f"vm-{n}")
    for m in members:
        topup(container, m.id, "1.00", f"own-{m.id}")
        associate(container, master.id, m.id, "unified", at=T0 - timedelta(days=1))
    meter(container, *[(f"r{n}-{h}", f"vm-{n}", "duration", "1", hour(h), hour(h + 1), "h")
                       for n in range(3) for h in (7, 8)])  # fmt: skip
    settle_due(container)  # 07:00
    rows = fees(container)
    assert len(rows) == 3 and {r.customer_id for r in rows} == {master.id, *(m.id for m in members)}
    assert all(r.amount_units == VM_FEE for r in rows)
    assert sum(r.coupon_units for r in rows) == units("0.05")
    assert sum(r.cash_units for r in rows) == units("0.10")
    assert sum(r.debt_units for r in rows) == 3 * VM_FEE - units("0.15")
    # in pay order over the one wallet (the master's own first, then its members by id):
    # coupon, then cash, then debt
    ordered = sorted(rows, key=lambda r: (r.customer_id != master.id, r.customer_id))
    stage = [(r.coupon_units > 0, r.cash_units > 0, r.debt_units > 0) for r in ordered]
    assert stage[0][0] and not stage[0][2] and stage[-1][2] and not stage[-1][0]
    for r in rows:
        assert r.payer_id == (None if r.customer_id == master.id else master.id)
    masters = figures(container, master.id)
    assert masters.cash_balance_units == 0 and masters.in_arrears
    assert masters.debt_units == 3 * VM_FEE - units("0.15")
    for m in members:
        assert not figures(container, m.id).in_arrears
        assert figures(container, m.id).cash_balance_units == units("1.00")
    with container.db.read() as conn:
        used = conn.execute(
            select(func.sum(coupon_usage.c.amount_units)).where(coupon_usage.c.kind == "used")
        ).scalar_one()
        left = conn.execute(select(cash_coupon.c.balance_units)).scalar_one()
        transfers = (
            conn.execute(
                select(ledger_transaction.c.idempotency_key).where(
                    ledger_transaction.c.idempotency_key.like("settle:%")
                )
            )
            .scalars()
            .all()
        )
    assert used == units("0.05") and left == 0
    assert transfers == [f"settle:{T0.replace(hour=7).isoformat()}:{master.id}"]
    assert_books_balance(container)

    advance(container, hours=1)
    settle_due(container)  # 08:00: all debt, the coupon is not used again
    eight = [r for r in fees(container) if r.hour_start.hour == 8]
    assert len(eight) == 3 and all(r.debt_units == VM_FEE for r in eight)
    assert figures(container, master.id).debt_units == 6 * VM_FEE - units("0.15")
    for m in members:
        assert not figures(container, m.id).in_arrears
    assert_books_balance(container)


def test_a_masters_coupon_minimum_spend_counts_its_members_fees_in_the_hour(container) -> None:  # type: ignore[no-untyped-def]
    """The master's coupon (minimum spend 0.20) is usable when the hour's fees it pays reach
    0.20: its own VM hour and its two members' (3 x 0.0781 = 0.2343), as ent-unified deducted
    a payer's whole hour at once. Each entry alone (0.0781) does not reach it."""
    master = new_customer(container, "master")
    members = [new_customer(container, f"member-{n}") for n in range(2)]
    topup(container, master.id, "1.00", "master-seed")
    coupon(container, master.id, "c-min", "1.00", min_spend="0.20")
    for n, c in enumerate([master, *members]):
        register(container, c.id, f"vm-{n}")
    for m in members:
        associate(container, master.id, m.id, "unified", at=T0 - timedelta(days=1))
    meter(container, *[(f"r{n}", f"vm-{n}", "duration", "1", hour(7), hour(8), "h")
                       for n in range(3)])  # fmt: skip
    settle_due(container)
    rows = fees(container)
    assert len(rows) == 3
    assert sum(r.coupon_units for r in rows) == 3 * VM_FEE
    assert figures(container, master.id).cash_balance_units == units("1.00")
    assert_books_balance(container)


def test_a_master_pays_its_own_lines_first_then_its_members_by_id(container) -> None:  # type: ignore[no-untyped-def]
    """ent-unified's order over a payer's wallet (settle/pricing.py _groups there): the
    payer's own lines first, then its members' by member id, whatever the ids. Here the
    master's id sorts after its members': its own hour must still take the cash first."""
    members = [new_customer(container, f"member-{n}") for n in range(2)]
    for n in range(200):
        master = new_customer(container, f"master-{n}")
        if master.id > max(m.id for m in members):
            break
    topup(container, master.id, "0.10", "master-seed")
    for n, c in enumerate([master, *members]):
        register(container, c.id, f"vm-{n}")
    for m in members:
        associate(container, master.id, m.id, "unified", at=T0 - timedelta(days=1))
    meter(container, *[(f"r{n}", f"vm-{n}", "duration", "1", hour(7), hour(8), "h")
                       for n in range(3)])  # fmt: skip
    settle_due(container)
    by = {r.customer_id: r for r in fees(container)}
    first, second = sorted(m.id for m in members)
    assert (by[master.id].cash_units, by[master.id].debt_units) == (VM_FEE, 0)
    assert by[first].cash_units == units("0.10") - VM_FEE
    assert by[second].debt_units == VM_FEE
    assert_books_balance(container)


# --- an unusual member next to ordinary members of the same master ---------------------------


def test_a_member_with_a_lost_price_is_held_and_the_master_pays_only_for_the_others(
    container,
) -> None:  # type: ignore[no-untyped-def]
    master = new_customer(container, "master")
    bad, good = new_customer(container, "bad"), new_customer(container, "good")
    topup(container, master.id, "1.00", "master-seed")
    coupon(container, master.id, "master-gift", "0.03")
    register(container, master.id, "vm-master", VM)
    register(container, good.id, "vm-good", VM)
    register(container, bad.id, "vm-bad", ("hws.resource.type.vm", "s6.small.1"))
    for m in (bad, good):
        associate(container, master.id, m.id, "unified", at=T0 - timedelta(days=1))
    meter(container, ("m7", "vm-master", "duration", "1", hour(7), hour(8), "h"),
          ("g7", "vm-good", "duration", "1", hour(7), hour(8), "h"),
          ("b7", "vm-bad", "duration", "1", hour(7), hour(8), "h"))  # fmt: skip
    _catalog_without(container, "s6.small.1", "lost-price")
    settle_due(container)
    assert sorted(f.customer_id for f in fees(container)) == sorted([master.id, good.id])
    held = _open_holds(container)
    assert list(held) == [bad.id] and held[bad.id].code == "CATALOG_ITEM_NOT_FOUND"
    assert sum(f.coupon_units for f in fees(container)) == units("0.03")
    assert figures(container, master.id).cash_balance_units == units("1.00") - (
        2 * VM_FEE - units("0.03")
    )
    assert_books_balance(container)

    _default_catalog(container, "price-back")
    advance(container, hours=1)
    settle_due(container)
    assert _open_holds(container) == {}
    late = fees(container, customer_id=bad.id)
    assert len(late) == 1 and late[0].payer_id == master.id and late[0].is_late
    assert figures(container, master.id).cash_balance_units == units("1.00") - (
        2 * VM_FEE - units("0.03")
    ) - late[0].cash_units  # fmt: skip
    assert late[0].cash_units == late[0].amount_units  # the coupon was used up by the others
    assert sum(f.amount_units for f in fees(container)) == 2 * VM_FEE + late[0].amount_units
    assert_books_balance(container)


def test_a_member_past_int64_is_held_and_its_masters_other_member_is_billed(container) -> None:  # type: ignore[no-untyped-def]
    _dear_vm(container)
    master = new_customer(container, "master")
    big, small = new_customer(container, "big"), new_customer(container, "small")
    topup(container, master.id, "10.00", "master-seed")
    big_vms = [f"vm-big-{n}" for n in range(5)]
    for c, rid in [*((big, rid) for rid in big_vms), (small, "vm-small"), (master, "vm-m")]:
        register(container, c.id, rid, VM)
    for m in (big, small):
        associate(container, master.id, m.id, "unified", at=T0 - timedelta(days=1))
    meter(container, ("s7", "vm-small", "duration", "0.000000001", hour(7), hour(8), "h"),
          ("m7", "vm-m", "duration", "0.000000001", hour(7), hour(8), "h"))  # fmt: skip
    _dear_usage(container, big.id, big_vms)
    assert [r.hour.hour for r in settle_due(container)] == [7]
    assert sorted(f.customer_id for f in fees(container)) == sorted([small.id, master.id])
    held = _open_holds(container)
    assert list(held) == [big.id] and held[big.id].code == "AMOUNT_OUT_OF_RANGE"
    assert figures(container, master.id).cash_balance_units == units("10.00") - units("2.00")
    assert not figures(container, master.id).in_arrears
    assert_books_balance(container)


def test_two_members_each_within_int64_but_past_it_together_for_their_master(container) -> None:  # type: ignore[no-untyped-def]
    """Each member's hour (4 x 2e18 units) fits int64, the master's one transfer for both
    (1.6e19) does not: one of them must be held like any hour past int64, the run must not
    fail, and a customer with nothing to do with them must be billed on time."""
    _dear_vm(container)
    master = new_customer(container, "master")
    a, b = new_customer(container, "a"), new_customer(container, "b")
    other = new_customer(container, "other")
    topup(container, other.id, "10.00", "seed-other")
    register(container, other.id, "vm-other", VM)
    vms = {c.id: [f"vm-{c.name}-{n}" for n in range(4)] for c in (a, b)}
    for cid, rids in vms.items():
        for rid in rids:
            register(container, cid, rid, VM)
    for m in (a, b):
        associate(container, master.id, m.id, "unified", at=T0 - timedelta(days=1))
    meter(container, ("o7", "vm-other", "duration", "0.000000001", hour(7), hour(8), "h"))
    for cid, rids in vms.items():
        _dear_usage(container, cid, rids)
    assert [r.hour.hour for r in settle_due(container)] == [7]
    assert other.id in {f.customer_id for f in fees(container)}
    held = _open_holds(container)
    assert len(held) == 1 and set(held) <= {a.id, b.id}
    assert_books_balance(container)


def test_a_member_held_for_its_masters_currency_keeps_none_of_its_hour(container) -> None:  # type: ignore[no-untyped-def]
    """A member whose master keeps other books (CNY member, USD master: accounting.check_payable)
    is held. When its late own hour (before it joined) comes before its master-paid hour in key
    order, the own hour must not be billed while the member is held: once released, every
    record of it is billed exactly once."""
    master = new_customer(container, "master")
    for n in range(200):
        member = new_customer(container, f"member-{n}", currency="CNY")
        if member.id < master.id:  # (member, member) before (member, master)
            break
    topup(container, member.id, "10.00", "member-own")
    topup(container, master.id, "10.00", "master-seed")
    register(container, member.id, "vm-1")
    link = associate(container, master.id, member.id, "unified", at=T0.replace(hour=8))
    settle_due(container)
    meter(container, ("v7", "vm-1", "duration", "1", hour(7), hour(8), "h"),  # late, its own
          ("v8", "vm-1", "duration", "1", hour(8), hour(9), "h"))  # fmt: skip
    advance(container, hours=1)
    settle_due(container)
    held = _open_holds(container)
    assert list(held) == [member.id] and held[member.id].code == "CURRENCY_MISMATCH"
    # 07:00 was settled in its own run, before the member joined: its own, billed; the hour
    # its master should pay (08:00) is held, nothing of it kept
    own = fees(container, customer_id=member.id)
    assert [(r.hour_start.hour, r.payer_id) for r in own] == [(7, None)]
    assert_books_balance(container)

    disassociate(container, link, at=T0.replace(hour=8))
    advance(container, hours=1)
    settle_due(container)
    with container.db.read() as conn:
        billed = conn.execute(
            select(func.sum(fee_record.c.usage_e10)).where(fee_record.c.customer_id == member.id)
        ).scalar_one()
    assert billed == 2 * 10**10  # each record once
    assert_books_balance(container)


# --- PostgreSQL, settlement shards > 1 -------------------------------------------------------


@pytest.fixture
def sharded(postgres_database, monkeypatch) -> Iterator:  # type: ignore[no-untyped-def]
    from ..conftest import _truncate_postgres

    _truncate_postgres(postgres_database)
    monkeypatch.setenv("CLOUDBILL_SETTLEMENT_SHARDS", "2")
    c = make_container(postgres_database)
    assert c.settings.settlement_shards == 2
    yield c
    c.db.dispose()


def _in_other_shard(container, of_id: str, name: str):  # type: ignore[no-untyped-def]
    for n in range(200):
        c = new_customer(container, f"{name}-{n}")
        if shard_of(c.id, 2) != shard_of(of_id, 2):
            return c
    raise AssertionError("no customer in the other shard")


def test_sharded_master_and_members_in_other_shards_each_hour_once_keys_distinct(sharded) -> None:  # type: ignore[no-untyped-def]
    container = sharded
    master = new_customer(container, "master")
    member = _in_other_shard(container, master.id, "member")
    late_member = _in_other_shard(container, master.id, "late-member")
    topup(container, master.id, "0.20", "master-seed")
    coupon(container, master.id, "master-gift", "0.05")
    for n, c in enumerate((master, member, late_member)):
        register(container, c.id, f"vm-{n}")
    associate(container, master.id, member.id, "unified", at=T0 - timedelta(days=1))
    topup(container, late_member.id, "1.00", "late-own")
    associate(container, master.id, late_member.id, "unified", at=T0.replace(hour=8))
    meter(container, *[(f"r{n}-7", f"vm-{n}", "duration", "1", hour(7), hour(8), "h")
                       for n in range(2)])  # fmt: skip
    settle_due(container)  # 07:00, both shards
    meter(
        container,
        ("late-7", "vm-2", "duration", "1", hour(7), hour(8), "h"),
        *[(f"r{n}-8", f"vm-{n}", "duration", "1", hour(8), hour(9), "h") for n in range(3)],
    )
    advance(container, hours=1)
    settle_due(container)
    settle_due(container)  # nothing more
    with container.db.read() as conn:
        runs = conn.execute(select(settlement_run.c.hour_start, settlement_run.c.shard)).all()
        keys = (
            conn.execute(
                select(ledger_transaction.c.idempotency_key).where(
                    ledger_transaction.c.idempotency_key.like("settle:%")
                )
            )
            .scalars()
            .all()
        )
        billed = conn.execute(select(func.sum(fee_record.c.usage_e10))).scalar_one()
        metered = conn.execute(select(func.sum(usage_record.c.quantity_e10))).scalar_one()
    assert len(runs) == len(set(runs))  # each hour once per shard
    assert {s for _, s in runs} == {0, 1}
    assert len(keys) == len(set(keys))
    assert billed == metered
    rows = fees(container)
    assert len(rows) == 6
    by = {(r.customer_id, r.hour_start.hour): r for r in rows}
    assert by[(late_member.id, 7)].payer_id is None
    assert by[(late_member.id, 8)].payer_id == master.id
    assert by[(member.id, 7)].payer_id == master.id
    paid_by_master = [r for r in rows if r.customer_id == master.id or r.payer_id == master.id]
    assert len(paid_by_master) == 5
    assert sum(r.coupon_units for r in paid_by_master) == units("0.05")
    assert sum(r.cash_units for r in paid_by_master) == units("0.20")
    masters = figures(container, master.id)
    assert masters.cash_balance_units == 0
    assert masters.debt_units == 5 * VM_FEE - units("0.25") and masters.in_arrears
    assert figures(container, late_member.id).cash_balance_units == units("1.00") - VM_FEE
    for m in (member, late_member):
        assert not figures(container, m.id).in_arrears
    assert_books_balance(container)
