"""Usage a resource cannot have had, on both databases: usage from before the resource was
created, and more than an hour of running time in a clock hour summed over the records of one
resource and usage type (a meter resending under new ids, two meters, overlapping intervals),
in a batch, across batches, and across the chunks of a file."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from cloudbill.api.app import create_app
from cloudbill.ingest import file_ingest
from cloudbill.ingest.model import UsageInput
from cloudbill.kernel.errors import CloudbillError, ErrorCode
from cloudbill.resources import service as resources
from cloudbill.resources.model import ResourceInput
from cloudbill.settle import holds
from cloudbill.store.schema import usage_record
from cloudbill.worker.jobs import settle_due

from ..conftest import T0
from ..helpers import new_customer, snapshot
from .test_ingest import VM, _ingest, _resource, rec


def _register(container, customer_id: str, rid: str, **extra):  # type: ignore[no-untyped-def]
    data = ResourceInput(customer_id=customer_id, resource_type=VM[0], spec=VM[1],
                         billing_mode="pay_per_use", region="ap-southeast-1", name=rid, id=rid,
                         **extra)  # fmt: skip
    return container.write(lambda conn, now: resources.register(conn, data, now=now))


def _rejections(info: pytest.ExceptionInfo[CloudbillError]) -> list[tuple[int, str]]:
    assert info.value.code == ErrorCode.USAGE_REJECTED
    return [(r["index"], r["code"]) for r in info.value.details["rejected"]]


def _at(hour: int, minute: int = 0, day: int = 16) -> str:
    return f"2026-03-{day:02d}T{hour:02d}:{minute:02d}:00Z"


def _run(rid: str, start: str, end: str, seconds: str, resource: str = "vm-1") -> UsageInput:
    return rec(rid, resource=resource, quantity=seconds, start=start, end=end)


# -- before the resource was created ---------------------------------------------------------


def test_usage_before_its_resource_was_created_is_refused(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    resource, _ = _register(container, customer.id, "vm-new")  # created now, at T0 = 09:00
    assert resource.created_at == T0
    before = snapshot(container)
    with pytest.raises(CloudbillError) as info:
        _ingest(container, [_run("early", _at(7), _at(8), "3600", "vm-new")])
    assert _rejections(info) == [(0, "USAGE_BEFORE_RESOURCE")]
    assert "before resource vm-new was created" in info.value.details["rejected"][0]["reason"]
    assert snapshot(container) == before
    # A meter's clock may run a little behind the billing center's: five minutes are allowed.
    assert _ingest(container, [_run("skew", _at(8, 56), _at(9), "240", "vm-new")]).accepted == 1
    with pytest.raises(CloudbillError) as info:
        _ingest(container, [_run("too-early", _at(8, 54), _at(8, 56), "120", "vm-new")])
    assert _rejections(info) == [(0, "USAGE_BEFORE_RESOURCE")]


def test_a_resource_registered_after_the_fact_takes_usage_from_its_creation(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    created = T0 - timedelta(days=2)
    resource, new = _register(container, customer.id, "vm-late", created_at=created)
    assert new and resource.created_at == created and resource.status_since == created
    day_after = _run("d1", _at(9, day=14), _at(10, day=14), "3600", "vm-late")
    assert _ingest(container, [day_after]).accepted == 1
    with pytest.raises(CloudbillError) as info:
        _ingest(container, [_run("d0", _at(8, day=14), _at(9, day=14), "3600", "vm-late")])
    assert _rejections(info) == [(0, "USAGE_BEFORE_RESOURCE")]
    # Registering again: without created_at, or with the same, is the same resource.
    assert _register(container, customer.id, "vm-late")[1] is False
    assert _register(container, customer.id, "vm-late", created_at=created)[1] is False
    with pytest.raises(CloudbillError) as conflict:
        _register(container, customer.id, "vm-late", created_at=created + timedelta(hours=1))
    assert conflict.value.code == ErrorCode.ALREADY_EXISTS


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"created_at": T0 + timedelta(minutes=1)}, "cannot be in the future"),
        ({"created_at": T0 - timedelta(days=91)}, "at most 90 days ago"),
        (
            {"created_at": T0 - timedelta(days=1), "billing_mode": "yearly_monthly",
             "expire_at": T0 + timedelta(days=30)},
            "only a pay-per-use resource",
        ),
    ],
)  # fmt: skip
def test_a_creation_time_that_cannot_be_is_refused(container, extra, message) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    before = snapshot(container)
    fields = {"billing_mode": "pay_per_use", **extra}
    data = ResourceInput(customer_id=customer.id, resource_type=VM[0], spec=VM[1],
                         region="ap-southeast-1", name="x", id="vm-x", **fields)  # fmt: skip
    with pytest.raises(CloudbillError) as info:
        container.write(lambda conn, now: resources.register(conn, data, now=now))
    assert info.value.code == ErrorCode.INVALID_ARGUMENT and message in info.value.message
    assert snapshot(container) == before


def test_the_operator_api_registers_a_resource_created_earlier(container) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(create_app(container))
    auth = {"Authorization": "Bearer test-token"}
    customer = new_customer(container)
    body = {"customer_id": customer.id, "resource_type": VM[0], "spec": VM[1],
            "region": "ap-southeast-1", "name": "api-vm", "id": "api-vm"}  # fmt: skip
    created = (T0 - timedelta(hours=5)).isoformat()
    answer = client.post("/operator/v1/resources", json={**body, "created_at": created},
                         headers=auth)  # fmt: skip
    assert answer.status_code == 201, answer.text
    assert answer.json()["created_at"] == created.replace("+00:00", "Z")
    future = (T0 + timedelta(hours=1)).isoformat()
    refused = client.post("/operator/v1/resources", headers=auth,
                          json={**body, "id": "api-vm-2", "created_at": future})  # fmt: skip
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "INVALID_ARGUMENT"


# -- at most an hour of running time in an hour ----------------------------------------------


@pytest.fixture
def vm(container):  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    _resource(container, customer.id, "vm-1")
    _resource(container, customer.id, "vm-2")
    return customer


def _stored_ids(container) -> set[str]:  # type: ignore[no-untyped-def]
    with container.db.read() as conn:
        return set(conn.execute(select(usage_record.c.record_id)).scalars())


def test_one_vm_cannot_run_two_hours_in_an_hour_under_two_ids(container, vm) -> None:  # type: ignore[no-untyped-def]
    before = snapshot(container)
    with pytest.raises(CloudbillError) as info:
        _ingest(container, [_run("a", _at(7), _at(8), "3600"), _run("b", _at(7), _at(8), "3600")])
    assert _rejections(info) == [(1, "USAGE_TIME_EXCEEDED")]
    reason = info.value.details["rejected"][0]["reason"]
    assert "vm-1 would run 7200 s of duration in the hour from 2026-03-16T07:00:00" in reason
    assert snapshot(container) == before
    # Another VM, or the same VM in another hour, is not affected.
    assert _ingest(container, [_run("a", _at(7), _at(8), "3600"),
                               _run("b", _at(7), _at(8), "3600", "vm-2"),
                               _run("c", _at(6), _at(7), "3600")]).accepted == 3  # fmt: skip


def test_the_records_of_an_hour_add_up_across_batches(container, vm) -> None:  # type: ignore[no-untyped-def]
    assert _ingest(container, [_run("h1", _at(7), _at(7, 30), "1800")]).accepted == 1
    assert _ingest(container, [_run("h2", _at(7, 30), _at(8), "1800")]).accepted == 1
    with pytest.raises(CloudbillError) as info:
        _ingest(container, [_run("h3", _at(7, 59), _at(8), "1")])
    assert _rejections(info) == [(0, "USAGE_TIME_EXCEEDED")]
    # A replay of what is stored is a duplicate, not more running time.
    again = _ingest(container, [_run("h2", _at(7, 30), _at(8), "1800")])
    assert (again.accepted, again.duplicates) == (0, 1)


def test_a_record_across_hours_counts_in_each_hour_by_its_share(container, vm) -> None:  # type: ignore[no-untyped-def]
    # 06:30-08:30 running 7200 s: 1800 s in 06:00, 3600 s in 07:00, 1800 s in 08:00.
    assert _ingest(container, [_run("long", _at(6, 30), _at(8, 30), "7200")]).accepted == 1
    with pytest.raises(CloudbillError) as info:
        _ingest(container, [_run("in-7", _at(7, 10), _at(7, 20), "600")])
    assert _rejections(info) == [(0, "USAGE_TIME_EXCEEDED")]
    fill = [_run("fill-6", _at(6), _at(6, 30), "1800"), _run("fill-8", _at(8, 30), _at(9), "1800")]
    assert _ingest(container, fill).accepted == 2
    # A record that ran part of its interval claims that part, spread over its hours.
    with pytest.raises(CloudbillError) as info:
        _ingest(container, [_run("half", _at(5), _at(7), "3600")])  # 1800 s in 06:00
    assert _rejections(info) == [(0, "USAGE_TIME_EXCEEDED")]


def test_records_that_fill_an_hour_exactly_at_odd_instants_are_accepted(container, vm) -> None:  # type: ignore[no-untyped-def]
    """Shares are rounded down: records that together fill hours exactly are never refused."""
    cuts = ["2026-03-16T04:00:00Z", "2026-03-16T04:20:00.333333Z", "2026-03-16T05:07:07.777777Z",
            "2026-03-16T05:59:59.999999Z", "2026-03-16T07:00:00Z"]  # fmt: skip
    records = []
    for i, (start, end) in enumerate(pairwise(cuts)):
        span = datetime.fromisoformat(end.replace("Z", "+00:00")) - datetime.fromisoformat(
            start.replace("Z", "+00:00")
        )
        records.append(_run(f"cut{i}", start, end, f"{span.total_seconds():.6f}"))
    assert _ingest(container, records).accepted == 4


def test_a_day_holds_no_more_than_24_hours(container, vm) -> None:  # type: ignore[no-untyped-def]
    """The issue's case: 24 hourly records and a second series of half hours under other ids."""
    day = [_run(f"h{h:02d}", _at(h, day=15), _at(h + 1, day=15) if h < 23 else _at(0),
                "3600") for h in range(24)]  # fmt: skip
    assert _ingest(container, day).accepted == 24
    again = [_run(f"x{h:02d}", _at(h, day=15), _at(h, 30, day=15), "1800") for h in range(3)]
    with pytest.raises(CloudbillError) as info:
        _ingest(container, again)
    assert _rejections(info) == [(0, "USAGE_TIME_EXCEEDED"), (1, "USAGE_TIME_EXCEEDED"),
                                 (2, "USAGE_TIME_EXCEEDED")]  # fmt: skip


