"""Settlement raced by several workers, and settlement racing ingestion (both databases).

On PostgreSQL the threads use real connections of their own, so two settlements of one hour and
an ingestion committing while a settlement reads its watermark really happen at once; on
SQLite the writers queue. Either way each hour must be settled exactly once, every usage record
billed exactly once, the books must balance, and racing workers must produce exactly what one
worker alone produces.
"""

from __future__ import annotations

import shutil
import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from cloudbill.bootstrap import Container, build
from cloudbill.config import Settings
from cloudbill.customers import service as customers
from cloudbill.customers.model import CustomerInput
from cloudbill.ingest import service as ingest
from cloudbill.ingest.model import UsageInput
from cloudbill.resources import service as resources
from cloudbill.resources.model import ResourceInput
from cloudbill.store import clock_repo
from cloudbill.store.schema import (
    customer,
    fee_record,
    ledger_account,
    settlement_run,
    usage_record,
)
from cloudbill.worker.jobs import read_watermark, settle_due

from ..conftest import T0, make_container
from ..helpers import assert_books_balance, billable_by_resource, created_before

HOUR = timedelta(hours=1)
USAGE_START = T0 - 8 * HOUR  # usage in the 8 hours before T0 (the clock)
CUSTOMERS = 8
RESOURCES = 40
PER_RESOURCE_HOUR = 10
SETTLERS = 4
EIP = ("hws.resource.type.ip", "traffic_bgp")  # tiered: the order of billing matters
VM = ("hws.resource.type.vm", "s6.large.2")


def _setup_customers_and_resources(container: Container) -> None:
    def setup(conn, now):  # type: ignore[no-untyped-def]
        ids = []
        for i in range(CUSTOMERS):
            postpaid = i % 2 == 1
            data = CustomerInput(name=f"c{i}", currency="USD",
                                 payment_mode="postpaid" if postpaid else "prepaid",
                                 credit_limit="3" if postpaid else "0")  # fmt: skip
            ids.append(customers.create(conn, data, now=now).id)
            if i % 4 < 2:
                customers.topup(conn, ids[-1], "2", reference=f"top-{i}", now=now)
        for r in range(RESOURCES):
            rtype, spec = EIP if r % 5 == 0 else VM
            resources.register(conn, created_before(ResourceInput(
                customer_id=ids[r % CUSTOMERS], resource_type=rtype, spec=spec,
                billing_mode="pay_per_use", region="ap-southeast-1", name=f"r{r:02d}",
                id=f"r{r:02d}"), now), now=now)  # fmt: skip

    container.write(setup)


def _record(
    r: int, start: datetime, seconds: int, tag: str, running: int | None = None
) -> UsageInput:
    """A VM's record runs `running` seconds of its interval (default: all of them)."""
    end = start + timedelta(seconds=seconds)
    if r % 5 == 0:
        return UsageInput(f"{tag}-r{r:02d}", f"r{r:02d}", "upflow", f"{r % 7}.5", start, end, "GB")
    ran = seconds if running is None else running
    return UsageInput(f"{tag}-r{r:02d}", f"r{r:02d}", "duration", str(ran), start, end, "s")


def backlog_records() -> list[UsageInput]:
    """Every resource, every hour: records of 6 minutes, staggered so some cross the hour."""
    out = []
    for h in range(8):
        for k in range(PER_RESOURCE_HOUR):
            for r in range(RESOURCES):
                start = USAGE_START + timedelta(hours=h, seconds=k * 360 + r * 7)
                if start + timedelta(seconds=360) <= T0:
                    out.append(_record(r, start, 360, f"h{h}k{k}"))
    return out


def _ingest(container: Container, records: list[UsageInput], size: int = 1000) -> None:
    for i in range(0, len(records), size):
        batch = records[i : i + size]
        container.write(lambda conn, now, b=batch: ingest.ingest_batch(conn, b, now=now))


