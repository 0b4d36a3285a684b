"""Renewals, unsubscriptions and the renewal price inquiry through the real huaweicloudsdkbssintl
client, compared with the engine's orders (amounts = the engine's renewal quote, balance reduced
and refunded exactly, expiry moved on); trans_id replays and conflicts; another customer's
resources answer as ones that do not exist; every refusal changes nothing."""

from __future__ import annotations

import time
from typing import Any

from huaweicloudsdkbssintl.v2 import (
    AutoRenewalResourcesRequest,
    CancelAutoRenewalResourcesRequest,
    CancelResourcesSubscriptionRequest,
    ListRenewRateOnPeriodReq,
    ListRenewRateOnPeriodRequest,
    PeriodToOnDemandReq,
    RenewalResourcesReq,
    RenewalResourcesRequest,
    UnsubscribeResourcesReq,
    UpdatePeriodToOnDemandRequest,
)

from cloudbill.bootstrap import Container
from cloudbill.catalog import service as catalog_service
from cloudbill.customers import service as customers
from cloudbill.kernel.money import Money, Rounding
from cloudbill.orders import service as orders
from cloudbill.orders.pricing import period_quote
from cloudbill.orders.rules import scale
from cloudbill.resources import service as resources

from ..helpers import assert_books_balance, new_customer
from ..scenarios.test_orders import terms
from ..scenarios.test_settlement import figures, topup
from .conftest import issue_key, sdk_client, sign
from .test_bss_refusals import refused
from .test_bss_subscriptions import UNKNOWN_RESOURCE, bought, query, state, yearly

__all__ = ["yearly"]  # the fixture, used by name


def renew(client: Any, rids: list[str], **fields: Any) -> Any:
    """A renewal; a trans_id goes in a dict body (the SDK's model has no such field)."""
    body: Any = {"resource_ids": rids, "period_type": 2, "period_num": 1, **fields}
    if "trans_id" not in fields:
        body = RenewalResourcesReq(**body)
    return client.renewal_resources(RenewalResourcesRequest(body=body))


def unsubscribe(client: Any, rids: list[str], **fields: Any) -> Any:
    body: Any = {"resource_ids": rids, "unsubscribe_type": 1, **fields}
    if "trans_id" not in fields:
        body = UnsubscribeResourcesReq(**body)
    return client.cancel_resources_subscription(CancelResourcesSubscriptionRequest(body=body))


def renew_rate(client: Any, rids: list[str], period_type: int = 2, period_num: int = 1) -> Any:
    body = ListRenewRateOnPeriodReq(
        resource_ids=rids, period_type=period_type, period_num=period_num
    )
    return client.list_renew_rate_on_period(ListRenewRateOnPeriodRequest(body=body))


def engine_quote(container: Container, customer_id: str, rid: str, unit: str, count: int) -> Any:
    def work(conn, _now):  # type: ignore[no-untyped-def]
        r = resources.get(conn, rid)
        return period_quote(
            catalog_service.active(conn),
            customers.get(conn, customer_id),
            resource_type=r.resource_type,
            spec=r.spec,
            period_unit=unit,
            period_count=count,
            rounding=terms(container).rounding,
        )

    return container.read(work)


def order_of(container: Container, order_id: str) -> Any:
    return container.read(lambda conn, _now: orders.get(conn, order_id))


def expiry(container: Container, rid: str) -> Any:
    return container.read(lambda conn, _now: resources.get(conn, rid)).expire_at


def money(units: int) -> Any:
    return Money(units, "USD").to_decimal()


