"""Usage ingestion on both databases: validation, conversion, dedupe, all-or-nothing, files."""

from __future__ import annotations

import csv
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from cloudbill.ingest import file_ingest, files
from cloudbill.ingest import service as ingest
from cloudbill.ingest.model import UsageInput
from cloudbill.kernel.errors import CloudbillError, ErrorCode
from cloudbill.resources import service as resources
from cloudbill.resources.model import ResourceInput, ResourceStatus
from cloudbill.store import clock_repo
from cloudbill.store.schema import usage_record

from ..conftest import T0
from ..helpers import new_customer, snapshot

VM = ("hws.resource.type.vm", "s6.large.2")
OBS = ("hws.resource.type.obs", "standard")


# Created a week before the clock (T0): the tests meter the hours before T0.
CREATED = T0 - timedelta(days=7)


def _resource(container, customer_id, rid, rtype_spec=VM, mode="pay_per_use", **extra):  # type: ignore[no-untyped-def]
    rtype, spec = rtype_spec
    if mode == "pay_per_use":
        extra.setdefault("created_at", CREATED)
    data = ResourceInput(customer_id=customer_id, resource_type=rtype, spec=spec, billing_mode=mode,
                         region="ap-southeast-1", name=rid, id=rid, **extra)  # fmt: skip
    return container.write(lambda conn, now: resources.register(conn, data, now=now))[0]


def rec(rid: str, resource: str = "vm-1", quantity: object = "3600", usage: str = "duration",
        start: str = "2026-03-16T07:00:00Z", end: str = "2026-03-16T08:00:00Z",
        unit: str | None = "s") -> UsageInput:  # fmt: skip
    return UsageInput(rid, resource, usage, quantity, start, end, unit)


# Other hours than rec's default, where the same VM runs again under other record ids.
HOUR_BEFORE = {"start": "2026-03-16T06:00:00Z", "end": "2026-03-16T07:00:00Z"}
TWO_HOURS_BEFORE = {"start": "2026-03-16T05:00:00Z", "end": "2026-03-16T06:00:00Z"}


@pytest.fixture
def vm(container):  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    _resource(container, customer.id, "vm-1")
    return customer


def _ingest(container, records):  # type: ignore[no-untyped-def]
    return container.write(lambda conn, now: ingest.ingest_batch(conn, records, now=now))


def _stored(container):  # type: ignore[no-untyped-def]
    with container.db.read() as conn:
        return {r.record_id: r for r in conn.execute(select(usage_record))}


def test_records_are_converted_to_the_pricing_unit(container, vm) -> None:  # type: ignore[no-untyped-def]
    result = _ingest(container, [rec("r1"), rec("r2", quantity="30", unit="min",
                                               start="2026-03-16T06:30:00Z",
                                               end="2026-03-16T07:00:00Z")])  # fmt: skip
    assert (result.accepted, result.duplicates) == (2, 0)
    stored = _stored(container)
    assert stored["r1"].pricing_unit == "h" and stored["r1"].quantity_e10 == 10**10
    assert stored["r2"].quantity_e10 == 5 * 10**9  # 30 min = 0.5 h
    assert stored["r1"].first_hour == stored["r1"].last_hour  # [07:00, 08:00) is one hour


def test_a_second_in_an_hour_truncates_at_ten_decimals(container, vm) -> None:  # type: ignore[no-untyped-def]
    _ingest(container, [rec("r1", quantity="1", end="2026-03-16T07:00:01Z")])
    assert _stored(container)["r1"].quantity_e10 == 2777777  # 1/3600 h = 0.0002777777…


def test_replays_are_accepted_once_and_conflicts_rejected(container, vm) -> None:  # type: ignore[no-untyped-def]
    _ingest(container, [rec("r1")])
    again = _ingest(container, [rec("r1", quantity="3600.000"), rec("r2", **HOUR_BEFORE)])
    assert (again.accepted, again.duplicates) == (1, 1)
    before = snapshot(container)
    with pytest.raises(CloudbillError) as info:
        _ingest(container, [rec("r3", **TWO_HOURS_BEFORE), rec("r1", quantity="10")])
    assert info.value.code == ErrorCode.USAGE_REJECTED
    rejected = info.value.details["rejected"]
    assert [(r["index"], r["code"]) for r in rejected] == [(1, "IDEMPOTENCY_CONFLICT")]
    assert snapshot(container) == before  # r3 was not stored either


