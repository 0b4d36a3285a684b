"""Every route a customer can call on the BSS listener, walked by an intruder holding the victim's
ids. Each answer must be exactly the answer for ids that do not exist (same status, same body
once the id itself is masked), and nothing may change. The walk table must name every route the
listener serves, so a new route cannot escape it."""

from __future__ import annotations

from typing import Any

from cloudbill.api.bss.app import create_bss_app
from cloudbill.api.bss.routes.not_offered import NOT_OFFERED
from cloudbill.bootstrap import Container

from ..helpers import snapshot
from .conftest import issue_key, sdk_signed
from .isolation import Call, fake_ids, masked, victim_and_intruder

MONTH = "2026-03"
AUTO_RENEW_YEARLY = "/v2/orders/subscriptions/resources/autorenew/{yearly_resource_id}"

# (method, route path) -> how the intruder calls it; `{name}` is filled from the victim's (or the
# made-up) ids: order_id, pending_order_id, refund_order_id, resource_id, yearly_resource_id,
# package_id, coupon_id, domain_id.
BSS_WALK: dict[tuple[str, str], Call] = {
    ("GET", "/v2/accounts/customer-accounts/balances"): Call(),
    ("GET", "/v2/accounts/customer-accounts/expenditure-quota"): Call(),
    ("GET", "/v2/bills/customer-bills/monthly-sum"): Call(query={"bill_cycle": MONTH}),
    ("GET", "/v2/bills/customer-bills/res-fee-records"): Call(
        query={"cycle": MONTH, "resource_id": "{resource_id}", "include_zero_record": "true"}
    ),
    ("POST", "/v2/bills/customer-bills/res-records/query"): Call(
        body={"cycle": MONTH, "res_instance_id": "{resource_id}", "statistic_type": 3}
    ),
    ("POST", "/v3/payments/free-resources/query"): Call(body={"product_id": "{package_id}"}),
    ("POST", "/v2/payments/free-resources/usages/details/query"): Call(
        body={"free_resource_ids": ["{package_id}"]}
    ),
    ("GET", "/v2/bills/customer-bills/free-resources-usage-records"): Call(
        query={"free_resource_id": "{package_id}"}
    ),
    ("GET", "/v2/promotions/benefits/coupons"): Call(query={"coupon_id": "{coupon_id}"}),
    ("GET", "/v2/orders/customer-orders"): Call(
        query={"order_id": "{order_id}", "customer_id": "{domain_id}"}
    ),
    ("GET", "/v2/orders/customer-orders/details/{order_id}"): Call(),
    ("GET", "/v2/orders/customer-orders/order-discounts"): Call(
        query={"order_id": "{pending_order_id}"}
    ),
    ("GET", "/v2/orders/customer-orders/refund-orders"): Call(
        query={"order_id": "{refund_order_id}"}
    ),
    ("PUT", "/v2/orders/customer-orders/cancel"): Call(
        body={"order_id": "{pending_order_id}"}, write=True
    ),
    ("POST", "/v3/orders/customer-orders/pay"): Call(
        body={"order_id": "{pending_order_id}"}, write=True
    ),
    ("GET", "/v1.0/{domain_id}/payments/intl-invoices"): Call(
        query={
            "start_time": "2026-01-01T00:00:00Z",
            "end_time": "2026-12-31T00:00:00Z",
            "offset": "1",
            "limit": "10",
        }
    ),
    ("POST", "/v2/orders/suscriptions/resources/query"): Call(
        body={
            "resource_ids": ["{yearly_resource_id}"],
            "order_id": "{order_id}",
            "customer_id": "{domain_id}",
        }
    ),
    ("POST", "/v2/orders/subscriptions/resources/renew"): Call(
        body={
            "resource_ids": ["{yearly_resource_id}"],
            "period_type": 2,
            "period_num": 1,
            "is_auto_pay": 1,
        },
        write=True,
    ),
    ("POST", "/v2/orders/subscriptions/resources/autorenew/{resource_id}"): Call(
        path=AUTO_RENEW_YEARLY, write=True
    ),
    ("DELETE", "/v2/orders/subscriptions/resources/autorenew/{resource_id}"): Call(
        path=AUTO_RENEW_YEARLY, write=True
    ),
    ("POST", "/v2/orders/subscriptions/resources/unsubscribe"): Call(
        body={"resource_ids": ["{yearly_resource_id}"], "unsubscribe_type": 1}, write=True
    ),
    ("POST", "/v2/orders/subscriptions/resources/to-on-demand"): Call(
        body={"operation": "SET_UP", "resource_ids": ["{yearly_resource_id}"]}, write=True
    ),
    ("POST", "/v2/orders/subscriptions/resources/renew/config"): None,  # no customer ids
    ("POST", "/v2/bills/ratings/period-resources/renew-rate"): Call(
        body={"resource_ids": ["{yearly_resource_id}"], "period_type": 2, "period_num": 1}
    ),
    ("POST", "/v2/bills/ratings/on-demand-resources"): None,  # prices: no customer ids
    ("POST", "/v2/bills/ratings/period-resources/subscribe-rate"): None,
    ("POST", "/v2/products/resource-specs-query"): None,  # the catalog: no customer ids
    ("POST", "/v2/products/resource-specs-price/query"): None,
    ("POST", "/v4/costs/cost-analysed-bills/query"): Call(
        body={
            "time_condition": {
                "time_measure_id": 1,
                "begin_time": "2026-03-01",
                "end_time": "2026-03-31",
            },
            "filters": [
                {
                    "operator": 0,
                    "filter_factor": {"key": "RESOURCE_ID", "value": ["{resource_id}"]},
                },
            ],
        }
    ),
    ("GET", "/v2/products/service-types"): None,
    ("GET", "/v2/products/resource-types"): None,
    ("GET", "/v2/products/service-resources"): None,
    ("GET", "/v2/products/usage-types"): None,
    ("GET", "/v2/bases/measurements"): None,
    ("GET", "/v2/bases/conversions"): None,
    # the caller's own member accounts: no customer id is sent (test_bss_enterprise.py shows
    # that a member or an outsider sees none of a master's members)
    ("GET", "/v2/enterprises/multi-accounts/sub-customers"): None,
    ("POST", "/v2/enterprises/enterprise-projects/authority"): None,  # always refused
    # refused by name for every caller (routes/not_offered.py): no ids to walk
    **{(method, path): None for method, path, _, _ in NOT_OFFERED},
}


