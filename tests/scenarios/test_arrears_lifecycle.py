"""The seeds' story (CSS / GES / GeminiDB HBase arrears pages) on the simulated clock.

A prepaid customer with a pay-per-use CSS cluster and its EIP runs out of money: the resources
enter the grace period and keep being billed (charges become debt); after 15 days they are
frozen (no usage accepted, nothing billed); after 15 more they are released. In a second run the
customer tops up during retention: the debt is written off to the cent and everything unfreezes
at once. A yearly/monthly resource keeps running throughout.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from cloudbill.customers import service as customers
from cloudbill.ingest import service as ingest
from cloudbill.ingest.model import UsageInput
from cloudbill.kernel.errors import CloudbillError
from cloudbill.resources import service as resources
from cloudbill.resources.model import ResourceInput
from cloudbill.store.schema import fee_record, outbox_event
from cloudbill.worker.jobs import run_due

from ..conftest import T0
from ..helpers import assert_books_balance, created_before, new_customer
from .test_settlement import advance, figures, topup, units

CSS = ("hws.resource.type.css", "ess.spec-4u8g")
EIP = ("hws.resource.type.bandwidth", "bandwidth_1m")


def register(container, customer_id, rid, kind, parent=None, mode="pay_per_use", expire_at=None):  # type: ignore[no-untyped-def]
    data = ResourceInput(
        customer_id=customer_id,
        resource_type=kind[0],
        spec=kind[1],
        billing_mode=mode,
        region="ap-southeast-1",
        name=rid,
        id=rid,
        parent_id=parent,
        expire_at=expire_at,
    )
    return container.write(
        lambda conn, now: resources.register(conn, created_before(data, now), now=now)
    )[0]


def meter_day(container, day: int) -> None:
    """A day of both resources running: [T0 + day, T0 + day + 1)."""
    start, end = T0 + timedelta(days=day), T0 + timedelta(days=day + 1)
    batch = [
        UsageInput(f"{rid}-d{day}", rid, "duration", "24", start, end, "h")
        for rid in ("css-1", "eip-1")
    ]
    container.write(lambda conn, now: ingest.ingest_batch(conn, batch, now=now))


def status(container, rid: str) -> str:
    return container.read(lambda conn, _now: str(resources.get(conn, rid).status))


def events(container) -> list[tuple[str, str]]:
    with container.db.read() as conn:
        return conn.execute(
            select(outbox_event.c.topic, outbox_event.c.subject_id).order_by(outbox_event.c.id)
        ).all()


def day_cost() -> int:
    """One day of the cluster (ess.spec-4u8g) and its 1 Mbit/s EIP, from the catalog."""
    from cloudbill.catalog.index import CatalogIndex
    from cloudbill.catalog.loader import DEFAULT_CATALOG_PATH, read_file

    index = CatalogIndex(read_file(DEFAULT_CATALOG_PATH))
    hourly = sum(
        index.spec(*kind).spec.prices["USD"].pay_per_use["duration"].price for kind in (CSS, EIP)
    )
    return units(str(hourly * 24))


@pytest.fixture
def story(container):  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    topup(container, customer.id, "1.00", "seed")  # less than a day of the cluster
    register(container, customer.id, "css-1", CSS)
    register(container, customer.id, "eip-1", EIP, parent="css-1")
    register(
        container,
        customer.id,
        "ym-1",
        ("hws.resource.type.vm", "s6.large.2"),
        mode="yearly_monthly",
        expire_at=T0 + timedelta(days=365),
    )
    advance(container, days=1, minutes=16)  # day 0 has ended, and its last hour is due
    meter_day(container, 0)
    run_due(container)
    return customer


def test_out_of_money_grace_frozen_released(container, story) -> None:  # type: ignore[no-untyped-def]
    cid = story.id
    after_day0 = figures(container, cid)
    assert after_day0.in_arrears and after_day0.cash_balance_units == 0
    assert after_day0.debt_units == day_cost() - units("1.00")
    arrears_at = after_day0.arrears_since
    assert (status(container, "css-1"), status(container, "eip-1"), status(container, "ym-1")) == (
        "grace",
        "grace",
        "normal",
    )
    with pytest.raises(CloudbillError) as refused:  # a fee-incurring operation
        register(container, cid, "vm-new", ("hws.resource.type.vm", "s6.small.1"))
    assert refused.value.code == "CUSTOMER_IN_ARREARS"

    # grace: still running, still billed; the charges become debt
    advance(container, days=13)
    for day in range(1, 14):
        meter_day(container, day)
    run_due(container)
    assert status(container, "css-1") == "grace"
    assert figures(container, cid).debt_units == 14 * day_cost() - units("1.00")

    # 15 days after arrears began (not after the last payment): frozen; no usage accepted
    now = container.now()
    advance(container, seconds=int((arrears_at + timedelta(days=15) - now).total_seconds()) - 1)
    run_due(container)
    assert status(container, "css-1") == "grace"
    advance(container, seconds=1)
    run_due(container)
    assert (status(container, "css-1"), status(container, "eip-1")) == ("frozen", "frozen")
    # The meter's last day came in after the freeze; it ended before it: billed (as debt)
    debt_before, frozen_at = figures(container, cid).debt_units, container.now()
    meter_day(container, 15)
    advance(container, hours=1)  # the next run bills late usage
    run_due(container)
    assert figures(container, cid).debt_units == debt_before + day_cost()
    # ... but usage from after the freeze is refused
    with pytest.raises(CloudbillError) as rejected:
        after = [UsageInput("css-1-after", "css-1", "duration", "30", frozen_at + timedelta(
            minutes=30), frozen_at + timedelta(hours=1), "min")]  # fmt: skip
        container.write(lambda conn, now: ingest.ingest_batch(conn, after, now=now))
    assert rejected.value.details["rejected"][0]["code"] == "RESOURCE_FROZEN"
    with container.db.read() as conn:
        fees_before = conn.execute(select(func.count()).select_from(fee_record)).scalar_one()

    # retention: nothing billed; after 15 more days: released, for good
    advance(container, days=15)
    run_due(container)
    assert (status(container, "css-1"), status(container, "eip-1"), status(container, "ym-1")) == (
        "released",
        "released",
        "normal",
    )
    with container.db.read() as conn:
        assert (
            conn.execute(select(func.count()).select_from(fee_record)).scalar_one() == fees_before
        )
    history = container.read(lambda conn, _now: resources.history(conn, "css-1"))
    assert [(h.to_status, h.at) for h in history][1:] == [
        ("grace", arrears_at),
        ("frozen", arrears_at + timedelta(days=15)),
        ("released", arrears_at + timedelta(days=30)),
    ]
    topics = [t for t, subject in events(container) if subject in ("css-1", "eip-1")]
    assert topics.count("resource.frozen") == 2 and topics.count("resource.released") == 2
    # a top-up after release pays the debt, but released is terminal
    topup(container, cid, "1000.00", "late-pay")
    assert status(container, "css-1") == "released"
    run_due(container)
    assert status(container, "css-1") == "released"
    assert_books_balance(container)


def test_a_top_up_during_retention_unfreezes_at_once(container, story) -> None:  # type: ignore[no-untyped-def]
    cid = story.id
    advance(container, days=20)  # frozen since day 15 of arrears
    run_due(container)
    assert status(container, "css-1") == "frozen"
    debt = figures(container, cid).debt_units
    assert debt == day_cost() - units("1.00")
    with pytest.raises(CloudbillError):
        container.write(
            lambda conn, now: customers.withdraw(conn, cid, "0.01", reference="w", now=now)
        )
    # a partial payment does not restart anything: still frozen, deadlines unchanged
    container.write(lambda conn, now: customers.topup(conn, cid, "0.01", reference="part", now=now))
    assert status(container, "css-1") == "frozen"
    assert figures(container, cid).debt_units == debt - units("0.01")
    # paying the rest unfreezes at once, in the same transaction as the top-up
    rest = figures(container, cid).debt_units
    cents = -(-rest // units("0.01"))  # the debt rounded up to a whole cent
    amount = f"{cents // 100}.{cents % 100:02d}"
    container.write(lambda conn, now: customers.topup(conn, cid, amount, reference="full", now=now))
    after = figures(container, cid)
    assert (after.debt_units, after.in_arrears) == (0, False)
    assert after.cash_balance_units == cents * units("0.01") - rest  # written off to the cent
    assert (status(container, "css-1"), status(container, "eip-1")) == ("normal", "normal")
    topics = [t for t, _ in events(container)]
    assert topics[-3:] == ["resource.unfrozen", "resource.unfrozen", "customer.arrears_cleared"]
    assert run_due(container).transitions == []  # nothing more to do
    assert_books_balance(container)
