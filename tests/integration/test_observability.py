"""What an operator sees of a running server: /metrics after a settlement, /ready, request ids on
answers and on the log lines of their request (JSON logs)."""

from __future__ import annotations

import io
import json
import re

import pytest
from fastapi.testclient import TestClient

from cloudbill.api.app import create_app
from cloudbill.bootstrap import Container
from cloudbill.observe import logs
from cloudbill.worker.jobs import run_due

from ..helpers import new_customer
from ..scenarios.test_settlement import advance, hour, meter, register, topup

AUTH = {"Authorization": "Bearer test-token"}


def scrape(client: TestClient) -> dict[str, float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    values: dict[str, float] = {}
    for line in response.text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def metric(values: dict[str, float], name: str, **labels: str) -> float:
    """The value of a series (0 when absent), labels matched exactly."""
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for series, value in values.items():
        if series == name and not labels:
            return value
        found = re.fullmatch(rf"{re.escape(name)}\{{(.*)\}}", series)
        if found and ",".join(sorted(found.group(1).split(","))) == inner:
            return value
    return 0.0


@pytest.fixture
def client(container: Container) -> TestClient:
    return TestClient(create_app(container))


def test_metrics_after_a_settlement(container: Container, client: TestClient) -> None:
    before = scrape(client)
    acme = new_customer(container)
    topup(container, acme.id, "10.00", "seed")
    register(container, acme.id, "vm-1")
    meter(
        container,
        ("r1", "vm-1", "duration", "3600", hour(6), hour(7), "s"),
        ("r2", "vm-1", "duration", "3600", hour(7), hour(8), "s"),
    )
    advance(container, hours=1)
    report = run_due(container)
    assert len(report.settled) == 3  # hours 06, 07 and the empty 08
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return metric(after, name, **labels) - metric(before, name, **labels)

    assert grew("cloudbill_settlement_hours_total") == 3
    assert grew("cloudbill_fee_records_total") == 2
    assert grew("cloudbill_usage_records_total", outcome="accepted") == 2
    assert grew("cloudbill_ledger_transactions_total", kind="fee") == 2
    assert grew("cloudbill_ledger_transactions_total", kind="topup") == 1
    assert grew("cloudbill_worker_passes_total", outcome="ok") == 1
    assert metric(after, "cloudbill_settlement_lag_seconds") == 0
    assert metric(after, "cloudbill_customers_in_arrears") == 0
    # a refused batch is counted as refused, not as accepted
    refused = client.post(
        "/operator/v1/usage-records",
        headers=AUTH,
        json={"records": [{"record_id": "x", "resource_id": "nope", "usage_type": "duration",
                           "quantity": "1", "start": hour(8), "end": hour(9)}]},
    )  # fmt: skip
    assert refused.status_code == 422
    again = scrape(client)
    assert (
        metric(again, "cloudbill_usage_records_total", outcome="refused")
        - metric(after, "cloudbill_usage_records_total", outcome="refused")
        == 1
    )
    assert metric(again, "cloudbill_usage_records_total", outcome="accepted") == metric(
        after, "cloudbill_usage_records_total", outcome="accepted"
    )
    route = {"api": "operator", "method": "POST", "route": "/operator/v1/usage-records"}
    assert metric(again, "cloudbill_http_requests_total", status="422", **route) >= 1


def test_ready_checks_the_database_and_the_lag(container: Container, client: TestClient) -> None:
    acme = new_customer(container)
    register(container, acme.id, "vm-1")
    meter(container, ("r1", "vm-1", "duration", "3600", hour(6), hour(7), "s"))
    advance(container, hours=1)
    run_due(container)
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    advance(container, hours=3)  # three due hours wait: lag past the 1-hour default
    behind = client.get("/ready")
    assert behind.status_code == 503
    assert behind.json()["checks"]["settlement"] == "behind"
    assert behind.json()["checks"]["settlement_lag_s"] > 3600
    assert scrape(client)["cloudbill_settlement_lag_seconds"] > 3600
    run_due(container)
    assert client.get("/ready").status_code == 200
    assert client.get("/health").json()["status"] == "ok"


def test_a_request_id_on_the_answer_and_every_log_line(
    container: Container, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cloudbill.worker import health

    def unreachable(*_args: object, **_kwargs: object) -> None:
        raise ConnectionError("database gone")

    stream = io.StringIO()
    logs.configure("info", "json", stream=stream)
    try:
        answer = client.get("/operator/v1/customers", headers=AUTH)
        monkeypatch.setattr(health, "lag", unreachable)
        not_ready = client.get("/ready")  # its handler logs a warning of its own
        monkeypatch.undo()
        given = client.get("/operator/v1/customers/nope", headers={**AUTH, "X-Request-Id": "abc-1"})
        bad = client.get("/health", headers={"X-Request-Id": "no spaces allowed!"})
    finally:
        logs.configure("warning", "text")
    request_id = answer.headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert given.status_code == 404 and given.headers["X-Request-Id"] == "abc-1"
    assert re.fullmatch(r"[0-9a-f]{32}", bad.headers["X-Request-Id"])  # not the caller's
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    mine = [line for line in lines if line.get("request_id") == request_id]
    assert mine and mine[-1]["event"] == "request"
    assert (mine[-1]["route"], mine[-1]["status"], mine[-1]["method"]) == (
        "/operator/v1/customers",
        200,
        "GET",
    )
    assert {"timestamp", "level", "logger", "duration_ms"} <= set(mine[-1])
    assert any(line.get("request_id") == "abc-1" and line["status"] == 404 for line in lines)
    assert not_ready.status_code == 503
    inside = [line for line in lines if line.get("request_id") == not_ready.headers["X-Request-Id"]]
    # (probes log their own request line at debug only)
    assert [line["event"] for line in inside] == ["readiness check failed"]
    assert inside[0]["level"] == "warning" and "database gone" in inside[0]["error"]


def test_the_customer_api_is_measured_by_its_own_routes(
    container: Container, client: TestClient
) -> None:
    client.get("/customer/v1/account")  # no key: 401
    values = scrape(client)
    series = {"api": "customer", "method": "GET", "route": "/customer/v1/account", "status": "401"}
    assert metric(values, "cloudbill_http_requests_total", **series) >= 1
