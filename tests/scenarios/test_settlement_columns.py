"""Column-wise settlement holds a customer whose hour's fees pass int64 together although each
fits by itself, with rate()'s reason, and bills the others (numpy's int64 sums wrap silently:
settle/paying.py sums exactly)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert

from cloudbill.catalog import loader
from cloudbill.catalog import service as catalog_service
from cloudbill.kernel.periods import hour_floor
from cloudbill.settle import holds
from cloudbill.store.schema import usage_record
from cloudbill.worker.jobs import settle_due

from ..conftest import T0
from ..helpers import assert_books_balance, new_customer
from .test_settlement import VM, fees, hour, meter, register, topup


def _dear_vm(container) -> None:  # type: ignore[no-untyped-def]
    """The VM at 1,000,000,000 an hour: 20 hours cost 2e18 units (still rated in int64), five
    such lines pass int64 together."""
    data = loader.read_file(loader.DEFAULT_CATALOG_PATH).model_dump(mode="json")
    data["version"] = "dear-vm"
    for service in data["services"]:
        for rtype in service["resource_types"]:
            for spec in rtype["specs"]:
                if spec["code"] == VM[1]:
                    spec["prices"]["USD"]["pay_per_use"]["duration"]["price"] = "1000000000"
    container.write(
        lambda conn, now: catalog_service.load(
            conn, loader.parse_data(data), source="test", now=now, allow_breaking=True
        )
    )


def test_an_hour_past_int64_in_sum_holds_its_customer_only(container) -> None:  # type: ignore[no-untyped-def]
    _dear_vm(container)
    big, small = new_customer(container, "big"), new_customer(container, "small")
    topup(container, small.id, "10.00", "seed-small")
    big_vms = [f"vm-big-{n}" for n in range(5)]
    for c, rid in [*((big, rid) for rid in big_vms), (small, "vm-small")]:
        register(container, c.id, rid, VM)
    meter(container, ("s7", "vm-small", "duration", "0.000000001", hour(7), hour(8), "h"))
    start = T0.replace(hour=7)
    with container.db.write() as conn:  # as stored before ingestion bounded quantities
        conn.execute(insert(usage_record), [
            {"record_id": f"big-{rid}", "payload_hash": "x" * 32, "customer_id": big.id,
             "resource_id": rid, "usage_type": "duration", "quantity": "20", "unit": "h",
             "pricing_unit": "h", "quantity_e10": 20 * 10**10, "start_at": start,
             "end_at": start + timedelta(minutes=30), "first_hour": hour_floor(start),
             "last_hour": hour_floor(start), "received_at": T0}
            for rid in big_vms
        ])  # fmt: skip

    assert [r.hour.hour for r in settle_due(container)] == [7]
    assert [f.customer_id for f in fees(container)] == [small.id]
    held = container.read(lambda conn, _now: holds.open_holds(conn))[big.id]
    assert held.code == "AMOUNT_OUT_OF_RANGE"
    assert "the hour's fees" in held.reason
    assert_books_balance(container)
