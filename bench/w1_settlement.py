"""W1: one hour of usage rated and settled end to end.

Set-up (not measured): the data set's usage for HOUR, 10 records per resource, one resource in
100 with its last record running on into the next hour, inserted straight into `usage_record`
with the derived columns ingestion would compute (a sample is checked against
`ingest.rules.validate`); the same rows are written to a Parquet file for the floor.

Measured: `worker.jobs.settle_due(container)`, the worker's entry point, which settles the one
due hour in one transaction: usage summed per resource, packages, tiers, discounts, coupons,
cash, credit and debt, then fee records, one ledger transfer per customer, package and coupon
usage, arrears marks and their events, committed.

Floor (same run): DuckDB reads the Parquet file and computes the same per-resource and
per-customer usage sums (records crossing the hour are split by time with one division, not
cloudbill's exact largest-remainder split), then the same number of fee-record-shaped rows,
ledger-transaction-shaped rows and ledger-entry-shaped rows (two per transaction) are inserted
into fresh plain tables of the same kind of database in one transaction.

Goal (the issue): the full size (10,000,000 records, 1,000,000 resources, 100,000 customers)
under 5 s on 2 cores, and within 2x of the floor (issue 20).
"""

from __future__ import annotations

import cProfile
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import func, select

from cloudbill.bootstrap import Container
from cloudbill.ingest.repo import RECORD_COLUMNS
from cloudbill.settle.writer import FEE_COLUMNS
from cloudbill.store.schema import (
    customer,
    fee_record,
    package_period,
    package_usage,
    settlement_run,
)
from cloudbill.worker.jobs import settle_due

from . import dataset
from .dataset import HOUR, NEXT_HOUR, DataSet, Writer
from .measure import FloorStore, SqlTimer, profile_text, verdict

GOAL_SECONDS_FULL = 5.0
GOAL_RATIO = 2.0  # issue 20: within 2x of the floor at medium and full size
CHUNK_RESOURCES = 20_000  # resources per set-up transaction (200,000 records)

USAGE_COLUMNS = RECORD_COLUMNS  # the product's own column order
PARQUET_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("resource_id", pa.string()),
        ("service", pa.string()),
        ("resource_type", pa.string()),
        ("spec", pa.string()),
        ("region", pa.string()),
        ("currency", pa.string()),
        ("usage_type", pa.string()),
        ("pricing_unit", pa.string()),
        ("quantity_e10", pa.int64()),
        ("start_at", pa.timestamp("us")),
        ("end_at", pa.timestamp("us")),
        ("first_hour", pa.timestamp("us")),
        ("last_hour", pa.timestamp("us")),
    ]
)


def setup_usage(container: Container, ds: DataSet, parquet_path: Path) -> dict[str, int]:
    """Insert the hour's usage and write the same rows to Parquet; counts of what was made."""
    per = ds.per_resource
    received = NEXT_HOUR + timedelta(minutes=10)
    made = {"records": 0, "crossing": 0}
    stored: dict[tuple, tuple] = {}  # slot -> its instants as the database stores them
    naive: dict[tuple, tuple] = {}  # slot -> its instants for Parquet (UTC, no zone)
    with pq.ParquetWriter(parquet_path, PARQUET_SCHEMA) as parquet:
        for first in range(0, ds.size.resources, CHUNK_RESOURCES):
            last = min(first + CHUNK_RESOURCES, ds.size.resources)
            records = [(i, ds.record(i, j, HOUR)) for i in range(first, last) for j in range(per)]
            with container.db.write() as conn:
                w = Writer(conn)
                received_at = w.dt(received)
                for _, r in records:
                    if r.slot.key not in stored:
                        s = r.slot
                        stored[s.key] = tuple(
                            w.dt(v) for v in (s.start, s.end, s.first_hour, s.last_hour)
                        )
                        naive[s.key] = tuple(
                            v.replace(tzinfo=None)
                            for v in (s.start, s.end, s.first_hour, s.last_hour)
                        )
                w.insert(
                    "usage_record",
                    USAGE_COLUMNS,
                    (
                        (
                            f"w1-{r.resource_id[7:]}-{n % per:02d}",
                            r.payload_hash,
                            ds.customer_ids[ds.resource_customer[i]],
                            r.resource_id,
                            r.kind.usage_type,
                            r.quantity,
                            r.unit,
                            r.kind.pricing_unit,
                            r.quantity_e10,
                            *stored[r.slot.key],
                            received_at,
                            None,  # spec: the resource's (no spec change in the dataset)
                        )
                        for n, (i, r) in enumerate(records)
                    ),
                )
            parquet.write_table(_parquet_chunk(ds, records, naive))
            made["records"] += len(records)
            made["crossing"] += sum(1 for _, r in records if r.crossing)
    return made


