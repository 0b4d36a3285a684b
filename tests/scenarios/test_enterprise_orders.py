"""Unified accounting of yearly/monthly orders (issue 18, item 2): a unified member's purchase,
renewal and auto-renewal are paid by its master (the master's cash coupon, cash, credit) and
its unsubscription refund goes back to the master; the member's own old balance is untouched.
The records name the member as consumer and the master as payer; verify passes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from cloudbill.invoices import service as invoices
from cloudbill.invoices.model import Terms as InvoiceTerms
from cloudbill.store.schema import fee_record
from cloudbill.worker.jobs import run_due

from ..conftest import T0
from ..enterprise_fixtures import associate
from ..helpers import assert_books_balance, new_customer
from .test_orders import buy, check_order_adds_up, pay, set_clock
from .test_orders_changes import unsubscribe
from .test_orders_renewals import auto_renew, renew, resource
from .test_settlement import figures, topup, units
from .test_settlement_benefits import coupon


def cash(container, customer_id) -> int:  # type: ignore[no-untyped-def]
    return figures(container, customer_id).cash_balance_units


def payers(container, customer_id):  # type: ignore[no-untyped-def]
    with container.db.read() as conn:
        return conn.execute(
            select(fee_record.c.bill_type, fee_record.c.payer_id, fee_record.c.amount_units)
            .where(fee_record.c.customer_id == customer_id)
            .order_by(fee_record.c.id)
        ).all()


def test_a_unified_members_orders_are_paid_by_and_refunded_to_its_master(container) -> None:  # type: ignore[no-untyped-def]
    master = new_customer(container, "master", timezone="Asia/Shanghai")
    member = new_customer(container, "member", timezone="Asia/Shanghai")
    topup(container, master.id, "100.00", "master-seed")
    topup(container, member.id, "20.00", "member-own")  # before it joined: stays its own
    gift = coupon(container, master.id, "master-gift", "5.00", billing_modes=["yearly_monthly"])
    associate(container, master.id, member.id, "unified", at=T0)
    invoice_terms = InvoiceTerms.from_settings(container.settings)

    # Purchase: the master's coupon, then the master's cash.
    order = buy(container, member.id)
    paid = pay(container, member.id, order.id, coupons=[gift.id])
    check_order_adds_up(paid)
    assert (paid.coupon_units, paid.cash_units) == (units("5.00"), units("6.60"))
    assert cash(container, master.id) == units("93.40")
    assert cash(container, member.id) == units("20.00")
    rid = paid.lines[0].resource_id
    assert resource(container, rid).customer_id == member.id

    # A renewal, by hand: the master's cash again.
    renewal = renew(container, member.id, [rid])
    pay(container, member.id, renewal.id)
    assert cash(container, master.id) == units("93.40") - renewal.amount_units
    assert cash(container, member.id) == units("20.00")
    # Invoicing follows the money: the master invoices what it paid, the member nothing.
    paid_by = {
        cid: container.read(
            lambda conn, now, c=cid: invoices.customer_figures(conn, c, invoice_terms, now=now)
        ).net_paid_units
        for cid in (master.id, member.id)
    }
    assert paid_by == {master.id: units("6.60") + renewal.amount_units, member.id: 0}

    # Auto-renewal at expiry: made and paid by the job, from the master's cash.
    auto_renew(container, member.id, rid)
    before = cash(container, master.id)
    expiry = resource(container, rid).expire_at
    set_clock(container, expiry - timedelta(days=6))
    report = run_due(container)
    assert len(report.subscriptions.renewed) == 1
    assert resource(container, rid).expire_at > expiry
    assert cash(container, master.id) < before
    assert cash(container, member.id) == units("20.00")

    # Unsubscription: the refund goes back to the master, who paid.
    before = cash(container, master.id)
    refund = unsubscribe(container, member.id, [rid])
    assert refund.amount_units < 0
    assert cash(container, master.id) == before - refund.amount_units  # cash paid, cash back
    assert cash(container, member.id) == units("20.00")

    rows = payers(container, member.id)
    assert {bill_type for bill_type, _, _ in rows} >= {
        "new_purchase", "renewal", "auto_renewal", "unsubscription_refund"
    }  # fmt: skip
    assert {payer for _, payer, _ in rows} == {master.id}
    assert_books_balance(container)


def test_a_unified_members_orders_are_priced_under_the_masters_discounts(container) -> None:  # type: ignore[no-untyped-def]
    master = new_customer(container, "master", level=2)  # the default catalog: 5% off
    member = new_customer(container, "member")
    independent = new_customer(container, "independent")
    topup(container, master.id, "100.00", "master-seed")
    topup(container, independent.id, "100.00", "independent-seed")
    associate(container, master.id, member.id, "unified", at=T0)
    associate(container, master.id, independent.id, "independent", at=T0)
    assert buy(container, member.id).amount_units == units("11.02")  # 11.60 less 5%
    assert buy(container, independent.id).amount_units == units("11.60")  # its own terms