def test_quantities_of_other_kinds_are_not_bounded_by_the_hour(container, vm) -> None:  # type: ignore[no-untyped-def]
    # Bandwidth-like data is bounded per record by what a second can carry, not summed here.
    _resource(container, vm.id, "bucket-1", ("hws.resource.type.obs", "standard"))
    records = [rec(f"c{i}", resource="bucket-1", usage="capacity", quantity="100", unit="GBh")
               for i in range(3)]  # fmt: skip
    assert _ingest(container, records).accepted == 3


def test_voided_usage_no_longer_counts(container, vm) -> None:  # type: ignore[no-untyped-def]
    """Records an earlier release stored (before this rule) run the VM 1,800,000,000 hours in
    07:00, too much to bill: nothing more fits in that hour until the operator voids them."""
    start = T0.replace(hour=7)
    poison = [{"record_id": f"poison-{i}", "payload_hash": "x" * 32, "customer_id": vm.id,
              "resource_id": "vm-1", "usage_type": "duration", "quantity": "900000000",
              "unit": "h", "pricing_unit": "h", "quantity_e10": 900_000_000 * 10**10,
              "start_at": start, "end_at": start + timedelta(minutes=30), "first_hour": start,
              "last_hour": start, "received_at": T0} for i in range(2)]  # fmt: skip
    with container.db.write() as conn:
        conn.execute(insert(usage_record), poison)
    with pytest.raises(CloudbillError) as info:
        _ingest(container, [_run("right", _at(7, 30), _at(8), "1800")])
    assert _rejections(info) == [(0, "USAGE_TIME_EXCEEDED")]
    settle_due(container)  # the hour cannot be billed: the customer is held
    with pytest.raises(CloudbillError) as info:
        _ingest(container, [_run("right", _at(7, 30), _at(8), "1800")])
    for rid in ("poison-0", "poison-1"):
        container.write(
            lambda conn, now, r=rid: holds.void_usage(conn, r, reason="meter fault", now=now)
        )
    assert _ingest(container, [_run("right", _at(7, 30), _at(8), "1800")]).accepted == 1