def build_backlog(container: Container) -> None:
    """Eight hours of usage, all of them due."""
    _setup_customers_and_resources(container)
    _ingest(container, backlog_records())
    container.write(lambda conn, now: clock_repo.advance(conn, 2 * HOUR))


def summary(container: Container) -> dict[str, Any]:
    """What settlement wrote, by names that do not depend on generated ids."""
    with container.db.read() as conn:
        names = dict(conn.execute(select(customer.c.id, customer.c.name)).all())
        hours = list(
            conn.execute(select(settlement_run.c.hour_start).order_by(settlement_run.c.id)).scalars()
        )  # fmt: skip
        run_hour = dict(
            conn.execute(select(settlement_run.c.id, settlement_run.c.hour_start)).all()
        )
        fees = sorted(
            (run_hour[f.settlement_id], names[f.customer_id], f.resource_id, f.usage_type,
             f.hour_start, f.is_late, f.usage_e10, f.package_usage_e10, f.official_units,
             f.discount_units, f.amount_units, f.coupon_units, f.cash_units, f.credit_units,
             f.debt_units)
            for f in conn.execute(select(fee_record))
        )  # fmt: skip
        own = select(ledger_account).where(ledger_account.c.customer_id.isnot(None))
        balances = sorted(
            (names[a.customer_id], a.kind, a.balance_units) for a in conn.execute(own)
        )
        usage = billable_by_resource(conn)  # each hour's piece truncated on its own
    return {"hours": hours, "fees": fees, "balances": balances, "usage": usage}


def assert_billed_exactly_once(result: dict[str, Any]) -> None:
    hours = result["hours"]
    assert len(hours) == len(set(hours)), "an hour was settled twice"
    assert hours == [hours[0] + i * HOUR for i in range(len(hours))], "settled hours have a gap"
    billed: dict[str, int] = defaultdict(int)
    for fee in result["fees"]:
        billed[fee[2]] += fee[6]
    assert dict(billed) == result["usage"], "usage was lost or billed twice"
    regular = [(f[2], f[3], f[4]) for f in result["fees"] if not f[5]]
    assert len(regular) == len(set(regular)), "one resource hour has two regular fee records"
    keys = [f[:6] for f in result["fees"]]
    assert len(keys) == len(set(keys)), "two fee records for one key in one settlement"


def race(work: list[Callable[[], Any]]) -> list[Any]:
    """Run every callable in its own thread, released at the same instant."""
    barrier = threading.Barrier(len(work))

    def go(fn: Callable[[], Any]) -> Any:
        barrier.wait()
        return fn()

    with ThreadPoolExecutor(len(work)) as pool:
        return [f.result() for f in [pool.submit(go, fn) for fn in work]]


def _own_container(container: Container) -> Container:
    """Another worker: its own engine and connection pool on the same database."""
    return build(Settings(database_url=container.settings.database_url, operator_token="t"))


@pytest.fixture
def baseline(sqlite_template: Path, tmp_path: Path) -> dict[str, Any]:
    """The same backlog settled by one worker alone, on a database of its own."""
    path = tmp_path / "baseline.sqlite"
    shutil.copyfile(sqlite_template, path)
    alone = make_container(f"sqlite:///{path}")
    try:
        build_backlog(alone)
        settle_due(alone)
        return summary(alone)
    finally:
        alone.db.dispose()


@pytest.mark.parametrize("engines", ["shared", "separate"])
def test_racing_settlers_settle_each_hour_once(container, baseline, engines) -> None:  # type: ignore[no-untyped-def]
    build_backlog(container)
    workers = [container] * SETTLERS
    if engines == "separate":
        workers = [_own_container(container) for _ in range(SETTLERS)]
    try:
        results = race([lambda w=w: settle_due(w) for w in workers])
    finally:
        for w in workers:
            if w is not container:
                w.db.dispose()
    settled = sorted(r.hour for rs in results for r in rs)
    assert len(settled) == len(set(settled)), "two workers both report settling one hour"
    got = summary(container)
    assert settled == sorted(got["hours"])
    assert_billed_exactly_once(got)
    assert got == baseline
    assert settle_due(container) == []
    assert_books_balance(container)


