"""W9: a month of fee records pushed to an S3-compatible bucket (bill storage, issue 17).

Set-up (not measured): one customer with bill storage on, its month's fee records bulk-inserted
(executemany) as settlement writes them — `records` rows spread over every hour of the month,
one resource per `hours in the month` rows, amounts that differ row by row — and moto's
standalone S3 server on loopback (`moto[server]`, a test requirement).

Measured: `storage.push.push_customer`, the worker job's per-customer step, pushing every day
of the month: each day's Resource_Expenditures file, the month-to-date Spendings(ByResource)
file of each day and the month's final file, with their manifests, in CSV. Figures: rows
written per second and the process's peak memory above where it started (sampled from
/proc/self/statm), which must stay flat as the month grows: the push streams from the database.

Floor (same run): one plain SELECT of the same fee records streamed into a local CSV file of
the same columns, then that file uploaded with one put_object to the same server.
"""

from __future__ import annotations

import csv
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from sqlalchemy import insert, select

from cloudbill.bootstrap import Container, build
from cloudbill.config import Settings
from cloudbill.credentials.sealing import SecretBox
from cloudbill.customers import service as customers
from cloudbill.customers.model import CustomerInput
from cloudbill.storage import push
from cloudbill.storage import repo as storage_repo
from cloudbill.storage import service as storage
from cloudbill.store import clock_repo
from cloudbill.store.schema import fee_record

MONTH_START = datetime(2026, 3, 1, tzinfo=UTC)
MONTH_END = datetime(2026, 4, 1, tzinfo=UTC)
NOW = datetime(2026, 4, 1, 6, tzinfo=UTC)  # the bill day: every day of March is due
INSERT_CHUNK = 20_000
BUCKET = "bench-bills"
PRICE_E8_PER_HOUR = 7_810_000  # 0.0781 per hour


def fee_rows(customer_id: str, records: int, start: datetime, hours: int) -> Iterator[dict]:
    """Pay-per-use fee records as settlement writes them: row i is resource i // hours in hour
    i % hours after `start`; usage (and so every amount) differs from row to row."""
    for i in range(records):
        seconds = 600 + (i * 7919) % 3000
        official = PRICE_E8_PER_HOUR * seconds // 3600
        discount = official // 20 if i % 5 == 0 else 0
        amount = official - discount
        yield {
            "settlement_id": None, "customer_id": customer_id,
            "resource_id": f"vm-{i // hours:07d}", "service": "hws.service.type.ec2",
            "resource_type": "hws.resource.type.vm", "spec": "s6.small.1",
            "region": "ap-southeast-1", "billing_mode": "pay_per_use", "usage_type": "duration",
            "hour_start": start + timedelta(hours=i % hours), "is_late": False,
            "currency": "USD", "pricing_unit": "h", "usage_e10": seconds * 10**10 // 3600,
            "package_usage_e10": 0, "unit_price": "0.0781", "official_units": official,
            "discount_units": discount, "amount_units": amount, "coupon_units": 0,
            "cash_units": amount, "credit_units": 0, "debt_units": 0,
            "ledger_transaction_id": None,
            "created_at": start + timedelta(hours=i % hours + 1, minutes=15),
            "bill_type": "usage", "trade_id": None, "line_no": None, "period_start": None,
            "period_end": None, "description": None,
        }  # fmt: skip


def seed_fee_records(
    container: Container, customer_id: str, records: int, start: datetime, hours: int
) -> None:
    rows = fee_rows(customer_id, records, start, hours)
    while True:
        chunk = [row for _, row in zip(range(INSERT_CHUNK), rows, strict=False)]
        if not chunk:
            return
        with container.db.write() as conn:
            conn.execute(insert(fee_record), chunk)


def storage_customer(
    container: Container, endpoint: str, *, bucket: str, file_format: str = "csv",
    name: str = "bench-storage",
) -> str:  # fmt: skip
    """A customer with bill storage on (verified against the real server) from `next_day`."""
    data = CustomerInput(name=name, currency="USD")
    customer = container.write(lambda conn, now: customers.create(conn, data, now=now))
    box = SecretBox(container.secret_key())
    container.write(lambda conn, now: storage.configure(
        conn, box, customer.id, endpoint_url=endpoint, region="us-east-1", bucket_name=bucket,
        prefix=f"bench/{name}", access_key_id="AK", secret_access_key="SK",
        bills=["expenditures", "resource_bill"], file_format=file_format, now=now,
    ))  # fmt: skip
    storage.enable(container, box, customer.id)
    return customer.id