def test_running_time_adds_up_across_the_chunks_of_a_file(container, vm) -> None:  # type: ignore[no-untyped-def]
    records = [_run(f"f{i}", _at(h), _at(h + 1), "3600") for i, h in enumerate(range(8))]
    records.append(_run("late-dup", _at(3), _at(4), "3600"))  # chunk 5: hour 03 is full
    records.append(_run("f0", _at(0), _at(1), "3600"))  # a duplicate runs no second time
    before = snapshot(container)
    with pytest.raises(CloudbillError) as info:
        file_ingest.ingest_file(container, lambda: [records], chunk_rows=2)
    assert _rejections(info) == [(8, "USAGE_TIME_EXCEEDED")]
    assert info.value.details["rejected"][0]["record_id"] == "late-dup"
    assert "earlier in the file" in info.value.details["rejected"][0]["reason"]
    assert snapshot(container) == before
    # Without it the file goes in, chunk by chunk; stored hours then count for the next file.
    result = file_ingest.ingest_file(container, lambda: [records[:8] + records[9:]], chunk_rows=2)
    assert (result.accepted, result.duplicates) == (8, 1)
    with pytest.raises(CloudbillError) as info:
        file_ingest.ingest_file(container, lambda: [records[8:9]], chunk_rows=2)
    assert _rejections(info) == [(0, "USAGE_TIME_EXCEEDED")]
    assert "late-dup" not in _stored_ids(container)
