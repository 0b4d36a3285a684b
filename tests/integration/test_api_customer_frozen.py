"""A customer the operator froze still sees everything on the customer API, but every write is
refused with CUSTOMER_FROZEN and changes nothing: no refund by unsubscription or downgrade, no
policy change, no cancelled order, no new or re-enabled key. Disabling a key stays possible."""

from __future__ import annotations

from fastapi.testclient import TestClient

from cloudbill.bootstrap import Container
from cloudbill.customers import service as customers
from cloudbill.customers.model import CustomerStatus
from tests.helpers import snapshot
from tests.integration.customer_world import CustomerApi, Owned

pytest_plugins = ("tests.integration.customer_fixtures",)
MONTH = {"period_unit": "month", "period_count": 1}


def test_a_frozen_customer_reads_but_cannot_write(
    container: Container, client: TestClient, world: dict[str, Owned]
) -> None:
    alice = world["alice"]
    api = CustomerApi(client, alice.auth)
    second = api.post("/access-keys", {"description": "spare"}, expect=201)["access_key"]
    api.post(f"/access-keys/{second}/disable")
    container.write(
        lambda conn, now: customers.set_status(
            conn, alice.customer_id, CustomerStatus.FROZEN, reason="test", now=now
        )
    )
    assert api.get("/account/overview")["cash_balance"]
    assert api.get(f"/orders/{alice.paid_order}")["id"] == alice.paid_order
    sub = alice.subscribed_resource
    writes = [
        ("POST", "/orders/unsubscription", {"resource_ids": [sub]}),
        ("POST", "/orders/change", {"resource_id": sub, "new_spec": "s6.small.1"}),
        ("PUT", f"/subscriptions/{sub}/auto-renew", {"enabled": True}),
        ("PUT", f"/subscriptions/{sub}/expire-policy", {"policy": "release"}),
        ("POST", f"/orders/{alice.pending_order}/cancel", {}),
        ("POST", f"/orders/{alice.pending_order}/pay", {}),
        ("POST", "/orders/renewal", {"resource_ids": [sub], **MONTH}),
        ("POST", "/access-keys", {"description": "more"}),
        ("POST", f"/access-keys/{second}/enable", None),
    ]
    before = snapshot(container)
    for method, path, body in writes:
        api.refused(method, path, 409, "CUSTOMER_FROZEN", json=body)
    assert snapshot(container) == before
    api.post(f"/access-keys/{alice.key.key.id}/disable")  # taking power away is allowed
