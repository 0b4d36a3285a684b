"""A usage file in short transactions (ingest/file_ingest.py), on both databases: checked whole
first (one bad record or one id repeated with other content stores nothing), then stored chunk
by chunk, each chunk one write transaction; interrupted, it resumes by record id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from cloudbill.bootstrap import Container
from cloudbill.ingest import file_ingest
from cloudbill.ingest import service as ingest
from cloudbill.ingest.model import UsageInput
from cloudbill.kernel.errors import CloudbillError, ErrorCode
from cloudbill.store.schema import usage_record

from ..helpers import new_customer, snapshot
from .test_ingest import _resource, rec


@pytest.fixture
def vm(container):  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    _resource(container, customer.id, "vm-1")
    return customer


def _minute(k: int, rid: str | None = None, quantity: str = "60") -> UsageInput:
    """Record k: the k-th minute from 2026-03-16 00:00 (the clock is at 09:00), 60 s."""
    start = datetime(2026, 3, 16, k // 60, k % 60).isoformat() + "Z"
    end = datetime(2026, 3, 16, (k + 1) // 60, (k + 1) % 60).isoformat() + "Z"
    return rec(rid or f"m{k:04d}", quantity=quantity, start=start, end=end)


def _file(records: list[UsageInput], batch: int = 4):  # type: ignore[no-untyped-def]
    """A file as its reader gives it: in batches of `batch` rows."""
    return lambda: (records[i : i + batch] for i in range(0, len(records), batch))


def _stored_count(container: Container) -> int:
    with container.db.read() as conn:
        return conn.execute(select(func.count()).select_from(usage_record)).scalar_one()


class Recording:
    """The container's transactions, with the size of each write and a hook before it."""

    def __init__(self, container: Container, before_write: Any = None) -> None:
        self.container = container
        self.before_write = before_write
        self.written: list[int] = []

    def read(self, work):  # type: ignore[no-untyped-def]
        return self.container.read(work)

    def write(self, work):  # type: ignore[no-untyped-def]
        if self.before_write is not None:
            self.before_write(len(self.written))

        def counted(conn, now):  # type: ignore[no-untyped-def]
            before = conn.execute(select(func.count()).select_from(usage_record)).scalar_one()
            result = work(conn, now)
            after = conn.execute(select(func.count()).select_from(usage_record)).scalar_one()
            self.written.append(after - before)
            return result

        return self.container.write(counted)


def test_each_write_transaction_stores_at_most_one_chunk(container, vm) -> None:  # type: ignore[no-untyped-def]
    records = [_minute(k) for k in range(23)]
    db = Recording(container)
    result = file_ingest.ingest_file(db, _file(records), chunk_rows=5)
    assert (result.accepted, result.duplicates) == (23, 0)
    assert db.written == [5, 5, 5, 5, 3]
    assert _stored_count(container) == 23


def test_an_id_repeated_in_a_later_chunk_with_other_content_stores_nothing(container, vm) -> None:  # type: ignore[no-untyped-def]
    records = [_minute(k) for k in range(12)]
    records.append(_minute(12, rid="m0003", quantity="30"))  # m0003 again, other content
    before = snapshot(container)
    with pytest.raises(CloudbillError) as info:
        file_ingest.ingest_file(container, _file(records), chunk_rows=5)
    assert info.value.code is ErrorCode.USAGE_REJECTED
    assert info.value.details["rejected"] == [
        {"index": 12, "record_id": "m0003", "code": "IDEMPOTENCY_CONFLICT",
         "reason": "this record_id is earlier in the file with other content"}
    ]  # fmt: skip
    assert "none was stored" in info.value.message
    assert snapshot(container) == before


def test_an_id_repeated_with_the_same_content_is_a_duplicate(container, vm) -> None:  # type: ignore[no-untyped-def]
    records = [_minute(k) for k in range(12)] + [_minute(3), _minute(11)]
    result = file_ingest.ingest_file(container, _file(records), chunk_rows=5)
    assert (result.accepted, result.duplicates) == (12, 2)
    assert _stored_count(container) == 12


def test_a_bad_record_in_the_last_chunk_stores_nothing(container, vm) -> None:  # type: ignore[no-untyped-def]
    records = [_minute(k) for k in range(20)] + [_minute(20, quantity="-1")]
    before = snapshot(container)
    with pytest.raises(CloudbillError) as info:
        file_ingest.ingest_file(container, _file(records), chunk_rows=5)
    assert info.value.details["rejected_count"] == 1
    assert info.value.details["rejected"][0]["index"] == 20
    assert snapshot(container) == before


class Interrupted(Exception):
    pass


def test_an_interrupted_file_resumes_where_it_stopped(container, vm) -> None:  # type: ignore[no-untyped-def]
    records = [_minute(k) for k in range(23)]

    def stop_at_third_write(done: int) -> None:
        if done == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        file_ingest.ingest_file(Recording(container, stop_at_third_write), _file(records),
                                chunk_rows=5)  # fmt: skip
    assert _stored_count(container) == 10  # two chunks, each whole

    again = file_ingest.ingest_file(container, _file(records), chunk_rows=5)
    assert (again.accepted, again.duplicates) == (13, 10)
    with container.db.read() as conn:
        stored = conn.execute(select(usage_record.c.record_id)).scalars().all()
    assert sorted(stored) == [r.record_id for r in records]


def test_an_id_sent_meanwhile_with_other_content_refuses_that_chunk_only(container, vm) -> None:  # type: ignore[no-untyped-def]
    records = [_minute(k) for k in range(15)]

    def another_client_sends_m0007(done: int) -> None:
        if done == 1:  # before the second chunk (m0005-m0009) is stored
            container.write(lambda conn, now: ingest.ingest_batch(
                conn, [_minute(7, quantity="1")], now=now))  # fmt: skip

    with pytest.raises(CloudbillError) as info:
        file_ingest.ingest_file(Recording(container, another_client_sends_m0007),
                                _file(records), chunk_rows=5)  # fmt: skip
    assert info.value.code is ErrorCode.USAGE_REJECTED
    assert info.value.details["stored_before"] == 5
    assert info.value.details["rejected"][0]["record_id"] == "m0007"
    assert "the 5 rows before them are stored" in info.value.message
    assert _stored_count(container) == 6  # the first chunk and the other client's record


def test_no_write_transaction_is_open_while_a_chunk_is_checked(container, vm) -> None:  # type: ignore[no-untyped-def]
    """The checks (the slow part) run in read transactions: the writes only insert."""
    records = [_minute(k) for k in range(10)]
    reads: list[int] = []

    class Counting(Recording):
        def read(self, work):  # type: ignore[no-untyped-def]
            reads.append(len(self.written))
            return super().read(work)

    db = Counting(container)
    file_ingest.ingest_file(db, _file(records), chunk_rows=5)
    # two reads to check, then for each chunk a read (its check) before its write
    assert reads == [0, 0, 0, 1] and db.written == [5, 5]