def test_same_id_twice_in_one_batch(container, vm) -> None:  # type: ignore[no-untyped-def]
    assert _ingest(container, [rec("r1"), rec("r1")]).duplicates == 1
    with pytest.raises(CloudbillError) as info:
        _ingest(container, [rec("r9", **HOUR_BEFORE), rec("r9", quantity="1", **HOUR_BEFORE)])
    assert [r["code"] for r in info.value.details["rejected"]] == ["IDEMPOTENCY_CONFLICT"]


@pytest.mark.parametrize(
    ("record", "code"),
    [
        (rec("x", resource="nope"), "RESOURCE_NOT_FOUND"),
        (rec("x", usage="upflow", unit="GB"), "INVALID_ARGUMENT"),
        (rec("x", unit="GB"), "INVALID_ARGUMENT"),
        (rec("x", unit="parsec"), "CATALOG_ITEM_NOT_FOUND"),
        (rec("x", quantity="-1"), "INVALID_ARGUMENT"),
        (rec("x", quantity=1.5), "INVALID_AMOUNT"),
        (rec("x", quantity="1e3"), "INVALID_AMOUNT"),
        (rec("x", start="2026-03-16T08:00:00Z"), "INVALID_ARGUMENT"),
        (rec("x", start="yesterday"), "INVALID_ARGUMENT"),
        (rec("x", start="2026-01-01T00:00:00Z"), "INVALID_ARGUMENT"),  # longer than a month
        (rec("x", start="2026-03-16T09:00:00Z", end="2026-03-16T10:00:00Z"), "INVALID_ARGUMENT"),
        (rec("bad id!"), "INVALID_ARGUMENT"),
        (rec(""), "INVALID_ARGUMENT"),
    ],
)
def test_bad_records_reject_the_whole_batch(container, vm, record, code) -> None:  # type: ignore[no-untyped-def]
    before = snapshot(container)
    with pytest.raises(CloudbillError) as info:
        _ingest(container, [rec("good"), record])
    assert info.value.details["rejected"][0]["code"] == code
    assert info.value.details["rejected"][0]["index"] == 1
    assert snapshot(container) == before


def test_usage_after_a_resource_stopped_or_of_a_yearly_one_is_refused(container, vm) -> None:  # type: ignore[no-untyped-def]
    _resource(container, vm.id, "vm-2")
    _resource(container, vm.id, "vm-3")
    _resource(container, vm.id, "vm-y", mode="yearly_monthly",
              expire_at=T0.replace(year=2027))  # fmt: skip
    container.write(lambda conn, now: resources.change_status(
        conn, "vm-2", ResourceStatus.FROZEN, reason="test", now=now))  # fmt: skip
    container.write(lambda conn, now: resources.release(conn, "vm-3", reason="test", now=now))
    with container.db.write() as conn:
        clock_repo.advance(conn, timedelta(hours=2))
    after = {"start": "2026-03-16T09:30:00Z", "end": "2026-03-16T10:30:00Z"}  # after T0
    for rid, code in (("vm-2", "RESOURCE_FROZEN"), ("vm-3", "RESOURCE_RELEASED"),
                      ("vm-y", "INVALID_STATE")):  # fmt: skip
        with pytest.raises(CloudbillError) as info:
            _ingest(container, [rec(f"r-{rid}", resource=rid, **after)])
        assert info.value.details["rejected"][0]["code"] == code
    with pytest.raises(CloudbillError) as info:  # a yearly resource's usage is never metered
        _ingest(container, [rec("r-y-before", resource="vm-y")])
    assert info.value.details["rejected"][0]["code"] == "INVALID_STATE"
    # Usage that ended before the resource stopped running (frozen or released at T0, 09:00)
    # is still billed when it comes late.
    result = _ingest(container, [rec("r-2-before", resource="vm-2"),
                                 rec("r-3-before", resource="vm-3")])  # fmt: skip
    assert result.accepted == 2
    with pytest.raises(CloudbillError) as info:  # reaching past the stop: refused
        _ingest(container, [rec("r-2-across", resource="vm-2", start="2026-03-16T08:30:00Z",
                                end="2026-03-16T09:30:00Z")])  # fmt: skip
    assert info.value.details["rejected"][0]["code"] == "RESOURCE_FROZEN"