def test_renewal_priced_as_inquired_pending_or_paid_at_once(
    container: Container, yearly: dict[str, Any]
) -> None:
    client, acme = yearly["client"], yearly["customer"]
    month_vm, year_vm = yearly["month_vm"], yearly["year_vm"]
    small = engine_quote(container, acme.id, month_vm, "month", 2)
    large = engine_quote(container, acme.id, year_vm, "month", 2)
    rate = renew_rate(client, [month_vm, year_vm], period_num=2)
    assert rate.fail_resource_infos == [] and rate.currency == "USD"
    assert [(r.resource_id, r.amount) for r in rate.renew_inquiry_results] == [
        (month_vm, str(small.amount.to_decimal())),
        (year_vm, str(large.amount.to_decimal())),
    ]
    official = small.official.units + large.official.units
    assert rate.official_website_rating_result.official_website_amount == str(money(official))
    # left pending: an order of exactly the inquired amount, no money moved
    cash = figures(container, acme.id).cash_balance_units
    pending = renew(client, [month_vm], period_num=2)
    assert pending.fail_resource_infos == []
    order = order_of(container, pending.order_ids[0])
    assert (order.order_type, order.status) == ("renewal", "pending_payment")
    assert order.amount_units == small.amount.units
    assert figures(container, acme.id).cash_balance_units == cash
    container.write(lambda conn, now: orders.cancel(conn, acme.id, order.id, now=now))
    # paid at once: the balance goes down by the amount, the expiry moves on by the period
    old_expiry = expiry(container, month_vm)
    paid = renew(client, [month_vm], period_num=2, is_auto_pay=1, trans_id="renew-1")
    order = order_of(container, paid.order_ids[0])
    assert (order.status, order.amount_units) == ("paid", small.amount.units)
    assert figures(container, acme.id).cash_balance_units == cash - small.amount.units
    (line,) = order.lines
    assert (line.period_start, line.period_end) == (old_expiry, expiry(container, month_vm))
    assert expiry(container, month_vm) > old_expiry
    assert_books_balance(container)


def test_trans_id_replays_and_conflicts(container: Container, yearly: dict[str, Any]) -> None:
    client, acme, vm = yearly["client"], yearly["customer"], yearly["month_vm"]
    first = renew(client, [vm], is_auto_pay=1, trans_id="t-1")
    cash = figures(container, acme.id).cash_balance_units
    before = state(container)
    again = renew(client, [vm], is_auto_pay=1, trans_id="t-1")
    assert again.order_ids == first.order_ids
    assert state(container) == before and figures(container, acme.id).cash_balance_units == cash
    for changed in ({"period_num": 2}, {"is_auto_pay": 0}, {"period_type": 3}):
        fields = {"is_auto_pay": 1, "trans_id": "t-1", **changed}
        refused(lambda f=fields: renew(client, [vm], **f), 400, "CBC.0101")
    refused(lambda: unsubscribe(client, [vm], trans_id="t-1"), 400, "CBC.0101")
    assert state(container) == before
    # pending, then replayed: the same pending order, not a paid one
    pending = renew(client, [yearly["year_vm"]], trans_id="t-2")
    assert renew(client, [yearly["year_vm"]], trans_id="t-2").order_ids == pending.order_ids
    refused(
        lambda: renew(client, [yearly["year_vm"]], trans_id="t-2", is_auto_pay=1), 400, "CBC.0101"
    )
    assert order_of(container, pending.order_ids[0]).status == "pending_payment"


