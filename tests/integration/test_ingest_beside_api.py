"""A million-row usage file ingests on SQLite while the operator API keeps writing: every top-up
is answered within a second, none fails, and the file is stored whole.

`cloudbill usage ingest` runs as its own process (as an operator runs it) on the database the
API in this process serves. The file's rows are stored in short transactions
(ingest/file_ingest.py), so a top-up waits at most for one of them. Rows:
CLOUDBILL_TEST_INGEST_ROWS (default 1,000,000; about three minutes on a 2-core machine).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bench.w2_parquet_ingest import FILE_SCHEMA
from cloudbill.api.app import create_app
from cloudbill.bootstrap import Container
from cloudbill.resources import service as resources
from cloudbill.resources.model import ResourceInput
from cloudbill.store.schema import usage_record
from tests.conftest import T0
from tests.helpers import assert_books_balance, created_before, new_customer

CLOUDBILL = Path(sys.executable).parent / "cloudbill"
ROWS = int(os.environ.get("CLOUDBILL_TEST_INGEST_ROWS", "1000000"))
RESOURCES = 1000
ANSWER_WITHIN_S = 1.0
PEAK_MEMORY_MAX_MB = 1024  # the file is streamed: memory does not grow with its rows
AUTH = {"Authorization": "Bearer test-token"}
SCHEMA = FILE_SCHEMA  # the columns `cloudbill usage ingest` reads, as the W2 benchmark writes


def _register_vms(container: Container, customer_id: str) -> None:
    def work(conn, now):  # type: ignore[no-untyped-def]
        for i in range(RESOURCES):
            name = f"vm-{i:05d}"
            data = ResourceInput(customer_id=customer_id, resource_type="hws.resource.type.vm",
                                 spec="s6.large.2", billing_mode="pay_per_use",
                                 region="ap-southeast-1", name=name, id=name)  # fmt: skip
            resources.register(conn, created_before(data, now), now=now)

    container.write(work)


def _write_file(path: Path) -> None:
    """Row k: resource k mod 1000, its (k div 1000)-th minute of the hours before the clock."""
    first = T0 - timedelta(minutes=ROWS // RESOURCES + 1)
    with pq.ParquetWriter(path, SCHEMA) as writer:
        for begin in range(0, ROWS, 100_000):
            ks = range(begin, min(ROWS, begin + 100_000))
            starts = [first + timedelta(minutes=k // RESOURCES) for k in ks]
            writer.write_table(pa.table({
                "record_id": [f"u-{k:08d}" for k in ks],
                "resource_id": [f"vm-{k % RESOURCES:05d}" for k in ks],
                "usage_type": ["duration"] * len(ks),
                "quantity": ["60"] * len(ks),
                "start": starts,
                "end": [s + timedelta(minutes=1) for s in starts],
                "unit": ["s"] * len(ks),
            }, schema=SCHEMA))  # fmt: skip


def _stored(container: Container) -> int:
    with container.db.read() as conn:
        return conn.execute(select(func.coalesce(func.max(usage_record.c.seq), 0))).scalar_one()


def test_top_ups_are_answered_within_a_second_while_a_million_rows_ingest(
    sqlite_container: Container, tmp_path: Path
) -> None:
    c = sqlite_container
    customer = new_customer(c, "busy-hours")
    _register_vms(c, customer.id)
    path = tmp_path / "usage.parquet"
    _write_file(path)
    env = {**os.environ, "CLOUDBILL_DATABASE_URL": c.settings.database_url}
    log = (tmp_path / "ingest.log").open("w")
    ingest = subprocess.Popen([str(CLOUDBILL), "usage", "ingest", str(path), "--json"], env=env,
                              stdout=subprocess.PIPE, stderr=log, text=True)  # fmt: skip
    client = TestClient(create_app(c))
    answers: list[tuple[float, bool]] = []  # (seconds, rows were being stored meanwhile)
    peak_kb = 0
    try:
        while ingest.poll() is None:
            peak_kb = max(peak_kb, _peak_rss_kb(ingest.pid))
            before = _stored(c)
            started = time.perf_counter()
            response = client.post(
                f"/operator/v1/customers/{customer.id}/topups", headers=AUTH,
                json={"amount": "1.00", "reference": f"beside-{len(answers)}"},
            )  # fmt: skip
            elapsed = time.perf_counter() - started
            assert response.status_code == 201, response.text
            answers.append((elapsed, _stored(c) != before))
            time.sleep(0.1)
        out, _ = ingest.communicate(timeout=60)
    finally:
        if ingest.poll() is None:
            ingest.kill()
        log.close()
    assert ingest.returncode == 0, (tmp_path / "ingest.log").read_text()[-2000:]
    result = json.loads(out)
    assert (result["accepted"], result["duplicates"]) == (ROWS, 0)
    assert _stored_rows(c) == ROWS

    during_stores = [s for s, storing in answers if storing]
    slowest = max(s for s, _ in answers)
    assert peak_kb > 0, "the ingest was never seen running"
    peak_mb = peak_kb / 1024
    print(f"{len(answers)} top-ups, {len(during_stores)} while rows were stored; slowest "
          f"{slowest:.3f} s; the ingest's peak memory {peak_mb:.0f} MB")  # fmt: skip
    assert len(during_stores) >= min(10, ROWS // 100_000 + 1), answers  # writes did overlap
    assert slowest < ANSWER_WITHIN_S, sorted(answers)[-5:]
    assert peak_mb < PEAK_MEMORY_MAX_MB

    balance = client.get(f"/operator/v1/customers/{customer.id}", headers=AUTH).json()
    assert Decimal(balance["overview"]["cash_balance"]) == len(answers)
    assert_books_balance(c)


def _peak_rss_kb(pid: int) -> int:
    """The process's peak resident memory so far (Linux VmHWM); 0 once it has gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _stored_rows(container: Container) -> int:
    with container.db.read() as conn:
        return conn.execute(select(func.count()).select_from(usage_record)).scalar_one()
