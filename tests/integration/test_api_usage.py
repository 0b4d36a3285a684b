"""Usage in and settlement through the operator API; the in-process worker of `serve`."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cloudbill.api.app import create_app
from cloudbill.store import clock_repo
from cloudbill.store.schema import settlement_run
from cloudbill.worker.background import BackgroundWorker

from ..helpers import snapshot

AUTH = {"Authorization": "Bearer test-token"}


@pytest.fixture
def api(container):  # type: ignore[no-untyped-def]
    client = TestClient(create_app(container), headers=AUTH)
    customer = client.post(
        "/operator/v1/customers", json={"name": "acme", "currency": "USD"}
    ).json()
    client.post(f"/operator/v1/customers/{customer['id']}/topups",
                json={"amount": "5.00", "reference": "seed"})  # fmt: skip
    client.post("/operator/v1/resources", json={
        "customer_id": customer["id"], "resource_type": "hws.resource.type.vm",
        "spec": "s6.large.2", "region": "ap-southeast-1", "name": "vm", "id": "vm-1",
        "created_at": "2026-03-15T09:00:00Z",  # a day before the clock: earlier hours are metered
    })  # fmt: skip
    return client


def record(rid: str, **overrides: object) -> dict[str, object]:
    return {"record_id": rid, "resource_id": "vm-1", "usage_type": "duration",
            "quantity": "3600", "unit": "s", "start": "2026-03-16T07:00:00Z",
            "end": "2026-03-16T08:00:00Z", **overrides}  # fmt: skip


def test_usage_then_settlement_through_the_api(api, container) -> None:  # type: ignore[no-untyped-def]
    answer = api.post("/operator/v1/usage-records", json={"records": [record("r1"), record("r1")]})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accepted": 1, "duplicates": 1, "rejected_count": 0, "rejected": []}
    settled = api.post("/operator/v1/settlements/run-due").json()["settled"]
    assert [s["hour"] for s in settled] == ["2026-03-16T07:00:00Z"]
    runs = api.get("/operator/v1/settlements").json()
    assert runs["total"] == 1 and runs["items"][0]["fees"] == 1
    nothing = {
        "settled": [],
        "transitions": [],
        "postpaid_bills_issued": [],
        "overdue_customers": [],
        "subscriptions": {
            "orders_expired": [],
            "renewed": [],
            "renew_failed": [],
            "reminders": 0,
            "expiry_steps": [],
        },
    }
    assert api.post("/operator/v1/settlements/run-due").json() == nothing


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        (record("x", quantity=1.5), "INVALID_AMOUNT"),
        (record("x", resource_id="nope"), "RESOURCE_NOT_FOUND"),
        (record("x", end="2026-03-16T06:00:00Z"), "INVALID_ARGUMENT"),
    ],
)
def test_a_rejected_record_rejects_the_batch_with_reasons(api, container, bad, code) -> None:  # type: ignore[no-untyped-def]
    before = snapshot(container)
    answer = api.post("/operator/v1/usage-records", json={"records": [record("ok"), bad]})
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "USAGE_REJECTED"
    assert [(r["index"], r["code"]) for r in error["details"]["rejected"]] == [(1, code)]
    assert snapshot(container) == before


def test_malformed_batches(api) -> None:  # type: ignore[no-untyped-def]
    assert api.post("/operator/v1/usage-records", json={"records": []}).status_code == 400
    too_many = {"records": [record(f"r{i}") for i in range(1001)]}
    assert api.post("/operator/v1/usage-records", json=too_many).status_code == 400
    unknown_field = {"records": [record("r1", colour="blue")]}
    assert api.post("/operator/v1/usage-records", json=unknown_field).json()["error"]["code"] == (
        "INVALID_ARGUMENT"
    )


def test_the_serve_worker_settles_on_its_own(api, container) -> None:  # type: ignore[no-untyped-def]
    api.post("/operator/v1/usage-records", json={"records": [record("r1")]})
    worker = BackgroundWorker(container, interval_s=0.05)
    worker.start()
    try:
        container.write(lambda conn, _now: clock_repo.advance(conn, timedelta(hours=1)))
        deadline = time.monotonic() + 20
        runs = 0
        while time.monotonic() < deadline and runs < 2:
            with container.db.read() as conn:
                runs = conn.execute(select(func.count()).select_from(settlement_run)).scalar_one()
            time.sleep(0.05)
    finally:
        worker.stop()
    # now 10:00: 07:00 (due 08:15) and 08:00 (due 09:15) are settled; 09:00 is due at 10:15
    assert runs == 2