def start_at(container: Container, customer_id: str, day: datetime) -> None:
    """Push from `day` on (set-up: as if storage had been on since then)."""
    values = {"next_day": day.date().isoformat()}
    container.write(lambda conn, now: storage_repo.upsert(conn, customer_id, values, now=now))


def push_all(container: Container, customer_id: str, *, file_rows: int) -> push.PushReport:
    report = push.PushReport()
    push.push_customer(
        container, SecretBox(container.secret_key()), customer_id,
        lateness=timedelta(seconds=container.settings.settlement_lateness_s),
        max_rows=file_rows, failure_days=3, wall_now=datetime.now(UTC), report=report,
    )  # fmt: skip
    return report


def _rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@contextmanager
def peak_rss() -> Iterator[dict[str, int]]:
    """The process's peak resident memory above where it started, sampled every 20 ms."""
    figures = {"start": _rss_bytes(), "peak": 0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            figures["peak"] = max(figures["peak"], _rss_bytes() - figures["start"])
            stop.wait(0.02)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    try:
        yield figures
    finally:
        stop.set()
        watcher.join()
        figures["peak"] = max(figures["peak"], _rss_bytes() - figures["start"])


def floor(container: Container, customer_id: str, s3: Any, workdir: Path) -> float:
    """A plain SELECT streamed to a local CSV file, uploaded with one put_object."""
    path = workdir / "floor.csv"
    started = time.perf_counter()
    columns = [c for c in fee_record.c if c.name not in ("id",)]
    with container.db.read() as conn, path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([c.name for c in columns])
        result = conn.execution_options(stream_results=True, yield_per=10_000).execute(
            select(*columns).where(fee_record.c.customer_id == customer_id)
        )
        for row in result:
            writer.writerow(row)
    with path.open("rb") as body:
        s3.put_object(Bucket=BUCKET, Key="floor/floor.csv", Body=body)
    return time.perf_counter() - started


def run(records: int, endpoint: str, *, file_rows: int = 500_000) -> dict[str, Any]:
    """One month of `records` fee records pushed; the figures printed and returned."""
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="AK", aws_secret_access_key="SK")  # fmt: skip
    s3.create_bucket(Bucket=BUCKET)
    with tempfile.TemporaryDirectory(prefix="cloudbill-bench-w9-") as tmp:
        workdir = Path(tmp)
        container = build(Settings(database_url=f"sqlite:///{workdir / 'w9.sqlite'}"))
        try:
            with container.db.write() as conn:
                clock_repo.set_simulated(conn, NOW)
            cid = storage_customer(container, endpoint, bucket=BUCKET)
            hours = int((MONTH_END - MONTH_START).total_seconds() // 3600)
            started = time.perf_counter()
            seed_fee_records(container, cid, records, MONTH_START, hours)
            start_at(container, cid, MONTH_START)
            setup_s = time.perf_counter() - started
            started = time.perf_counter()
            with peak_rss() as memory:
                report = push_all(container, cid, file_rows=file_rows)
            seconds = time.perf_counter() - started
            pushed = container.read(lambda conn, _now: storage_repo.pushes(conn, cid, limit=100))
            versions = container.read(
                lambda conn, _now: storage_repo.latest_versions(conn, cid, ["2026-03"])
            )
            rows = sum(v.rows for v in versions)
            floor_s = floor(container, cid, s3, workdir)
        finally:
            container.db.dispose()
    assert not report.failed and report.days == 31, report
    figures = {
        "records": records, "rows_written": rows, "files": report.files, "days": report.days,
        "pushes": len(pushed), "seconds": seconds, "rows_per_s": rows / seconds,
        "peak_memory_bytes": memory["peak"], "floor_seconds": floor_s,
        "ratio": seconds / floor_s, "setup_seconds": setup_s,
    }  # fmt: skip
    print(
        f"W9 bill storage: a month of {records:,} fee records, {report.days} days pushed, "
        f"{report.files} files ({rows:,} rows) in {seconds:.1f} s = {rows / seconds:,.0f} rows/s; "
        f"peak memory +{memory['peak'] / 2**20:.1f} MiB; floor (one SELECT to one CSV, one "
        f"upload) {floor_s:.1f} s; ratio {seconds / floor_s:.1f}x "
        f"(set-up, not measured: {setup_s:.1f} s)"
    )
    return figures


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's standalone S3 server on a free loopback port, for the length of the run."""
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit(
                        "moto's S3 server did not start: pip install 'moto[server]'"
                    ) from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
