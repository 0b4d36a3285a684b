"""Review of the enterprise merge (f51afa1), through the customer API: each test proves one
defect and fails until it is fixed."""

from __future__ import annotations

from fastapi.testclient import TestClient

from cloudbill.bootstrap import Container
from cloudbill.customers import service as customers
from tests.helpers import new_customer
from tests.integration.customer_world import CustomerApi, issue_key, unthrottled_client


def api_of(client: TestClient, container: Container, customer_id: str) -> CustomerApi:
    issued = issue_key(container, customer_id)
    return CustomerApi(client, (issued.key.id, issued.secret))


def test_an_outsider_cannot_probe_a_strangers_arrears_by_inviting_it(container: Container) -> None:
    """POST /enterprise/members resolves the invitee by NAME and checks its finances at once
    (service._check -> rules.check_association -> owes(member_figures)): any customer learns
    whether any other customer has debt or arrears (ENTERPRISE_MEMBER_OWES), which the
    members list itself is careful to hide until the invitee accepts. accept() re-checks the
    condition, so the invitation need not answer it."""
    client = unthrottled_client(container)
    stranger = new_customer(container, "nosy-corp")
    new_customer(container, "clean-corp")
    owing = new_customer(container, "owing-corp")
    container.write(lambda conn, now: customers.adjust(
        conn, owing.id, "3.00", direction="charge", reason="fee", reference="owe",
        now=now))  # fmt: skip
    api = api_of(client, container, stranger.id)
    by_name = lambda name: client.post(  # noqa: E731
        "/customer/v1/enterprise/members", auth=api.auth,
        json={"member_id": name, "mode": "independent"})  # fmt: skip
    to_clean, to_owing = by_name("clean-corp"), by_name("owing-corp")
    assert to_clean.status_code == 201, to_clean.text
    assert to_owing.status_code == to_clean.status_code, (
        "the answer to an invitation tells an outsider the invitee's arrears: " + to_owing.text
    )