def test_a_replay_stays_a_duplicate_after_its_resource_was_frozen(container, vm) -> None:  # type: ignore[no-untyped-def]
    _ingest(container, [rec("r1")])
    container.write(lambda conn, now: resources.change_status(
        conn, "vm-1", ResourceStatus.FROZEN, reason="arrears", now=now))  # fmt: skip
    again = _ingest(container, [rec("r1")])  # the metering pipeline resends it
    assert (again.accepted, again.duplicates) == (0, 1)
    with pytest.raises(CloudbillError) as info:  # changed content is still a conflict
        _ingest(container, [rec("r1", quantity="10")])
    assert info.value.details["rejected"][0]["code"] == "IDEMPOTENCY_CONFLICT"
    with container.db.write() as conn:
        clock_repo.advance(conn, timedelta(hours=2))
    with pytest.raises(CloudbillError) as info:  # and new usage of it is refused
        _ingest(container, [rec("r2", start="2026-03-16T09:30:00Z", end="2026-03-16T10:30:00Z")])
    assert info.value.details["rejected"][0]["code"] == "RESOURCE_FROZEN"


def test_a_replay_stays_a_duplicate_after_its_resource_became_yearly_monthly(container, vm) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    from cloudbill.store.schema import resource

    _ingest(container, [rec("r1")])
    with container.db.write() as conn:  # converted to yearly/monthly since (as an order does)
        conn.execute(update(resource).where(resource.c.id == "vm-1").values(
            billing_mode="yearly_monthly"))  # fmt: skip
    assert _ingest(container, [rec("r1")]).duplicates == 1
    with pytest.raises(CloudbillError) as info:
        _ingest(container, [rec("r2")])
    assert info.value.details["rejected"][0]["code"] == "INVALID_STATE"


def test_usage_older_than_the_horizon_is_refused(container, vm) -> None:  # type: ignore[no-untyped-def]
    year = timedelta(days=365)
    data = ResourceInput(customer_id=vm.id, resource_type=VM[0], spec=VM[1],
                         billing_mode="pay_per_use", region="ap-southeast-1", name="old",
                         id="vm-old", created_at=T0 - year)  # fmt: skip
    container.write(lambda conn, now: resources.register(conn, data, now=now, horizon=year))
    old = rec("r-old", resource="vm-old", start="2025-12-01T07:00:00Z",
              end="2025-12-01T08:00:00Z")  # fmt: skip
    with pytest.raises(CloudbillError) as info:
        _ingest(container, [old])
    assert "older than 90 days" in info.value.details["rejected"][0]["reason"]
    epoch = rec("r-1970", start="1970-01-01T00:00:00Z", end="1970-01-01T01:00:00Z")
    with pytest.raises(CloudbillError):
        _ingest(container, [epoch])
    wider = container.write(lambda conn, now: ingest.ingest_batch(
        conn, [old], now=now, horizon=timedelta(days=365)))  # fmt: skip
    assert wider.accepted == 1


def test_quantities_no_resource_can_mean_are_refused(container, vm) -> None:  # type: ignore[no-untyped-def]
    _resource(container, vm.id, "bucket-1", OBS)
    # 1 PB held for the hour is the bound; a byte-hour more is refused.
    fine = rec("c1", resource="bucket-1", usage="capacity", quantity="1048576", unit="GBh")
    assert _ingest(container, [fine]).accepted == 1
    too_big = rec("c2", resource="bucket-1", usage="capacity", quantity="1048577", unit="GBh")
    with pytest.raises(CloudbillError) as info:
        _ingest(container, [too_big])
    assert "capacity held is at most" in info.value.details["rejected"][0]["reason"]
    # A short interval counts as an hour: a burst reported at an instant is not refused.
    burst = rec("c3", resource="bucket-1", usage="capacity", quantity="1", unit="GBh",
                start="2026-03-16T07:00:00Z", end="2026-03-16T07:00:00.000001Z")  # fmt: skip
    assert _ingest(container, [burst]).accepted == 1


def test_batch_size_is_bounded(container, vm) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CloudbillError) as info:
        _ingest(container, [rec(f"r{i}") for i in range(1001)])
    assert info.value.code == ErrorCode.LIMIT_EXCEEDED


def _half_hour(i: int):  # type: ignore[no-untyped-def]
    """The i-th half hour from the day before T0 (one VM runs each of them once)."""
    return T0.replace(hour=0) - timedelta(days=1) + timedelta(minutes=30 * i)


ROWS = [
    {"record_id": f"f{i}", "resource_id": "vm-1", "usage_type": "duration", "quantity": "1800",
     "unit": "s", "start": _half_hour(i).isoformat(), "end": _half_hour(i + 1).isoformat()}
    for i in range(40)
]  # fmt: skip


def _write_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _ingest_file(container, path: Path, batch_rows: int = 7):  # type: ignore[no-untyped-def]
    """As `cloudbill usage ingest`: read in batches of 7, stored in transactions of 5 records."""
    return file_ingest.ingest_file(
        container, lambda: files.read_batches(path, batch_rows=batch_rows), chunk_rows=5
    )


