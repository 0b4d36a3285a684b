"""One customer's bad data never stops billing for the others (issue 13, item 1).

A customer whose hour cannot be priced (a price the catalog lost, usage too large to bill) is
held: every other customer is settled on time, the hold is visible with its reason, and once
the cause is mended the held hours are settled exactly once by the next run."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

from cloudbill.api.app import create_app
from cloudbill.catalog import loader
from cloudbill.catalog import service as catalog_service
from cloudbill.kernel.periods import hour_floor
from cloudbill.settle import holds
from cloudbill.store.schema import fee_record, outbox_event, usage_record
from cloudbill.worker.jobs import settle_due

from ..conftest import T0
from ..helpers import assert_books_balance, new_customer
from .test_settlement import VM, advance, fees, hour, meter, register, topup, units

HOURLY = units("0.0781")
AUTH = {"Authorization": "Bearer test-token"}


@pytest.fixture
def client(container) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(create_app(container))


def _catalog_without(container, spec_code: str, version: str) -> None:  # type: ignore[no-untyped-def]
    doc = loader.read_file(loader.DEFAULT_CATALOG_PATH)
    data = doc.model_dump(mode="json")
    data["version"] = version
    for service in data["services"]:
        for rtype in service["resource_types"]:
            for spec in rtype["specs"]:
                if spec["code"] == spec_code:
                    spec["prices"]["USD"]["pay_per_use"] = {}
    container.write(
        lambda conn, now: catalog_service.load(
            conn, loader.parse_data(data), source="test", now=now, allow_breaking=True
        )
    )


def _default_catalog(container, version: str) -> None:  # type: ignore[no-untyped-def]
    data = loader.read_file(loader.DEFAULT_CATALOG_PATH).model_dump(mode="json")
    data["version"] = version
    container.write(
        lambda conn, now: catalog_service.load(conn, loader.parse_data(data), source="t", now=now)
    )


def _open_holds(container):  # type: ignore[no-untyped-def]
    return container.read(lambda conn, _now: holds.open_holds(conn))


def _topics(container) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with container.db.read() as conn:
        return conn.execute(
            select(outbox_event.c.topic, outbox_event.c.subject_id)
            .where(outbox_event.c.topic.like("settlement.%"))
            .order_by(outbox_event.c.id)
        ).all()


def test_a_lost_price_holds_one_customer_and_the_others_are_billed_on_time(container) -> None:  # type: ignore[no-untyped-def]
    bad, good = new_customer(container, "bad"), new_customer(container, "good")
    for c, rid in ((bad, "vm-bad"), (good, "vm-good")):
        topup(container, c.id, "10.00", f"seed-{rid}")
    register(container, bad.id, "vm-bad", ("hws.resource.type.vm", "s6.small.1"))
    register(container, good.id, "vm-good", VM)
    meter(container, ("b7", "vm-bad", "duration", "0.5", hour(7, 30), hour(8), "h"),
          ("b8", "vm-bad", "duration", "1", hour(8), hour(9), "h"),
          ("b7-half", "vm-bad", "duration", "0.5", hour(7), hour(7, 30), "h"),
          ("g7", "vm-good", "duration", "1", hour(7), hour(8), "h"))  # fmt: skip
    _catalog_without(container, "s6.small.1", "lost-price")

    assert [r.hour.hour for r in settle_due(container)] == [7]
    assert [(f.customer_id, f.hour_start.hour) for f in fees(container)] == [(good.id, 7)]
    held = _open_holds(container)
    assert list(held) == [bad.id]
    assert held[bad.id].code == "CATALOG_ITEM_NOT_FOUND"
    assert "s6.small.1" in held[bad.id].reason and held[bad.id].attempts == 1
    assert held[bad.id].since_hour == T0.replace(hour=7)
    assert _topics(container) == [("settlement.customer_held", bad.id)]

    # The held customer's next hour is held too; the good one goes on.
    meter(container, ("g8", "vm-good", "duration", "1", hour(8), hour(9), "h"))
    advance(container, hours=1)
    assert [r.hour.hour for r in settle_due(container)] == [8]
    assert _open_holds(container)[bad.id].attempts == 2
    assert [f.hour_start.hour for f in fees(container, customer_id=good.id)] == [7, 8]
    # The price comes back: the next run bills everything held, once.
    _default_catalog(container, "price-back")
    advance(container, hours=1)
    assert [r.hour.hour for r in settle_due(container)] == [9]
    assert _open_holds(container) == {}
    billed = [
        (f.hour_start.hour, f.is_late, f.usage_e10) for f in fees(container, customer_id=bad.id)
    ]
    assert billed == [(7, True, 10**10), (8, True, 10**10)]
    advance(container, hours=3)
    settle_due(container)
    assert len(fees(container, customer_id=bad.id)) == 2  # never again
    assert len(fees(container, customer_id=good.id)) == 2
    assert _topics(container) == [
        ("settlement.customer_held", bad.id), ("settlement.customer_released", bad.id),
    ]  # fmt: skip
    assert_books_balance(container)


def _poison(container, customer_id: str, resource_id: str, at, n: int) -> None:  # type: ignore[no-untyped-def]
    """Records as an earlier release stored them, before ingestion bounded quantities: each
    fits its column, their sum overflows a 64-bit integer."""
    start = T0.replace(hour=at)
    rows = [
        {"record_id": f"poison-{i}", "payload_hash": "x" * 32, "customer_id": customer_id,
         "resource_id": resource_id, "usage_type": "duration", "quantity": "900000000",
         "unit": "h", "pricing_unit": "h", "quantity_e10": 900_000_000 * 10**10,
         "start_at": start, "end_at": start + timedelta(minutes=30),
         "first_hour": hour_floor(start), "last_hour": hour_floor(start), "received_at": T0}
        for i in range(n)
    ]  # fmt: skip
    with container.db.write() as conn:
        conn.execute(insert(usage_record), rows)


def test_a_poison_batch_holds_its_customer_until_voided(container) -> None:  # type: ignore[no-untyped-def]
    bad, good = new_customer(container, "bad"), new_customer(container, "good")
    for c, rid in ((bad, "vm-bad"), (good, "vm-good")):
        topup(container, c.id, "10.00", f"seed-{rid}")
        register(container, c.id, rid, VM)
    meter(container, ("ok7", "vm-bad", "duration", "1", hour(7), hour(8), "h"),
          ("g7", "vm-good", "duration", "1", hour(7), hour(8), "h"))  # fmt: skip
    _poison(container, bad.id, "vm-bad", 7, 2)

    assert [r.hour.hour for r in settle_due(container)] == [7]
    assert [f.customer_id for f in fees(container)] == [good.id]
    held = _open_holds(container)[bad.id]
    assert held.code == "AMOUNT_OUT_OF_RANGE"

    # Voiding what was never billed mends it; a good customer's record cannot be voided.
    for rid in ("poison-0", "poison-1"):
        container.write(
            lambda conn, now, r=rid: holds.void_usage(conn, r, reason="bad meter", now=now)
        )
    try:
        container.write(lambda conn, now: holds.void_usage(conn, "g7", reason="x", now=now))
    except Exception as exc:
        assert "not held" in str(exc)
    else:
        raise AssertionError("a billed customer's usage was voided")
    advance(container, hours=1)
    settle_due(container)
    assert _open_holds(container) == {}
    assert [
        (f.hour_start.hour, f.usage_e10, f.amount_units)
        for f in fees(container, customer_id=bad.id)
    ] == [(7, 10**10, HOURLY)]
    assert_books_balance(container)
    with container.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(fee_record)).scalar_one() == 2


def test_holds_are_visible_to_the_operator_and_records_voided_through_cli_and_api(
    container, client
) -> None:  # type: ignore[no-untyped-def]
    bad, good = new_customer(container, "bad"), new_customer(container, "good")
    for c, rid in ((bad, "vm-bad"), (good, "vm-good")):
        topup(container, c.id, "10.00", f"seed-{rid}")
        register(container, c.id, rid, VM)
    meter(container, ("g7", "vm-good", "duration", "1", hour(7), hour(8), "h"))
    _poison(container, bad.id, "vm-bad", 7, 3)
    settle_due(container)

    listed = client.get("/operator/v1/settlement-holds", headers=AUTH).json()
    assert listed["total"] == 1
    item = listed["items"][0]
    assert (item["customer_id"], item["code"], item["released_at"]) == (
        bad.id, "AMOUNT_OUT_OF_RANGE", None,
    )  # fmt: skip
    metrics = client.get("/metrics").text
    assert "cloudbill_settlement_held_customers 1.0" in metrics

    url = "/operator/v1/usage-records/{}/void"
    refused = client.post(url.format("g7"), json={"reason": "dup"}, headers=AUTH)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "INVALID_STATE"
    missing = client.post(url.format("nope"), json={"reason": "dup"}, headers=AUTH)
    assert missing.status_code == 404
    assert client.post(url.format("poison-0"), json={}, headers=AUTH).status_code == 400
    blank = client.post(url.format("poison-0"), json={"reason": "  "}, headers=AUTH)
    assert blank.status_code == 400 and blank.json()["error"]["code"] == "INVALID_ARGUMENT"
    for rid in ("poison-0", "poison-1", "poison-2"):
        done = client.post(url.format(rid), json={"reason": "meter fault"}, headers=AUTH)
        assert done.status_code == 200 and done.json()["reason"] == "meter fault"
    again = client.post(url.format("poison-0"), json={"reason": "meter fault"}, headers=AUTH)
    assert again.status_code == 200  # idempotent
    advance(container, hours=1)
    settle_due(container)
    assert client.get("/operator/v1/settlement-holds", headers=AUTH).json()["total"] == 0
    everything = client.get(
        "/operator/v1/settlement-holds", params={"include_released": "true"}, headers=AUTH
    ).json()
    assert everything["items"][0]["released_settlement_id"] is not None
    assert fees(container, customer_id=bad.id) == []  # nothing left to bill
    assert_books_balance(container)
