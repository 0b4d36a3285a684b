"""Customers who own one of everything the customer API shows, built through the engine, and a
client that calls /customer/v1 with a customer's access key."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from cloudbill.api.app import create_app
from cloudbill.bootstrap import Container
from cloudbill.credentials import service as credentials
from cloudbill.credentials.model import IssuedKey
from cloudbill.credentials.sealing import SecretBox
from cloudbill.invoices import service as invoices
from cloudbill.invoices.model import Terms as InvoiceTerms
from cloudbill.notify import customer_notices
from cloudbill.store.schema import customer_notice
from cloudbill.worker.jobs import settle_due
from tests.helpers import new_customer
from tests.scenarios.test_orders import buy, pay
from tests.scenarios.test_settlement import advance, hour, meter, register, topup
from tests.scenarios.test_settlement_benefits import coupon, grant

PREFIX = "/customer/v1"
MONTHLY_VM = {
    "resource_type": "hws.resource.type.vm",
    "spec": "s6.small.1",
    "region": "ap-southeast-1",
    "name": "api-vm",
    "period_unit": "month",
    "period_count": 1,
}


@dataclass
class Owned:
    """One customer, their key and the ids of what they own."""

    customer_id: str
    key: IssuedKey
    usage_resource: str  # pay-per-use, billed for two hours (partly by the package)
    subscribed_resource: str  # yearly/monthly, from the paid order
    paid_order: str
    pending_order: str
    package: str
    spent_coupon: str  # used for the paid order
    spare_coupon: str  # still active
    notice: int
    invoice: str = ""  # requested for the paid order, pending review

    @property
    def auth(self) -> tuple[str, str]:
        return (self.key.key.id, self.key.secret)


def issue_key(container: Container, customer_id: str) -> IssuedKey:
    box = SecretBox(container.secret_key())
    return container.write(
        lambda conn, now: credentials.create(conn, customer_id, box=box, now=now)
    )


def _notice_of(container: Container, customer_id: str) -> int:
    with container.db.read() as conn:
        n = customer_notice.c
        return (
            conn.execute(
                customer_notice.select().where(n.customer_id == customer_id).order_by(n.id)
            )
            .first()
            .id
        )


def _usage_part(container: Container, name: str) -> tuple[str, str, str, str]:
    customer = new_customer(container, name, email=f"billing@{name}.example")
    topup(container, customer.id, "100.00", f"{name}-seed")
    vm = f"{name}-vm"
    register(container, customer.id, vm)
    package = grant(container, customer.id, f"{name}-pkg", "4", days=60)
    meter(
        container,
        # six hours of running, three a record (a duration never exceeds its interval)
        (f"{name}-u1", vm, "duration", "3", hour(2), hour(5), "h"),
        (f"{name}-u2", vm, "duration", "3", hour(5), hour(8), "h"),
    )
    return customer.id, vm, package.id, name


def seed(container: Container, *names: str) -> dict[str, Owned]:
    """Each name becomes a customer with usage (settled), a package, coupons, a paid and a
    pending order, a notice and an access key; the clock moves one hour."""
    parts = [_usage_part(container, name) for name in names]
    advance(container, hours=1)
    settle_due(container)
    world = {}
    for cid, vm, package_id, name in parts:
        spent = coupon(container, cid, f"{name}-c1", "3.00")
        spare = coupon(container, cid, f"{name}-c2", "2.00", days=90)
        paid = pay(container, cid, buy(container, cid, reference=f"{name}-o1").id, [spent.id])
        pending = buy(container, cid, reference=f"{name}-o2")
        world[name] = Owned(
            customer_id=cid,
            key=issue_key(container, cid),
            usage_resource=vm,
            subscribed_resource=paid.lines[0].resource_id,
            paid_order=paid.id,
            pending_order=pending.id,
            package=package_id,
            spent_coupon=spent.id,
            spare_coupon=spare.id,
            notice=0,
        )
    terms = InvoiceTerms.from_settings(container.settings)
    for owned in world.values():
        container.write(
            lambda conn, now, o=owned: invoices.set_profile(
                conn, o.customer_id, {"title_type": "personal", "title": "Alice or Bob"}, now=now
            )
        )
        made = container.write(
            lambda conn, now, o=owned: invoices.request(
                conn, o.customer_id, [{"kind": "order", "id": o.paid_order}], terms,
                reference=f"{o.customer_id}-invoice", now=now,
            )
        )  # fmt: skip
        owned.invoice = made[0].id
    customer_notices.run_due(container)
    for owned in world.values():
        owned.notice = _notice_of(container, owned.customer_id)
    return world


def unthrottled_client(container: Container) -> TestClient:
    """The application with a per-key rate limit no test reaches (one test checks the limit)."""
    settings = container.settings.model_copy(update={"bss_rate_per_s": 10_000, "bss_burst": 10_000})
    return TestClient(create_app(dataclasses.replace(container, settings=settings)))


def error_code(response: Any) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]["code"]


class CustomerApi:
    """`api.get(path)` on /customer/v1 as one customer; asserts the status, answers the body."""

    def __init__(self, client: TestClient, auth: tuple[str, str]) -> None:
        self.client = client
        self.auth = auth

    def call(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        response = self.client.request(method, PREFIX + path, auth=self.auth, **kwargs)
        assert response.status_code == expect, (method, path, response.status_code, response.text)
        return response.json()

    def get(self, path: str, expect: int = 200, **kwargs: Any) -> Any:
        return self.call("GET", path, expect, **kwargs)

    def post(self, path: str, json: Any = None, expect: int = 200) -> Any:
        return self.call("POST", path, expect, json=json)

    def put(self, path: str, json: Any, expect: int = 200) -> Any:
        return self.call("PUT", path, expect, json=json)

    def refused(self, method: str, path: str, status: int, code: str, **kwargs: Any) -> dict:
        response = self.client.request(method, PREFIX + path, auth=self.auth, **kwargs)
        assert response.status_code == status, (method, path, response.status_code, response.text)
        assert error_code(response) == code, response.text
        return response.json()["error"]
