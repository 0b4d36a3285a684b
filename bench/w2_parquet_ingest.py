"""W2: bulk ingestion of a Parquet file, validated, deduplicated and durable.

Set-up (not measured): a Parquet file of the data set's usage for NEXT_HOUR on existing
resources, with the columns `files.read_batches` reads (quantity as exact text, instants as
UTC timestamps, unit empty where records are sent in the pricing unit). One row in 100 repeats
the row before it (same record id, same content): a replay that must be counted once.

Measured: `file_ingest.ingest_file(container, lambda: files.read_batches(path))`, what
`cloudbill usage ingest` runs: the file read in bounded batches and every record checked
(against its resource and the catalog, converted to the pricing unit, fingerprinted, checked
against stored record ids) in read transactions, then checked again and stored chunk by chunk in
short write transactions, so that other writers never wait long for it.

Floor (same run): DuckDB reads the file, drops the repeated rows, and the distinct rows are
inserted into a fresh plain table (with a unique record id) of the same kind of database in one
transaction.

Goal (issue 20): at least 150,000 records/s at medium size, within 2x of the floor.
"""

from __future__ import annotations

import cProfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import func, select

from cloudbill.bootstrap import Container
from cloudbill.ingest import files
from cloudbill.ingest.file_ingest import ingest_file
from cloudbill.store.schema import usage_record

from . import dataset
from .dataset import NEXT_HOUR, DataSet
from .measure import FloorStore, SqlTimer, profile_text, verdict
from .w9_bill_storage import peak_rss

GOAL_RECORDS_PER_S = 150_000
GOAL_RATIO = 2.0
REPEAT_EVERY = 100  # one row in 100 repeats the row before it
FILE_SCHEMA = pa.schema(
    [
        ("record_id", pa.string()),
        ("resource_id", pa.string()),
        ("usage_type", pa.string()),
        ("quantity", pa.string()),
        ("start", pa.timestamp("us", tz="UTC")),
        ("end", pa.timestamp("us", tz="UTC")),
        ("unit", pa.string()),
    ]
)
CHUNK = 100_000


