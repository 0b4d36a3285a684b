"""Expenditure records of adjustments (what they are for, refusals that change nothing), and
`verify` catching money for services that the bills do not hold exactly."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from cloudbill.api.app import create_app
from cloudbill.bootstrap import Container
from cloudbill.customers import service as customers
from cloudbill.kernel.errors import CloudbillError, ErrorCode
from cloudbill.ledger import service as ledger
from cloudbill.ledger.model import AccountKind, Leg, Posting, TransactionKind
from cloudbill.ledger.verify import verify
from cloudbill.orders import service as orders
from cloudbill.resources import service as resources
from cloudbill.store.schema import fee_record, outbox_event

from ..helpers import assert_books_balance, new_customer, snapshot
from ..scenarios.test_orders import LARGE, SMALL, buy, pay, terms
from ..scenarios.test_settlement import register, topup, units

TOKEN = {"Authorization": "Bearer test-token"}


def adjust(container, customer_id, reference, direction="charge", amount="3.00", **attribution):  # type: ignore[no-untyped-def]
    return container.write(
        lambda conn, now: customers.adjust(
            conn,
            customer_id,
            amount,
            direction=direction,
            reason="by hand",
            reference=reference,
            attribution=resources.attribution(conn, customer_id, **attribution),
            now=now,
        )
    )


def change(container, customer_id, resource_id, spec):  # type: ignore[no-untyped-def]
    return container.write(
        lambda conn, now: orders.create_change(
            conn, customer_id, resource_id, new_spec=spec, terms=terms(container), now=now
        )
    )


def records(container, **where):  # type: ignore[no-untyped-def]
    with container.db.read() as conn:
        query = select(fee_record).order_by(fee_record.c.id)
        for column, value in where.items():
            query = query.where(fee_record.c[column] == value)
        return conn.execute(query).all()


def test_an_adjustment_is_billed_for_what_it_names(container: Container) -> None:
    acme = new_customer(container, "acme")
    topup(container, acme.id, "2.00", "seed")
    register(container, acme.id, "vm-1")
    adjust(container, acme.id, "a1", resource_id="vm-1")  # 2.00 from cash, 1.00 becomes debt
    adjust(container, acme.id, "a2", direction="credit", amount="1.50", service="ecs")
    adjust(container, acme.id, "a3", amount="0.25")
    charge, credit, bare = records(container, customer_id=acme.id)
    assert (charge.bill_type, charge.trade_id, charge.description) == ("deduction", "a1", "by hand")
    assert (charge.resource_id, charge.service, charge.billing_mode) == (
        "vm-1",
        "ecs",
        "pay_per_use",
    )
    assert (charge.amount_units, charge.cash_units, charge.debt_units) == (
        units("3.00"), units("2.00"), units("1.00"),
    )  # fmt: skip
    # the credit wrote off the debt first, then went to cash
    assert (credit.bill_type, credit.service, credit.resource_id) == ("compensation", "ecs", "")
    assert (credit.amount_units, credit.debt_units, credit.cash_units) == (
        -units("1.50"), -units("1.00"), -units("0.50"),
    )  # fmt: skip
    assert (bare.service, bare.billing_mode, bare.amount_units) == ("", "", units("0.25"))
    # a replay writes nothing more
    adjust(container, acme.id, "a1", resource_id="vm-1")
    assert len(records(container, customer_id=acme.id)) == 3
    assert_books_balance(container)


@pytest.mark.parametrize(
    ("attribution", "code"),
    [
        ({"resource_id": "nope"}, ErrorCode.RESOURCE_NOT_FOUND),
        ({"resource_id": "beta-vm"}, ErrorCode.RESOURCE_NOT_FOUND),  # another customer's
        ({"resource_id": "vm-1", "service": "evs"}, ErrorCode.INVALID_ARGUMENT),
        ({"resource_id": "vm-1", "billing_mode": "yearly_monthly"}, ErrorCode.INVALID_ARGUMENT),
        ({"service": "no-such-service"}, ErrorCode.CATALOG_ITEM_NOT_FOUND),
        ({"billing_mode": "monthly"}, ErrorCode.INVALID_ARGUMENT),
    ],
)
def test_an_adjustment_naming_what_it_cannot_be_for_changes_nothing(
    container: Container, attribution: dict[str, str], code: ErrorCode
) -> None:
    acme, beta = new_customer(container, "acme"), new_customer(container, "beta")
    register(container, acme.id, "vm-1")
    register(container, beta.id, "beta-vm")
    before = snapshot(container)
    with pytest.raises(CloudbillError) as err:
        adjust(container, acme.id, "bad", **attribution)
    assert err.value.code is code
    assert snapshot(container) == before


def test_the_operator_api_bills_an_adjustment_for_a_resource(container: Container) -> None:
    acme = new_customer(container, "acme")
    register(container, acme.id, "vm-1")
    client = TestClient(create_app(container))
    body = {"amount": "4.00", "direction": "charge", "reason": "SLA", "reference": "r1"}
    url = f"/operator/v1/customers/{acme.id}/adjustments"
    refused = client.post(url, json={**body, "resource_id": "nope"}, headers=TOKEN)
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "RESOURCE_NOT_FOUND"
    answer = client.post(url, json={**body, "resource_id": "vm-1"}, headers=TOKEN)
    assert answer.status_code == 201, answer.text
    fees = client.get(
        f"/operator/v1/customers/{acme.id}/fee-records?bill_type=adjustment", headers=TOKEN
    ).json()
    assert [
        (f["bill_type"], f["resource_id"], f["trade_id"], f["debt"]) for f in fees["items"]
    ] == [("deduction", "vm-1", "r1", "4.00")]


def test_verify_finds_money_for_services_the_bills_do_not_hold(container: Container) -> None:
    acme = new_customer(container, "acme")
    adjust(container, acme.id, "a1", direction="credit", amount="5.00")

    def post_unbilled(conn, now):  # type: ignore[no-untyped-def]
        cash = ledger.customer_accounts(conn, acme.id)[AccountKind.CASH]
        revenue = ledger.provider_account(conn, "USD", AccountKind.REVENUE, now=now)
        return ledger.post(
            conn,
            Posting(
                "sneaky",
                "h",
                TransactionKind.FEE,
                (Leg(cash.id, 100, "USD"), Leg(revenue.id, -100, "USD")),
                customer_id=acme.id,
            ),
            now=now,
        )

    posted = container.write(post_unbilled)
    with container.db.read() as conn:
        problems = verify(conn).problems
    (problem,) = [p for p in problems if p.startswith(f"transaction {posted.id} moved")]
    assert "(amount 100, coupon 0, cash 100, credit 0, debt 0)" in problem
    assert "fee records say amount 0, coupon 0, cash 0" in problem


def test_verify_finds_a_record_without_its_money(container: Container) -> None:
    acme = new_customer(container, "acme")
    adjust(container, acme.id, "a1", amount="1.00")
    (row,) = records(container)
    values = {k: v for k, v in row._mapping.items() if k != "id"}
    with container.db.write() as conn:  # the same line again, as another trade
        conn.execute(insert(fee_record).values({**values, "trade_id": "copy"}))
        conn.execute(
            insert(fee_record).values(
                {**values, "trade_id": "loose", "ledger_transaction_id": None}
            )
        )
    with container.db.read() as conn:
        problems = verify(conn).problems
    assert any("fee records say amount 200000000" in p for p in problems), problems
    assert any("without a transaction" in p for p in problems), problems


def test_a_refund_of_credit_already_repaid_is_billed_as_cash(container: Container) -> None:
    """A post-paid customer buys on credit, repays, then downgrades: the difference cannot go
    back off the unpaid book (nothing is owed) and comes back as cash; the bill says so."""
    beta = new_customer(container, "beta", payment_mode="postpaid", credit_limit="100")
    order = pay(container, beta.id, buy(container, beta.id, spec=LARGE).id)
    assert order.credit_units == units("39.10")
    topup(container, beta.id, "50.00", "repay")
    rid = order.lines[0].resource_id
    down = change(container, beta.id, rid, SMALL)
    (record,) = records(container, trade_id=down.id)
    assert record.bill_type == "downgrade_refund"
    assert record.amount_units == down.amount_units < 0
    assert (record.cash_units, record.credit_units) == (down.amount_units, 0)
    assert_books_balance(container)  # verify compares each payment column with its book


def test_an_adjustment_retried_after_its_resource_changed_answers_the_first(
    container: Container,
) -> None:
    acme = new_customer(container, "acme")
    topup(container, acme.id, "100.00", "seed")
    order = pay(container, acme.id, buy(container, acme.id, spec=LARGE).id)
    rid = order.lines[0].resource_id
    first = adjust(container, acme.id, "a1", resource_id=rid)
    change(container, acme.id, rid, SMALL)  # the resource's spec is not what it was
    again = adjust(container, acme.id, "a1", resource_id=rid)
    assert again.id == first.id and again.replayed
    assert len(records(container, trade_id="a1")) == 1


def test_a_charge_that_creates_debt_starts_arrears_with_its_event(container: Container) -> None:
    customer = new_customer(container)
    topup(container, customer.id, "1.00", "seed")
    adjust(container, customer.id, "c1", amount="0.50")  # paid from cash: no arrears
    adjust(container, customer.id, "c2", amount="2.00")  # 0.50 cash, 1.50 debt
    adjust(container, customer.id, "c2", amount="2.00")  # a retry: nothing new
    adjust(container, customer.id, "c3", amount="1.00")  # already in arrears: no second event
    with container.db.read() as conn:
        events = conn.execute(
            select(outbox_event.c.topic, outbox_event.c.payload).where(
                outbox_event.c.topic == "customer.arrears_started"
            )
        ).all()
    assert len(events) == 1
    payload = json.loads(events[0].payload)
    assert payload["reason"] == "adjustment" and payload["debt_units"] == units("1.50")
    figures = container.read(
        lambda conn, _now: customers.overview(conn, customers.get(conn, customer.id))
    )
    assert figures.in_arrears
