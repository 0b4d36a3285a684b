"""Costs through the customer API, the operator API and `cloudbill bill costs`: the same report
as the engine's, refusals with stable codes, and another customer's costs out of reach."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from cloudbill.bootstrap import Container
from cloudbill.cli import app as cli_app
from cloudbill.cli import bills as cli_bills
from cloudbill.costs import service as costs
from cloudbill.costs.views import cost_view

from ..compat.conftest import issue_key
from ..conftest import T0
from ..helpers import new_customer
from ..scenarios.test_costs import world
from .customer_world import CustomerApi, unthrottled_client

__all__ = ["world"]  # the fixture, used by name
AUTH = {"Authorization": "Bearer test-token"}
FIRST, LAST = str(T0.date() - timedelta(days=1)), str(T0.date() + timedelta(days=12))
QUERY = {
    "first": FIRST, "last": LAST, "granularity": "day", "cost_type": "amortized",
    "group_by": ["bill_type"], "exclude": ["bill_type=usage"],
}  # fmt: skip


def engine_view(container: Container, customer_id: str) -> dict[str, Any]:
    query = costs.query_of(
        first=FIRST, last=LAST, granularity="day", cost_type="amortized", group_by=["bill_type"],
        filters=costs.filters_of_text(exclude=["bill_type=usage"]),
    )  # fmt: skip
    report = container.read(lambda conn, _now: costs.costs(conn, customer_id, query))
    return cost_view(customer_id, report)


def test_customer_and_operator_apis_answer_the_engines_report(
    container: Container, world: dict[str, Any]
) -> None:
    cid = world["customer"].id
    key = issue_key(container, cid)
    client = unthrottled_client(container)
    me = CustomerApi(client, (key.key.id, key.secret))
    want = engine_view(container, cid)
    got = me.get("/costs", params=QUERY)
    assert got == want
    assert {row["group"]["bill_type"] for row in got["rows"]} == {
        "new_purchase", "unsubscription_refund", "unsubscription_fee",
    }  # fmt: skip
    assert len(got["labels"]) == 14 and len(got["rows"][0]["costs"]) == 14
    operator = client.get(f"/operator/v1/customers/{cid}/costs", params=QUERY, headers=AUTH)
    assert operator.status_code == 200 and operator.json() == want
    for params, code in (
        ({**QUERY, "group_by": ["colour"]}, "INVALID_ARGUMENT"),
        ({**QUERY, "exclude": ["bill_type"]}, "INVALID_ARGUMENT"),
        ({**QUERY, "last": "2026-12-31"}, "LIMIT_EXCEEDED"),
        ({**QUERY, "granularity": "week"}, "INVALID_ARGUMENT"),
    ):
        me.refused("GET", "/costs", 400, code, params=params)
    # another customer sees only its own (empty) costs
    bob = new_customer(container, "bob")
    bob_key = issue_key(container, bob.id)
    theirs = CustomerApi(client, (bob_key.key.id, bob_key.secret)).get("/costs", params=QUERY)
    assert theirs["rows"] == [] and theirs["total"]["amount"] == "0.00"


runner = CliRunner()


def test_cli_costs(
    container: Container, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_bills, "container", lambda: container)
    cid = world["customer"].id
    args = ["bill", "costs", cid, FIRST, LAST, "--by", "day", "--cost-type", "amortized",
            "--group-by", "bill_type", "--exclude", "bill_type=usage"]  # fmt: skip
    result = runner.invoke(cli_app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == engine_view(container, cid)
    table = runner.invoke(cli_app, args)
    assert table.exit_code == 0 and "unsubscription_refund" in table.stdout
    bad = runner.invoke(cli_app, ["bill", "costs", cid, FIRST, LAST, "--by", "week"])
    assert bad.exit_code == 2 and "INVALID_ARGUMENT" in bad.stderr