def served_routes(app: Any) -> set[tuple[str, str]]:
    """Every (method, path) the app answers, read from its OpenAPI document (the BSS listener
    does not publish it, but builds it all the same)."""
    return {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }


def test_the_walk_names_every_bss_route(container: Container) -> None:
    assert served_routes(create_bss_app(container)) == set(BSS_WALK)


def test_bss_routes_with_another_customers_ids_answer_as_missing(
    container: Container, bss: str
) -> None:
    victim, intruder = victim_and_intruder(container)
    keys = {who.id: issue_key(container, who.id) for who in (victim, intruder)}
    made_up = fake_ids(victim.ids)

    def send(who: str, ids: dict[str, str], method: str, path: str, call: Call) -> tuple:
        key, template = keys[who], call.path or path
        filled = call.filled(ids)
        answer = sdk_signed(bss, key.key.id, key.secret, method, template.format(**ids), filled)
        assert answer.status_code < 500, (method, path, answer.text)
        # a malformed request would be refused before ownership is even looked at
        assert "CBC.0100" not in answer.text, (method, path, answer.text)
        sent = call.names(template)
        return answer.status_code, masked(answer.text, {n: ids[n] for n in sent})

    before = snapshot(container)
    walked = {(m, p): c for (m, p), c in sorted(BSS_WALK.items()) if c is not None}
    for (method, path), call in walked.items():
        foreign = send(intruder.id, victim.ids, method, path, call)
        absent = send(intruder.id, made_up, method, path, call)
        assert foreign == absent, (method, path, foreign, absent)
        for name, value in victim.ids.items():
            assert value not in foreign[1], (method, path, name)
    assert snapshot(container) == before
    # The ids do name something: the victim's own reads find it (writes are left untried).
    for (method, path), call in walked.items():
        if call.write or not call.names(call.path or path):
            continue
        own = send(victim.id, victim.ids, method, path, call)
        assert own != send(victim.id, made_up, method, path, call), (method, path, own)
