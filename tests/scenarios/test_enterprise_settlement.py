"""Unified accounting in hourly settlement, rule by rule (issue 18, item 2): a unified
member's fees are priced under the master's discounts and paid in the master's deduction order
(its cash coupon, cash, then debt, which puts the master, not the member, in arrears); hours
before the member joined and after it left are its own; verify passes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from cloudbill.store.schema import fee_record
from cloudbill.worker.jobs import settle_due

from ..conftest import T0
from ..enterprise_fixtures import associate, disassociate
from ..helpers import assert_books_balance, new_customer
from .test_settlement import advance, figures, hour, meter, register, topup, units
from .test_settlement_benefits import coupon


def fee_rows(container, customer_id):  # type: ignore[no-untyped-def]
    with container.db.read() as conn:
        return conn.execute(
            select(fee_record)
            .where(fee_record.c.customer_id == customer_id)
            .order_by(fee_record.c.hour_start)
        ).all()


def test_the_masters_discounts_coupons_cash_then_debt_pay_a_members_fees(container) -> None:  # type: ignore[no-untyped-def]
    master = new_customer(container, "master", level=2)  # the default catalog: 5% off
    member = new_customer(container, "member")  # level 0: no discount of its own
    topup(container, master.id, "0.05", "master-seed")
    topup(container, member.id, "10.00", "member-own")
    coupon(container, master.id, "master-gift", "0.05")
    register(container, member.id, "vm-1")
    associate(container, master.id, member.id, "unified", at=T0.replace(hour=7))
    # 06:00 is before it joined; 07:00 and 08:00 are the master's to pay.
    meter(container, *[(f"r{h}", "vm-1", "duration", "1", hour(h), hour(h + 1), "h")
                       for h in (6, 7, 8)])  # fmt: skip
    advance(container, hours=1)
    settle_due(container)
    own, first, second = fee_rows(container, member.id)
    assert (own.payer_id, own.discount_units, own.cash_units) == (None, 0, units("0.0781"))
    discounted = units("0.0781") - units("0.003905")
    for row in (first, second):
        assert row.payer_id == master.id
        assert row.discount_units == units("0.003905") and row.amount_units == discounted
    # The master's coupon first, then its cash, then its debt; none of the member's balance.
    assert (first.coupon_units, first.cash_units) == (units("0.05"), discounted - units("0.05"))
    cash_left = units("0.05") - (discounted - units("0.05"))
    assert (second.cash_units, second.debt_units) == (cash_left, discounted - cash_left)
    assert figures(container, member.id).cash_balance_units == units("10.00") - units("0.0781")
    assert not figures(container, member.id).in_arrears
    masters = figures(container, master.id)
    assert masters.in_arrears and masters.debt_units == discounted - cash_left
    assert_books_balance(container)


def test_hours_after_disassociation_are_the_members_own(container) -> None:  # type: ignore[no-untyped-def]
    master = new_customer(container, "master")
    member = new_customer(container, "member")
    topup(container, master.id, "10.00", "master-seed")
    register(container, member.id, "vm-1")
    link = associate(container, master.id, member.id, "unified", at=T0 - timedelta(days=1))
    disassociate(container, link, at=T0.replace(hour=8))
    topup(container, member.id, "1.00", "member-own-again")  # no longer refused
    meter(container, *[(f"r{h}", "vm-1", "duration", "1", hour(h), hour(h + 1), "h")
                       for h in (7, 8)])  # fmt: skip
    advance(container, hours=1)
    settle_due(container)
    paid_by_master, own = fee_rows(container, member.id)
    assert (paid_by_master.payer_id, paid_by_master.cash_units) == (master.id, units("0.0781"))
    assert (own.payer_id, own.cash_units) == (None, units("0.0781"))
    assert figures(container, master.id).cash_balance_units == units("10.00") - units("0.0781")
    assert figures(container, member.id).cash_balance_units == units("1.00") - units("0.0781")
    assert_books_balance(container)