def test_an_exact_replay_without_trans_id_acts_once(
    container: Container, bss: str, yearly: dict[str, Any]
) -> None:
    """The SDK sends no trans_id: a signed renewal sent again byte for byte (a retry, or a
    captured request within the date window) answers the first order and charges once; the
    same renewal signed anew is a new request."""
    acme, vm = yearly["customer"], yearly["month_vm"]
    key = issue_key(container, acme.id)
    body = {"resource_ids": [vm], "period_type": 2, "period_num": 1, "is_auto_pay": 1}
    path = "/v2/orders/subscriptions/resources/renew"
    signed = sign(bss, key.key.id, key.secret, "POST", path, body=body)
    first = signed.send()
    assert first.status_code == 200, first.text
    cash = figures(container, acme.id).cash_balance_units
    before = state(container)
    for _ in range(2):
        again = signed.send()
        assert (again.status_code, again.json()) == (200, first.json())
    assert state(container) == before and figures(container, acme.id).cash_balance_units == cash
    time.sleep(1.1)  # X-Sdk-Date has whole seconds: a new signature needs a new second
    anew = sign(bss, key.key.id, key.secret, "POST", path, body=body).send()
    assert anew.status_code == 200 and anew.json()["order_ids"] != first.json()["order_ids"]
    assert figures(container, acme.id).cash_balance_units < cash
    unsubscribing = sign(
        bss,
        key.key.id,
        key.secret,
        "POST",
        "/v2/orders/subscriptions/resources/unsubscribe",
        body={"resource_ids": [vm], "unsubscribe_type": 1},
    )
    refund = unsubscribing.send()
    assert refund.status_code == 200, refund.text
    assert (unsubscribing.send().status_code, unsubscribing.send().json()) == (200, refund.json())


def test_unsubscription_refunds_what_the_engine_gives_back(
    container: Container, yearly: dict[str, Any]
) -> None:
    client, acme, vm = yearly["client"], yearly["customer"], yearly["month_vm"]
    cash = figures(container, acme.id).cash_balance_units
    bought_for = order_of(container, yearly["month_order"]).cash_units
    answer = unsubscribe(client, [vm], trans_id="u-1", unsubscribe_reason="no longer needed")
    order = order_of(container, answer.order_ids[0])
    assert (order.order_type, order.status) == ("unsubscription", "refunded")
    # no full-refund window by default: nothing used yet, all the cash paid comes back but the
    # handling fee (10% of it, a monthly term)
    fee = scale(bought_for, 10, 100, digits=2, rounding=Rounding.HALF_UP)
    assert order.fee_units == fee
    assert order.cash_units == -(bought_for - fee)
    assert figures(container, acme.id).cash_balance_units == cash + bought_for - fee
    r = container.read(lambda conn, _now: resources.get(conn, vm))
    assert r.status == "released"
    assert [(x.resource_id, x.status) for x in query(client, status_list=[3]).data] == [(vm, 3)]
    before = state(container)
    assert unsubscribe(client, [vm], trans_id="u-1").order_ids == answer.order_ids  # no 2nd refund
    assert state(container) == before
    refused(lambda: unsubscribe(client, [vm]), 400, "CBC.30050009")  # released already
    # type 2 with no renewal period ahead: the operation is refused
    refused(lambda: unsubscribe(client, [yearly["year_vm"]], unsubscribe_type=2), 403, "CBC.0150")
    assert state(container) == before
    assert_books_balance(container)


def test_unsubscribing_only_the_renewal_periods_not_begun(
    container: Container, yearly: dict[str, Any]
) -> None:
    """`unsubscribe_type` 2: only the renewed periods not begun come back, whole, with no
    handling fee (Huawei, "Unsubscription Rules": renewal periods are charged no handling fee,
    https://support.huaweicloud.com/intl/en-us/usermanual-billing/unsubscription_topic_2000010.html);
    the resource keeps the month it is in and expires at its end again."""
    client, acme, vm = yearly["client"], yearly["customer"], yearly["month_vm"]
    old_expiry = expiry(container, vm)
    cash = figures(container, acme.id).cash_balance_units
    paid = renew(client, [vm], period_num=2, is_auto_pay=1, trans_id="renew-ahead")
    renewal = order_of(container, paid.order_ids[0])
    assert expiry(container, vm) > old_expiry
    answer = unsubscribe(client, [vm], unsubscribe_type=2, trans_id="u-renewals")
    order = order_of(container, answer.order_ids[0])
    assert (order.order_type, order.status, order.fee_units) == ("unsubscription", "refunded", 0)
    assert order.cash_units == -renewal.cash_units  # the two months, whole
    assert figures(container, acme.id).cash_balance_units == cash
    r = container.read(lambda conn, _now: resources.get(conn, vm))
    assert (r.status, r.expire_at) == ("normal", old_expiry)
    before = state(container)
    replay = unsubscribe(client, [vm], unsubscribe_type=2, trans_id="u-renewals")
    assert replay.order_ids == answer.order_ids
    refused(lambda: unsubscribe(client, [vm], unsubscribe_type=2), 403, "CBC.0150")  # none left
    assert state(container) == before
    # the resource as a whole still unsubscribes, its refund counting the month in use only
    whole = order_of(container, unsubscribe(client, [vm]).order_ids[0])
    month = order_of(container, yearly["month_order"])
    assert 0 < -whole.cash_units < month.cash_units
    assert_books_balance(container)


