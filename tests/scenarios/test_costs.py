"""Cost analysis on the simulated clock (costs/), compared with the fee records it reads: a
yearly VM bought with a coupon and cash, a pay-per-use VM metered, then the yearly VM
unsubscribed ten days later. Original costs are the fee records on their local day; amortized
costs spread the purchase over its 365 days, with the refund negative and the handling fee on
the day of the unsubscription; group-bys and include/exclude filters match the records."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

import pytest

from cloudbill.costs import service as costs
from cloudbill.costs.model import CostReport
from cloudbill.kernel.errors import CloudbillError, ErrorCode
from cloudbill.kernel.periods import zone
from cloudbill.worker.jobs import settle_due

from ..conftest import T0
from ..helpers import assert_books_balance, new_customer
from .test_orders import buy, pay
from .test_orders_changes import unsubscribe
from .test_settlement import advance, fees, hour, meter, register, topup
from .test_settlement_benefits import coupon

TZ = "Asia/Shanghai"


def report(container, customer_id, **query) -> CostReport:  # type: ignore[no-untyped-def]
    filters = query.pop("filters", ())
    built = costs.query_of(**query, filters=[costs.filter_of(*f) for f in filters])
    return container.read(lambda conn, _now: costs.costs(conn, customer_id, built))


def by_key(r: CostReport) -> dict[tuple[str, ...], dict[str, int]]:
    return {
        row.key: {label: f.amount_units for label, f in row.buckets.items() if f.amount_units}
        for row in r.rows
    }


def expected(records, *keys, net=False, keep=lambda row: True):  # type: ignore[no-untyped-def]
    """The fee records summed per group and local day, as the report should say (original)."""
    sums: dict[tuple[str, ...], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in records:
        if not keep(row):
            continue
        day = row.hour_start.astimezone(zone(TZ)).date().isoformat()
        value = row.amount_units - (row.coupon_units if net else 0)
        sums[tuple(row._mapping[k] for k in keys)][day] += value
    return {k: {d: v for d, v in days.items() if v} for k, days in sums.items()}


@pytest.fixture
def world(container) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    customer = new_customer(container, timezone=TZ)
    topup(container, customer.id, "2000.00", "seed")
    c = coupon(container, customer.id, "c1", "20.00", billing_modes=["yearly_monthly"])
    yearly = pay(container, customer.id, buy(container, customer.id, unit="year").id, [c.id])
    register(container, customer.id, "vm-2")
    meter(
        container,
        ("r1", "vm-2", "duration", "3", hour(3), hour(6), "h"),
        ("r2", "vm-2", "duration", "2", hour(6), hour(8), "h"),
    )
    advance(container, hours=1)
    assert settle_due(container)
    advance(container, days=10)
    refund = unsubscribe(container, customer.id, [yearly.lines[0].resource_id])
    assert_books_balance(container)
    return {"customer": customer, "yearly": yearly, "refund": refund}


def test_original_costs_are_the_fee_records_on_their_day(container, world) -> None:  # type: ignore[no-untyped-def]
    cid = world["customer"].id
    first, last = T0.date() - timedelta(days=2), T0.date() + timedelta(days=12)
    records = fees(container, customer_id=cid)
    kinds = {r.bill_type for r in records}
    assert {"new_purchase", "usage", "unsubscription_refund", "unsubscription_fee"} <= kinds
    for net in (False, True):
        r = report(
            container, cid, first=str(first), last=str(last), granularity="day",
            group_by=["bill_type"], amount_type="net" if net else "amount",
        )  # fmt: skip
        assert by_key(r) == expected(records, "bill_type", net=net)
    # two dimensions, and filters in and out
    r = report(
        container, cid, first=str(first), last=str(last), granularity="day",
        group_by=["service", "billing_mode"], filters=[("bill_type", ["usage"], True)],
    )  # fmt: skip
    assert by_key(r) == expected(
        records, "service", "billing_mode", keep=lambda row: row.bill_type != "usage"
    )
    r = report(
        container, cid, first=str(first), last=str(last), granularity="day",
        group_by=["resource"], filters=[("resource", ["vm-2"])],
    )  # fmt: skip
    assert by_key(r) == expected(records, "resource_id", keep=lambda row: row.resource_id == "vm-2")
    assert [row.key for row in r.rows] == [("vm-2",)]


def test_amortized_costs_spread_the_year_and_put_the_refund_on_its_day(container, world) -> None:  # type: ignore[no-untyped-def]
    cid = world["customer"].id
    records = fees(container, customer_id=cid)
    purchase = next(r for r in records if r.bill_type == "new_purchase")
    refund_day = (
        next(r.hour_start for r in records if r.bill_type == "unsubscription_refund")
        .astimezone(zone(TZ))
        .date()
    )
    first_day = purchase.period_start.astimezone(zone(TZ)).date()
    r = report(
        container, cid, first=str(first_day), last=str(first_day + timedelta(days=89)),
        granularity="day", cost_type="amortized", group_by=["bill_type"],
    )  # fmt: skip
    rows = by_key(r)
    daily = rows[("new_purchase",)]
    assert len(daily) == 90 and max(daily.values()) - min(daily.values()) <= 1
    # the year runs to local midnight after its last day: 366 local days from a mid-day start
    end_day = purchase.period_end.astimezone(zone(TZ)).date()
    assert min(daily.values()) == purchase.amount_units // (end_day - first_day).days
    # the refund (negative) and the handling fee each on the day they happened, whole
    on_refund = expected(records, "bill_type", keep=lambda row: row.bill_type.startswith("unsub"))
    assert rows[("unsubscription_refund",)] == on_refund[("unsubscription_refund",)]
    assert list(rows[("unsubscription_refund",)]) == [refund_day.isoformat()]
    assert rows[("unsubscription_refund",)][refund_day.isoformat()] < 0
    assert rows[("unsubscription_fee",)] == on_refund[("unsubscription_fee",)]
    assert rows[("usage",)] == expected(records, "bill_type")[("usage",)]  # as used
    # by month over the purchase's whole validity, the amortized total is the original one
    months = {"first": first_day.strftime("%Y-%m"), "granularity": "month"}
    months["last"] = (first_day + timedelta(days=366)).strftime("%Y-%m")
    amortized = report(container, cid, cost_type="amortized", **months)
    original = report(container, cid, **months)
    assert (
        amortized.total.amount_units
        == original.total.amount_units
        == sum(row.amount_units for row in records)
    )
    spread = report(
        container, cid, cost_type="amortized", filters=[("bill_type", ["new_purchase"])], **months
    )
    assert spread.total.amount_units == purchase.amount_units
    assert len([v for v in spread.totals.values() if v.amount_units]) == 13
    assert spread.total.official_units == purchase.official_units


def test_bad_queries_are_refused(container, world) -> None:  # type: ignore[no-untyped-def]
    cid = world["customer"].id
    for query, code in (
        ({"first": "2026-01-01", "last": "2026-04-30", "granularity": "day"}, "LIMIT_EXCEEDED"),
        ({"first": "2026-01", "last": "2026-01", "group_by": ["a"]}, "INVALID_ARGUMENT"),
        ({"first": "2026-01", "last": "2026-01", "cost_type": "x"}, "INVALID_ARGUMENT"),
        ({"first": "2026-13", "last": "2026-01"}, "INVALID_ARGUMENT"),
        ({"first": "2026-01-01", "last": "2026-01-02", "granularity": "day",
          "group_by": ["service", "region", "spec"]}, "INVALID_ARGUMENT"),
    ):  # fmt: skip
        with pytest.raises(CloudbillError) as caught:
            report(container, cid, **query)
        assert caught.value.code == ErrorCode(code)
    with pytest.raises(CloudbillError):
        costs.filter_of("colour", ["red"])
    assert report(container, cid, first="2020-01", last="2020-02").rows == ()