def _parquet_chunk(
    ds: DataSet, records: list[tuple[int, dataset.Record]], naive: dict[tuple, tuple]
) -> pa.Table:
    customers = [ds.resource_customer[i] for i, _ in records]
    kinds = [r.kind for _, r in records]
    times = [naive[r.slot.key] for _, r in records]
    return pa.table(
        {
            "customer_id": [ds.customer_ids[c] for c in customers],
            "resource_id": [r.resource_id for _, r in records],
            "service": [k.service for k in kinds],
            "resource_type": [k.resource_type for k in kinds],
            "spec": [k.spec for k in kinds],
            "region": [ds.region(c) for c in customers],
            "currency": [ds.currency(c) for c in customers],
            "usage_type": [k.usage_type for k in kinds],
            "pricing_unit": [k.pricing_unit for k in kinds],
            "quantity_e10": [r.quantity_e10 for _, r in records],
            "start_at": [t[0] for t in times],
            "end_at": [t[1] for t in times],
            "first_hour": [t[2] for t in times],
            "last_hour": [t[3] for t in times],
        },
        schema=PARQUET_SCHEMA,
    )


def floor(url: str, workdir: Path, parquet_path: Path) -> dict[str, Any]:
    import duckdb

    hour = HOUR.replace(tzinfo=None).isoformat(sep=" ")
    end = (HOUR + timedelta(hours=1)).replace(tzinfo=None).isoformat(sep=" ")
    store = FloorStore(url, workdir, "w1")
    store.create(
        "floor_fee",
        (
            "id {pk}, settlement_id {int}, customer_id TEXT, resource_id TEXT, service TEXT, "
            "resource_type TEXT, spec TEXT, region TEXT, billing_mode TEXT, usage_type TEXT, "
            "hour_start {ts}, is_late BOOLEAN, currency TEXT, pricing_unit TEXT, usage_e10 {int}, "
            "package_usage_e10 {int}, unit_price TEXT, official_units {int}, discount_units {int}, "
            "amount_units {int}, coupon_units {int}, cash_units {int}, credit_units {int}, "
            "debt_units {int}, ledger_transaction_id {int}, created_at {ts}, payer_id TEXT"
        ),
    )
    store.create(
        "floor_tx",
        (
            "id {pk}, idempotency_key TEXT UNIQUE, payload_hash TEXT, kind TEXT, customer_id TEXT, "
            "reference TEXT, description TEXT, result TEXT, created_at {ts}"
        ),
    )
    store.create(
        "floor_entry",
        "id {pk}, transaction_id {int}, account_id {int}, currency TEXT, amount_units {int}",
    )
    con = duckdb.connect()
    start = time.perf_counter()
    con.execute(f"""
        CREATE TEMP TABLE lines AS
        SELECT customer_id, resource_id, any_value(service) AS service,
               any_value(resource_type) AS resource_type, any_value(spec) AS spec,
               any_value(region) AS region, any_value(currency) AS currency, usage_type,
               pricing_unit,
               sum(CASE WHEN first_hour = last_hour THEN quantity_e10::HUGEINT
                        ELSE quantity_e10::HUGEINT
                             * (epoch_us(least(end_at, TIMESTAMP '{end}')) - epoch_us(start_at))
                             // (epoch_us(end_at) - epoch_us(start_at)) END)::BIGINT AS usage_e10,
               count(*) AS records
        FROM read_parquet('{parquet_path}')
        WHERE first_hour <= TIMESTAMP '{hour}'
        GROUP BY customer_id, resource_id, usage_type, pricing_unit
    """)
    lines = con.execute("SELECT * FROM lines").fetchall()
    per_customer = con.execute(
        "SELECT customer_id, any_value(currency), sum(usage_e10)::BIGINT, count(*) "
        "FROM lines GROUP BY customer_id ORDER BY customer_id"
    ).fetchall()
    ts = hour + ".000000"
    read_s = time.perf_counter() - start
    store.begin()
    tx_ids = {row[0]: n for n, row in enumerate(per_customer, start=1)}
    store.insert(
        "floor_tx",
        (
            "id",
            "idempotency_key",
            "payload_hash",
            "kind",
            "customer_id",
            "reference",
            "description",
            "result",
            "created_at",
        ),
        (
            (
                n,
                f"settle:{hour}:{cid}",
                "0" * 64,
                "fee",
                cid,
                f"hour {hour}",
                "pay-per-use fees",
                f'{{"currency": "{cur}", "usage": {total}}}',
                ts,
            )
            for n, (cid, cur, total, _count) in enumerate(per_customer, start=1)
        ),
    )
    store.insert(
        "floor_entry",
        ("transaction_id", "account_id", "currency", "amount_units"),
        (
            (n, a, cur, sign * (total // 1000 + 1))
            for n, (_cid, cur, total, _count) in enumerate(per_customer, start=1)
            for a, sign in ((1, -1), (2 + n, 1))
        ),
    )
    store.insert(
        "floor_fee",
        FEE_COLUMNS,
        (
            (
                1,
                cid,
                rid,
                svc,
                rtype,
                spec,
                region,
                "pay_per_use",
                usage,
                ts,
                False,
                cur,
                unit,
                e10,
                0,
                "0.0781",
                e10 // 1000,
                0,
                e10 // 1000,
                0,
                e10 // 1000,
                0,
                0,
                tx_ids[cid],
                ts,
                None,  # payer_id: every customer pays itself here
            )
            for cid, rid, svc, rtype, spec, region, cur, usage, unit, e10, _n in lines
        ),
    )
    store.commit()
    elapsed = time.perf_counter() - start
    con.close()
    store.close()
    return {
        "seconds": elapsed,
        "duckdb_seconds": read_s,
        "lines": len(lines),
        "customers": len(per_customer),
        "usage_e10": sum(row[9] for row in lines),
    }


_PEAK_RESETS = True


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _reset_peak_rss() -> int:
    """Start the kernel's peak-RSS count afresh (Linux: clear_refs 5); the RSS now."""
    global _PEAK_RESETS
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        _PEAK_RESETS = False
    return _status_kib("VmRSS")


def _peak_rss() -> int:
    """The process's peak resident memory since _reset_peak_rss (VmHWM)."""
    return _status_kib("VmHWM")


def run(
    container: Container,
    ds: DataSet,
    workdir: Path,
    *,
    profile: bool = False,
    workers: int | None = None,
    out: Callable[[str], None] = print,
) -> dict[str, Any]:
    """`workers`: settle with that many worker processes and as many shards (PostgreSQL)."""
    size = ds.size
    started = time.perf_counter()
    parquet_path = workdir / "w1-usage.parquet"
    made = setup_usage(container, ds, parquet_path)
    checked = dataset.check_usage_sample(
        container, ds, [ds.record(i, j, HOUR) for i, j in dataset.sample_indexes(ds)]
    )
    dataset.checkpoint(container)
    setup_s = time.perf_counter() - started

    timer = SqlTimer(container.db.engine)
    profiler = cProfile.Profile() if profile and not workers else None
    base_rss = _reset_peak_rss()
    cpu_start = time.process_time()
    start = time.perf_counter()
    if profiler:
        profiler.enable()
    processes: list[dict[str, Any]] = []  # the worker processes' own CPU and memory
    if workers:  # timed from the moment the ready processes are told to go
        results, elapsed, processes = settle_with_workers(container, workers, workdir)
    else:
        results = settle_due(container)
        elapsed = time.perf_counter() - start
    if profiler:
        profiler.disable()
    # this process's: with worker processes, their CPU and memory are not in these figures
    cpu_s = time.process_time() - cpu_start
    peak_rss = _peak_rss()
    timer.close()

    shards = workers or 1
    assert len(results) == shards and all(r.hour == HOUR for r in results), results
    settled = SimpleNamespace(
        hour=HOUR,
        **{k: sum(getattr(r, k) for r in results) for k in ("records", "fees", "customers",
                                                             "new_arrears")},
    )  # fmt: skip
    with container.db.read() as conn:
        runs = conn.execute(
            select(settlement_run.c.shard, func.count()).group_by(settlement_run.c.shard)
        ).all()
    assert sorted(runs) == [(s, 1) for s in range(shards)], runs  # each shard's hour once
    books = dataset.verify_books(container)
    with container.db.read() as conn:
        fee_usage = conn.execute(select(func.sum(fee_record.c.usage_e10))).scalar_one()
        arrears = conn.execute(
            select(func.count()).where(customer.c.arrears_since.is_not(None))
        ).scalar_one()
        package_used = conn.execute(
            select(func.coalesce(func.sum(package_period.c.used_e10), 0))
        ).scalar_one()
        package_taken = conn.execute(
            select(func.coalesce(func.sum(package_usage.c.quantity_e10), 0))
        ).scalar_one()
    fl = floor(container.db.url, workdir, parquet_path)

    assert settled.records == made["records"], (settled.records, made)
    assert settled.fees == fl["lines"], (settled.fees, fl["lines"])
    assert package_used == package_taken, (package_used, package_taken)
    # The floor splits records that cross the hour by one division: it may differ by < 1 each.
    assert abs(fee_usage - fl["usage_e10"]) <= made["crossing"], (fee_usage, fl["usage_e10"])

    ratio = elapsed / fl["seconds"]
    full_estimate = elapsed / size.fraction_of_full
    time_met = full_estimate < GOAL_SECONDS_FULL
    basis = (
        "measured"
        if size.name == "full"
        else f"extrapolated linearly from {size.name} x{1 / size.fraction_of_full:,.0f}"
    )
    how = (
        f"{workers} worker process(es), {workers} shard(s), on PostgreSQL"
        if workers
        else "in-process settle_due"
    )
    out(
        f"W1 settle one hour [{size.name}, {how}]: {made['records']:,} records "
        f"({made['crossing']:,} crossing into the next hour), {size.resources:,} resources, "
        f"{size.customers:,} customers; set-up {setup_s:.1f} s (not measured, "
        f"{checked} records checked against ingestion)"
    )
    out(
        f"   settled: {settled.fees:,} fee records, {settled.customers:,} customer transfers, "
        f"{settled.new_arrears:,} customers ran out of money ({arrears:,} in arrears)"
    )
    out(
        f"   {elapsed:.2f} s = {made['records'] / elapsed:,.0f} records/s "
        + (
            "(from go to the last worker's answer; start-up not counted)"
            if workers
            else f"(driver execute {timer.seconds:.2f} s over {timer.calls:,} statements; "
            f"Python and row fetching {elapsed - timer.seconds:.2f} s)"
        )
        + (" [under cProfile]" if profiler else "")
    )
    # On a shared machine wall time includes waiting for a core; this process's CPU time
    # does not (the database server's, with PostgreSQL, is not in it).
    if processes:
        out(
            "   each worker process while it settled: "
            + "; ".join(
                f"CPU {p['cpu_seconds']:.2f} s, peak memory {p['peak_rss'] / 2**20:,.0f} MiB "
                f"({max(0, p['peak_rss'] - p['base_rss']) / 2**20:,.0f} MiB above ready)"
                for p in processes
            )
        )
    else:
        out(f"   CPU time of this process during settlement: {cpu_s:.2f} s")
    out(
        f"   floor (DuckDB sums + bulk insert of {fl['lines']:,} fee, {fl['customers']:,} "
        f"transaction, {2 * fl['customers']:,} entry rows): {fl['seconds']:.2f} s (DuckDB "
        f"{fl['duckdb_seconds']:.2f} s, insert {fl['seconds'] - fl['duckdb_seconds']:.2f} s); "
        f"ratio {ratio:.1f}x"
    )
    out(
        f"   goal < {GOAL_SECONDS_FULL:.0f} s at full size on 2 cores: {verdict(time_met)} "
        f"({full_estimate:.1f} s, {basis}); goal within {GOAL_RATIO:.0f}x of the floor: "
        f"{verdict(ratio <= GOAL_RATIO)} ({ratio:.1f}x)"
    )
    if not processes:  # with workers, theirs is printed above
        out(
            f"   peak memory (resident, whole process) during settlement: "
            f"{peak_rss / 2**20:,.0f} MiB, {max(0, peak_rss - base_rss) / 2**20:,.0f} MiB above "
            "where it started"
            + ("" if _PEAK_RESETS else " (this kernel cannot reset the peak: since process start)")
        )
    out(f"   books verify: {books.describe()}")
    if profiler:
        out("   W1 profile of settle_due (top 25 by cumulative time):")
        out(profile_text(profiler, 25))
        out("   W1 profile (top 15 by own time):")
        out(profile_text(profiler, 15, sort="tottime"))
        out("   W1 time in the driver's execute by statement (top 12):")
        out(timer.top(12))
    assert books.ok, books.problems
    return {
        "size": size.name,
        "records": made["records"],
        "seconds": elapsed,
        "records_per_s": made["records"] / elapsed,
        "sql_seconds": timer.seconds,
        "floor_seconds": fl["seconds"],
        "ratio": ratio,
        "full_estimate_s": full_estimate,
        "goal_met": time_met and ratio <= GOAL_RATIO,
        "workers": workers,
        "books_ok": books.ok,
        "peak_rss_bytes": max([peak_rss, *(p["peak_rss"] for p in processes)]),
        "cpu_seconds": cpu_s,
        "worker_processes": processes,
        "fees": settled.fees,
        "customers": settled.customers,
        "new_arrears": settled.new_arrears,
    }


# -- settling with worker processes ---------------------------------------------------------------

WORKER_SCRIPT = """
import json, sys, time
from datetime import datetime
from cloudbill.bootstrap import build
from cloudbill.config import Settings
from cloudbill.worker.jobs import settle_due
container = build(Settings())
container.read(lambda conn, now: None)  # connected and ready
def status_bytes(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0
try:  # the peak from here on (Linux: clear_refs 5 restarts VmHWM)
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
except OSError:
    pass
base = status_bytes("VmRSS")
print("ready", flush=True)
sys.stdin.readline()
started, cpu = time.perf_counter(), time.process_time()
results = settle_due(container)
print(json.dumps({"seconds": time.perf_counter() - started,
    "cpu_seconds": time.process_time() - cpu, "peak_rss": status_bytes("VmHWM"),
    "base_rss": base, "results": [
    {"hour": r.hour.isoformat(), "records": r.records, "fees": r.fees,
     "customers": r.customers, "new_arrears": r.new_arrears} for r in results]}), flush=True)
"""


def settle_with_workers(
    container: Container, workers: int, workdir: Path
) -> tuple[list[Any], float, list[dict[str, Any]]]:
    """Settle the due hour with `workers` processes (and as many shards), each running the
    worker's settle_due; measured from the moment all are told to go until the last ends
    (process start-up and imports are left out: every process is ready before). Also each
    process's CPU time and peak resident memory while it settled."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDBILL_")}
    env.update(
        CLOUDBILL_DATABASE_URL=container.db.url,
        CLOUDBILL_OPERATOR_TOKEN=dataset.TOKEN,
        CLOUDBILL_SETTLEMENT_SHARDS=str(workers),
        CLOUDBILL_LOG_LEVEL="warning",
    )
    command = [sys.executable, "-c", WORKER_SCRIPT]
    procs = [
        subprocess.Popen(
            command, env=env, cwd=workdir, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        for _ in range(workers)
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    start = time.perf_counter()
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    lines = [_answer(proc) for proc in procs]
    elapsed = time.perf_counter() - start  # the last one has settled its shards
    results, processes = [], []
    for proc, line in zip(procs, lines, strict=True):
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0 and line, (line, out)
        answer = json.loads(line)
        processes.append({k: answer[k] for k in ("cpu_seconds", "peak_rss", "base_rss")})
        for item in answer["results"]:
            results.append(
                SimpleNamespace(**{**item, "hour": datetime.fromisoformat(item["hour"])})
            )
    return results, elapsed, processes


def _answer(proc: subprocess.Popen[str]) -> str:
    """The worker's JSON answer, past any log lines it printed before (a worker that lost the
    race to make the shard layout says so, and tries again)."""
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith('{"seconds"'):
            return line
    return ""