def _ingester(container: Container, thread: int, batches: int, size: int) -> int:
    """Send `batches` batches of records in hours before the clock (some already settled)."""
    sent = 0
    for b in range(batches):
        records = []
        for i in range(size):
            r = (thread * 7 + b * 3 + i) % RESOURCES
            start = USAGE_START + timedelta(seconds=(thread * 977 + b * 1381 + i * 613) % 27_000)
            # Intervals of one VM overlap here: each runs a tenth of its interval, so that
            # no hour holds more than an hour of running time.
            seconds = 30 + (i * 37) % 900
            records.append(_record(r, start, seconds, f"t{thread}b{b}i{i}", seconds // 10))
        container.write(lambda conn, now, rs=records: ingest.ingest_batch(conn, rs, now=now))
        sent += len(records)
    return sent


def _settler(container: Container, stop: threading.Event) -> int:
    """Move the clock on and settle, again and again, until the ingesters are done."""
    settled = 0
    while not stop.is_set():
        container.write(lambda conn, now: clock_repo.advance(conn, timedelta(minutes=20)))
        settled += len(settle_due(container))
    return settled


def test_ingestion_racing_settlement_bills_every_record_once(container) -> None:  # type: ignore[no-untyped-def]
    _setup_customers_and_resources(container)
    # a first record so that settlement starts with the first usage hour
    _ingest(container, [_record(1, USAGE_START, 60, "first")])
    settler, ingesters = _own_container(container), [_own_container(container) for _ in range(3)]
    stop = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        settling = pool.submit(_settler, settler, stop)
        try:
            race([lambda c=c, n=n: _ingester(c, n, batches=12, size=60)
                  for n, c in enumerate(ingesters)])  # fmt: skip
        finally:
            stop.set()
            settled_meanwhile = settling.result()
            for c in [settler, *ingesters]:
                c.db.dispose()
    assert settled_meanwhile > 0, "nothing was settled while records arrived"
    container.write(lambda conn, now: clock_repo.advance(conn, 2 * HOUR))
    settle_due(container)
    got = summary(container)
    assert len(got["usage"]) == RESOURCES
    assert_billed_exactly_once(got)
    assert any(f[5] for f in got["fees"]), "no record came after its hour was settled: no race"
    assert settle_due(container) == []
    assert_books_balance(container)


def test_watermark_waits_for_ingestion_in_flight(container) -> None:  # type: ignore[no-untyped-def]
    """The watermark never passes a record whose ingestion has not committed yet.

    An ingestion is held open after storing its records; reading the watermark must wait for it
    (PostgreSQL) and then include its records. This failed when the gate was a row lock and the
    row had been truncated away: the reader went straight past the open ingestion."""
    if container.db.dialect != "postgresql":
        pytest.skip("SQLite serialises writers; there is no gate to test")
    _setup_customers_and_resources(container)
    stored, release = threading.Event(), threading.Event()

    def slow_ingestion(conn, now):  # type: ignore[no-untyped-def]
        ingest.ingest_batch(conn, [_record(1, USAGE_START, 60, "slow")], now=now)
        stored.set()
        assert release.wait(10)

    with ThreadPoolExecutor(2) as pool:
        ingesting = pool.submit(container.write, slow_ingestion)
        assert stored.wait(10)
        reading = pool.submit(read_watermark, container)
        with pytest.raises(TimeoutError):
            reading.result(timeout=0.5)  # blocked by the ingestion in flight
        release.set()
        ingesting.result(timeout=10)
        watermark = reading.result(timeout=10)
    with container.db.read() as conn:
        seq = conn.execute(
            select(usage_record.c.seq).where(usage_record.c.record_id == "slow-r01")
        ).scalar_one()
    assert watermark >= seq