def record_ids_and_indexes(ds: DataSet, count: int, prefix: str):  # type: ignore[no-untyped-def]
    """(record id, resource, record slot) for `count` rows in NEXT_HOUR, repeats included."""
    resources, per = ds.size.resources, ds.per_resource
    last = None
    for k in range(count):
        if k % REPEAT_EVERY == REPEAT_EVERY - 1 and last is not None:
            yield last
            continue
        last = (f"{prefix}-{k:08d}", k % resources, (k // resources) % per)
        yield last


def write_file(ds: DataSet, path: Path, count: int) -> dict[str, int]:
    distinct = 0
    with pq.ParquetWriter(path, FILE_SCHEMA) as writer:
        for rows in dataset.chunks(record_ids_and_indexes(ds, count, "w2"), CHUNK):
            records = [ds.record(i, j, NEXT_HOUR, allow_crossing=False) for _, i, j in rows]
            distinct += len({rid for rid, _, _ in rows})
            writer.write_table(
                pa.table(
                    {
                        "record_id": [rid for rid, _, _ in rows],
                        "resource_id": [r.resource_id for r in records],
                        "usage_type": [r.kind.usage_type for r in records],
                        "quantity": [r.quantity for r in records],
                        "start": [r.start for r in records],
                        "end": [r.end for r in records],
                        "unit": [r.kind.unit for r in records],
                    },
                    schema=FILE_SCHEMA,
                )
            )
    return {"rows": count, "distinct": distinct}


def floor(url: str, workdir: Path, path: Path) -> dict[str, Any]:
    import duckdb

    store = FloorStore(url, workdir, "w2")
    store.create(
        "floor_usage",
        (
            "seq {pk}, record_id TEXT NOT NULL UNIQUE, resource_id TEXT NOT NULL, "
            "usage_type TEXT NOT NULL, quantity TEXT NOT NULL, unit TEXT, start_at {ts} NOT NULL, "
            "end_at {ts} NOT NULL, received_at {ts} NOT NULL"
        ),
    )
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    received = (NEXT_HOUR.replace(tzinfo=None)).isoformat(sep=" ") + ".000000"
    start = time.perf_counter()
    rows = con.execute(f"""
        SELECT DISTINCT record_id, resource_id, usage_type, quantity, unit,
               strftime("start", '%Y-%m-%d %H:%M:%S.%f'), strftime("end", '%Y-%m-%d %H:%M:%S.%f'),
               '{received}'
        FROM read_parquet('{path}')
    """).fetchall()
    read_s = time.perf_counter() - start
    store.begin()
    store.insert(
        "floor_usage",
        (
            "record_id",
            "resource_id",
            "usage_type",
            "quantity",
            "unit",
            "start_at",
            "end_at",
            "received_at",
        ),
        rows,
    )
    store.commit()
    elapsed = time.perf_counter() - start
    con.close()
    store.close()
    return {"seconds": elapsed, "duckdb_seconds": read_s, "rows": len(rows)}


def run(
    container: Container,
    ds: DataSet,
    workdir: Path,
    *,
    profile: bool = False,
    out: Callable[[str], None] = print,
) -> dict[str, Any]:
    count = ds.size.w2_records
    path = workdir / "w2-usage.parquet"
    started = time.perf_counter()
    made = write_file(ds, path, count)
    dataset.checkpoint(container)
    setup_s = time.perf_counter() - started

    timer = SqlTimer(container.db.engine)
    profiler = cProfile.Profile() if profile else None
    with peak_rss() as memory:
        start = time.perf_counter()
        if profiler:
            profiler.enable()
        result = ingest_file(container, lambda: files.read_batches(path))
        if profiler:
            profiler.disable()
        elapsed = time.perf_counter() - start
    timer.close()

    with container.db.read() as conn:
        stored = conn.execute(
            select(func.count()).where(usage_record.c.record_id.between("w2-", "w2-~"))
        ).scalar_one()
    fl = floor(container.db.url, workdir, path)
    assert result.rejected_count == 0, result.as_dict()
    assert result.accepted == made["distinct"] == stored == fl["rows"], (result, made, stored)
    assert result.duplicates == made["rows"] - made["distinct"], result

    rate = count / elapsed
    ratio = elapsed / fl["seconds"]
    out(
        f"W2 Parquet ingest [{ds.size.name}]: {count:,} rows ({result.accepted:,} stored, "
        f"{result.duplicates:,} repeats counted as duplicates, "
        f"{path.stat().st_size / 1e6:.1f} MB); set-up {setup_s:.1f} s (not measured)"
    )
    out(
        f"   {elapsed:.2f} s = {rate:,.0f} records/s (driver execute {timer.seconds:.2f} s "
        f"over {timer.calls:,} statements; Python and row fetching "
        f"{elapsed - timer.seconds:.2f} s); peak memory +{memory['peak'] / 2**20:.1f} MiB"
        f"{' [under cProfile]' if profiler else ''}"
    )
    out(
        f"   floor (DuckDB read + distinct + bulk insert of {fl['rows']:,} rows): "
        f"{fl['seconds']:.2f} s (DuckDB {fl['duckdb_seconds']:.2f} s, insert "
        f"{fl['seconds'] - fl['duckdb_seconds']:.2f} s) = {count / fl['seconds']:,.0f} "
        f"records/s; ratio {ratio:.1f}x"
    )
    out(
        f"   goal >= {GOAL_RECORDS_PER_S:,} records/s: {verdict(rate >= GOAL_RECORDS_PER_S)} "
        f"({rate:,.0f} records/s); goal within {GOAL_RATIO:g}x of the floor: "
        f"{verdict(ratio <= GOAL_RATIO)} ({ratio:.1f}x)"
    )
    if profiler:
        out("   W2 profile of ingest_file (top 20 by cumulative time):")
        out(profile_text(profiler, 20))
        out("   W2 time in the driver's execute by statement (top 6):")
        out(timer.top(6))
    return {
        "size": ds.size.name,
        "records": count,
        "seconds": elapsed,
        "records_per_s": rate,
        "sql_seconds": timer.seconds,
        "floor_seconds": fl["seconds"],
        "ratio": ratio,
        "goal_met": rate >= GOAL_RECORDS_PER_S,
        "accepted": result.accepted,
        "peak_memory_bytes": memory["peak"],
        "duplicates": result.duplicates,
    }