def test_refusals_change_nothing(container: Container, yearly: dict[str, Any]) -> None:
    client, month_vm, year_vm = yearly["client"], yearly["month_vm"], yearly["year_vm"]
    before = state(container)
    for fields in (
        {"period_type": 1},
        {"period_num": 10},  # cloudbill sells 1-9 months
        {"period_num": 0},
        {"is_auto_pay": 2},
        {"trans_id": ""},
    ):
        refused(lambda f=fields: renew(client, [month_vm], **f), 400, "CBC.0100")
    refused(lambda: renew(client, [f"vm-{n}" for n in range(11)]), 400, "CBC.0100")
    refused(lambda: renew(client, [month_vm, month_vm]), 400, "CBC.0100")
    refused(lambda: renew_rate(client, [month_vm, month_vm]), 400, "CBC.30050012")
    refused(lambda: renew_rate(client, [month_vm], period_type=2, period_num=10), 400, "CBC.0100")
    # the money is not there: refused as a whole, no order left behind
    refused(lambda: renew(client, [year_vm], period_type=3, is_auto_pay=1), 400, "CBC.99005003")
    assert state(container) == before
    # a pending order blocks another renewal of its resource
    renew(client, [month_vm])
    pending = state(container)
    refused(lambda: renew(client, [month_vm, year_vm], is_auto_pay=1), 403, "CBC.0150")
    assert state(container) == pending


def test_another_customers_resources_answer_as_missing(
    container: Container, bss: str, yearly: dict[str, Any]
) -> None:
    """bob, with money and a subscription of his own, names acme's resources: every route
    answers as for an id that does not exist, and nothing changes."""
    bob = new_customer(container, "bob")
    topup(container, bob.id, "600.00", "bob-seed")
    _order, bobs_vm = bought(container, bob.id)
    key = issue_key(container, bob.id)
    client = sdk_client(bss, key.key.id, key.secret, bob.id)
    before = state(container)
    for theirs in (yearly["month_vm"], "vm-nobody"):
        assert query(client, resource_ids=[theirs]).total_count == 0
        assert query(client, order_id=yearly["month_order"]).total_count == 0
        for call in (
            lambda r=theirs: client.auto_renewal_resources(AutoRenewalResourcesRequest(r)),
            lambda r=theirs: client.cancel_auto_renewal_resources(
                CancelAutoRenewalResourcesRequest(r)
            ),
            lambda r=theirs: client.update_period_to_on_demand(
                UpdatePeriodToOnDemandRequest(
                    body=PeriodToOnDemandReq(operation="SET_UP", resource_ids=[bobs_vm, r])
                )
            ),
            lambda r=theirs: renew(client, [bobs_vm, r], is_auto_pay=1),
            lambda r=theirs: unsubscribe(client, [bobs_vm, r]),
        ):
            refused(call, 400, UNKNOWN_RESOURCE)
        rate = renew_rate(client, [bobs_vm, theirs])
        assert [r.resource_id for r in rate.renew_inquiry_results] == [bobs_vm]
        (failed,) = rate.fail_resource_infos
        assert (failed.resource_id, failed.error_code) == (theirs, "CBC.30050009")
    assert [r.resource_id for r in query(client).data] == [bobs_vm]
    assert state(container) == before