def test_csv_file_in_small_batches(container, vm, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = _ingest_file(container, _write_csv(tmp_path / "u.csv", ROWS + ROWS[:3]))
    assert (result.accepted, result.duplicates) == (40, 3)
    assert sum(r.quantity_e10 for r in _stored(container).values()) == 40 * 5 * 10**9


STAMP = pa.timestamp("us", "UTC")


def test_parquet_file_with_decimals_and_timestamps(container, vm, tmp_path) -> None:  # type: ignore[no-untyped-def]
    table = pa.table({
        "record_id": [r["record_id"] for r in ROWS],
        "resource_id": [r["resource_id"] for r in ROWS],
        "usage_type": [r["usage_type"] for r in ROWS],
        "quantity": pa.array([Decimal("0.5")] * len(ROWS), pa.decimal128(12, 4)),
        "unit": ["h"] * len(ROWS),
        "start": pa.array([_half_hour(i) for i in range(len(ROWS))], STAMP),
        "end": pa.array([_half_hour(i + 1) for i in range(len(ROWS))], STAMP),
    })  # fmt: skip
    pq.write_table(table, tmp_path / "u.parquet")
    assert _ingest_file(container, tmp_path / "u.parquet").accepted == 40
    assert _stored(container)["f0"].quantity_e10 == 5 * 10**9


def test_a_float_quantity_column_is_refused(container, vm, tmp_path) -> None:  # type: ignore[no-untyped-def]
    table = pa.table({k: [r[k] for r in ROWS] for k in ROWS[0]} | {"quantity": [0.5] * len(ROWS)})
    pq.write_table(table, tmp_path / "f.parquet")
    with pytest.raises(CloudbillError) as info:
        _ingest_file(container, tmp_path / "f.parquet")
    assert info.value.code == ErrorCode.INVALID_AMOUNT


def test_one_bad_row_in_a_file_stores_nothing(container, vm, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rows = [dict(r) for r in ROWS]
    rows[33]["quantity"] = "-5"
    before = snapshot(container)
    with pytest.raises(CloudbillError) as info:
        _ingest_file(container, _write_csv(tmp_path / "bad.csv", rows))
    assert info.value.details["rejected_count"] == 1
    assert info.value.details["rejected"][0]["index"] == 33
    assert snapshot(container) == before


def test_a_csv_with_a_column_twice_is_refused(container, vm, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "twice.csv"
    header = ",".join(ROWS[0]) + ",quantity"
    lines = [header] + [",".join(r.values()) + ",9" for r in ROWS[:3]]
    path.write_text("\n".join(lines) + "\n")
    before = snapshot(container)
    with pytest.raises(CloudbillError) as info:
        _ingest_file(container, path)
    assert info.value.code == ErrorCode.INVALID_ARGUMENT
    assert "more than once: quantity" in info.value.message
    assert snapshot(container) == before


def test_missing_columns_and_unknown_format(container, vm, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rows = [{k: v for k, v in r.items() if k != "end"} for r in ROWS]
    with pytest.raises(CloudbillError, match="lacks column"):
        _ingest_file(container, _write_csv(tmp_path / "m.csv", rows))
    (tmp_path / "u.xlsx").write_text("x")
    with pytest.raises(CloudbillError, match=r"csv or \.parquet"):
        _ingest_file(container, tmp_path / "u.xlsx")


@pytest.mark.parametrize(
    ("quantity", "unit", "start", "end"),
    [
        ("3601", "s", "2026-03-16T07:00:00Z", "2026-03-16T08:00:00Z"),
        ("30", "min", "2026-03-16T07:00:00Z", "2026-03-16T07:20:00Z"),
        ("2", "h", "2026-03-16T07:00:00Z", "2026-03-16T08:00:00Z"),
    ],
)
def test_a_duration_longer_than_its_interval_is_refused(
    container, vm, quantity, unit, start, end
) -> None:  # type: ignore[no-untyped-def]
    before = snapshot(container)
    with pytest.raises(CloudbillError) as info:
        _ingest(container, [rec("long", quantity=quantity, unit=unit, start=start, end=end)])
    (rejected,) = info.value.details["rejected"]
    assert (
        rejected["code"] == "INVALID_ARGUMENT"
        and "cannot exceed its interval" in rejected["reason"]
    )
    assert snapshot(container) == before
    # the whole interval is fine
    assert _ingest(container, [rec("full", quantity="3600", unit="s")]).accepted == 1
