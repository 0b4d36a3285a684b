"""Huawei's published worked examples for issue 15's rules, through the API a customer uses
(the native customer API, signed with the customer's own access key), on the simulated clock
set to each example's dates. The same examples are checked rule by rule in the unit tests
(tests/unit/test_order_remaining.py, test_order_rules.py); here they go through orders,
payments and refunds end to end, the books balanced after each."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from cloudbill.benefits import service as benefits
from cloudbill.bootstrap import Container
from cloudbill.customers import service as customers
from cloudbill.customers.model import CustomerInput
from cloudbill.kernel.periods import utc
from cloudbill.store import clock_repo
from tests.conftest import make_container
from tests.helpers import assert_books_balance
from tests.integration.customer_world import CustomerApi, issue_key, unthrottled_client

VM = "hws.resource.type.vm"  # s6.small.1 11.60 USD a month, s6.large.2 39.10
SHANGHAI = "Asia/Shanghai"  # Huawei's examples are in GMT+08:00


@pytest.fixture
def at(database_url: str) -> Iterator[Any]:
    """make(start): a container on the simulated clock at `start`."""
    made: list[Container] = []

    def make(start: datetime) -> Container:
        made.append(make_container(database_url, start))
        return made[-1]

    yield make
    for c in made:
        c.db.dispose()


def customer(c: Container, cash: str) -> tuple[str, CustomerApi]:
    data = CustomerInput(name="acme", currency="USD", timezone=SHANGHAI)
    cid = c.write(lambda conn, now: customers.create(conn, data, now=now)).id
    c.write(lambda conn, now: customers.topup(conn, cid, cash, reference="seed", now=now))
    key = issue_key(c, cid)
    return cid, CustomerApi(unthrottled_client(c), (key.key.id, key.secret))


def buy(api: CustomerApi, spec: str, count: int, ref: str) -> dict[str, Any]:
    item = {"resource_type": VM, "spec": spec, "region": "ap-southeast-1", "name": ref,
            "period_unit": "month", "period_count": count}  # fmt: skip
    return api.post("/orders", {"items": [item], "reference": ref}, 201)


def set_clock(c: Container, instant: datetime) -> None:
    c.write(lambda conn, now: clock_repo.advance(conn, instant - now))


def test_a_spec_change_prices_the_rest_of_the_term_by_calendar_months(at) -> None:  # type: ignore[no-untyped-def]
    """https://support.huaweicloud.com/en-us/usermanual-billing/renewals_topic_60000001.html: a
    3-month ECS from August 15 to November 15, 2021, changed on August 24: the remaining
    duration is 7/31 + 2 + 15/30 months (the days after the 24th in August, September and
    October, the 15 days of November). Upgraded from 11.60 to 39.10 a month: 27.50 x that
    = 74.959677... -> 74.96 USD."""
    c = at(utc(2021, 8, 15, 2, 0, 0))  # 10:00 in Shanghai
    _cid, api = customer(c, "200.00")
    order = buy(api, "s6.small.1", 3, "ecs-3m")
    paid = api.post(f"/orders/{order['id']}/pay", {})
    rid = paid["lines"][0]["resource_id"]
    assert api.get(f"/resources/{rid}")["expire_at"] == "2021-11-15T16:00:00Z"  # Nov 15, 24:00
    set_clock(c, utc(2021, 8, 24, 2, 0, 0))
    upgrade = api.post("/orders/change", {"resource_id": rid, "new_spec": "s6.large.2"}, 201)
    assert (upgrade["status"], upgrade["amount"]) == ("pending_payment", "74.96")
    assert api.post(f"/orders/{upgrade['id']}/pay", {})["status"] == "paid"
    assert api.get(f"/resources/{rid}")["spec"] == "s6.large.2"
    assert_books_balance(c)


def test_an_unsubscription_refunds_paid_less_whole_hours_used_less_the_fee(at) -> None:  # type: ignore[no-untyped-def]
    """https://support.huaweicloud.com/intl/en-us/faq-billing/unsubscriptions_faq_300007.html:
    bought monthly at 10:30:00 on January 1, 2024, "order duration is 31 days and 14 hours"
    (758 h), unsubscribed at 18:40:00 on January 15, 2024, "actual usage duration was 14 days
    and 8 hours" (344 h, rounded down by hour). Refund = paid - paid x 344/758 - the 10%
    handling fee of a monthly term: 11.60 - 5.26 - 1.16 = 5.18 USD; cash coupons spent on it
    are not returned."""
    c = at(utc(2024, 1, 1, 2, 30, 0))  # 10:30 in Shanghai
    cid, api = customer(c, "50.00")
    coupon, _made = c.write(
        lambda conn, now: benefits.issue_coupon(
            conn, customer_id=cid, name="welcome", value="1.00", valid_from=None,
            valid_to=now + timedelta(days=90), reference="coupon", now=now,
        )
    )  # fmt: skip
    order = buy(api, "s6.small.1", 1, "evs-like")
    paid = api.post(f"/orders/{order['id']}/pay", {"coupon_ids": [coupon.id]})
    assert (paid["coupon_amount"], paid["cash_amount"]) == ("1.00", "10.60")
    rid = paid["lines"][0]["resource_id"]
    set_clock(c, utc(2024, 1, 15, 10, 40, 0))  # 18:40 in Shanghai
    refund = api.post("/orders/unsubscription", {"resource_ids": [rid]}, 201)
    # paid in cash 10.60: used 10.60 x 344/758 = 4.8105... -> 4.81; fee 1.06; back 4.73
    (line,) = refund["lines"]
    assert (line["used_amount"], line["handling_fee"]) == ("4.81", "1.06")
    assert (refund["cash_amount"], refund["coupon_amount"]) == ("-4.73", "0.00")
    assert api.get(f"/resources/{rid}")["status"] == "released"
    assert_books_balance(c)


def test_one_coupon_over_three_orders_paid_together(at) -> None:  # type: ignore[no-untyped-def]
    """https://support.huaweicloud.com/intl/zh-cn/faq-billing/unpaidorder_faq_0000008.html: a
    coupon deduction of 69.31 USD over three orders paid together, 23.10 each and the extra
    0.01 on one of them (cloudbill: pro rata by amount, the remainder on the last)."""
    c = at(utc(2026, 3, 16, 1, 0, 0))
    cid, api = customer(c, "200.00")
    coupon, _made = c.write(
        lambda conn, now: benefits.issue_coupon(
            conn, customer_id=cid, name="big", value="69.31", valid_from=None,
            valid_to=now + timedelta(days=90), reference="coupon", now=now,
        )
    )  # fmt: skip
    made = [buy(api, "s6.large.2", 1, f"vm-{n}")["id"] for n in range(3)]
    paid = api.post("/orders/pay", {"order_ids": made, "coupon_ids": [coupon.id]})
    by_id = {o["id"]: o for o in paid["items"]}
    assert [by_id[o]["coupon_amount"] for o in made] == ["23.10", "23.10", "23.11"]
    assert [by_id[o]["cash_amount"] for o in made] == ["16.00", "16.00", "15.99"]
    assert_books_balance(c)
