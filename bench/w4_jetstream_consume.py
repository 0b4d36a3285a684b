"""W4: usage records consumed from NATS JetStream (`cloudbill usage consume`), stored once.

Set-up (not measured): a stream of its own on the server at CLOUDBILL_BENCH_NATS_URL (default
nats://127.0.0.1:4222), with unique subjects, deleted at the end; the data set's usage for
NEXT_HOUR on existing resources (other slots of the hour than W2 and W3 use), published as
messages of RECORDS_PER_MESSAGE records each (a JSON array, as a metering pipeline batches).

Measured: `ingest.jetstream.run(container.write, options)`, what `cloudbill usage consume
--once` runs: a durable pull consumer fetches FETCH messages at a time, decodes them, stores
the records (checked as columns, in transactions of USAGE_BATCH_MAX records) and acknowledges
each batch after it commits; it stops when the stream is drained.

Floor (same run): a bare nats-py pull consumer (another durable) fetches the same messages in
the same batches and acknowledges them, doing nothing else.

Goal (the issue): at least 50,000 records/s. Peak memory of the process is printed.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import nats
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig
from sqlalchemy import func, select

from cloudbill.bootstrap import Container
from cloudbill.ingest import jetstream
from cloudbill.store.schema import usage_record

from .dataset import NEXT_HOUR, DataSet
from .measure import verdict
from .w9_bill_storage import peak_rss

GOAL_RECORDS_PER_S = 50_000
RECORDS_PER_MESSAGE = 100
FETCH = 100  # messages a fetch: 10,000 records
SLOT_OFFSET = 5  # slots of the hour W2 (0, 1) and W3 (0) do not use
NATS_URL = os.environ.get("CLOUDBILL_BENCH_NATS_URL", "nats://127.0.0.1:4222")


class NoServer(RuntimeError):
    """No NATS JetStream to measure against."""


def messages(ds: DataSet, count: int, prefix: str) -> list[bytes]:
    resources, per = ds.size.resources, ds.per_resource
    out = []
    for first in range(0, count - count % RECORDS_PER_MESSAGE, RECORDS_PER_MESSAGE):
        batch = []
        for k in range(first, first + RECORDS_PER_MESSAGE):
            i, j = k % resources, (k // resources + SLOT_OFFSET) % per
            r = ds.record(i, j, NEXT_HOUR, allow_crossing=False)
            item = {"record_id": f"{prefix}-{k:08d}", "resource_id": r.resource_id,
                    "usage_type": r.kind.usage_type, "quantity": r.quantity,
                    "start": r.start.isoformat(), "end": r.end.isoformat()}  # fmt: skip
            if r.kind.unit:
                item["unit"] = r.kind.unit
            batch.append(item)
        out.append(json.dumps(batch, separators=(",", ":")).encode())
    return out


async def _connect() -> Any:
    try:
        return await nats.connect(NATS_URL, connect_timeout=2, allow_reconnect=False,
                                  max_reconnect_attempts=0)  # fmt: skip
    except Exception as exc:  # the client raises several kinds for an absent server
        raise NoServer(f"no NATS JetStream at {NATS_URL}: {exc!r}") from None


@contextmanager
def stream_of_its_own(payloads: list[bytes]) -> Iterator[dict[str, str]]:
    """A fresh stream holding `payloads`, deleted on exit."""
    tag = "cbw4" + uuid.uuid4().hex[:12]
    names = {"stream": tag.upper(), "subject": f"{tag}.records", "dead": f"{tag}.dead"}

    async def create() -> None:
        nc = await _connect()
        try:
            js = nc.jetstream()
            subjects = [names["subject"], names["dead"]]
            await js.add_stream(StreamConfig(name=names["stream"], subjects=subjects))
            pending = [js.publish(names["subject"], p) for p in payloads]
            for start in range(0, len(pending), 500):  # acknowledged, 500 in flight
                await asyncio.gather(*pending[start : start + 500])
        finally:
            await nc.close()

    async def delete() -> None:
        nc = await _connect()
        try:
            await nc.jetstream().delete_stream(names["stream"])
        finally:
            await nc.close()

    asyncio.run(create())
    try:
        yield names
    finally:
        asyncio.run(delete())


def floor(names: dict[str, str], count: int) -> float:
    """Seconds a bare pull consumer takes to fetch and acknowledge `count` messages."""

    async def run() -> float:
        nc = await _connect()
        try:
            js = nc.jetstream()
            durable = "floor-" + uuid.uuid4().hex[:8]
            sub = await js.pull_subscribe(
                names["subject"], durable=durable, stream=names["stream"],
                config=ConsumerConfig(durable_name=durable, ack_policy=AckPolicy.EXPLICIT,
                                      filter_subject=names["subject"]),
            )  # fmt: skip
            started = time.perf_counter()
            done = 0
            while done < count:
                msgs = await sub.fetch(min(FETCH, count - done), timeout=10)
                for m in msgs:
                    await m.ack()
                await nc.flush()
                done += len(msgs)
            return time.perf_counter() - started
        finally:
            await nc.close()

    return asyncio.run(run())


def run(
    container: Container, ds: DataSet, workdir: Path, *, out: Callable[[str], None] = print
) -> dict[str, Any]:
    count = ds.size.w2_records
    started = time.perf_counter()
    payloads = messages(ds, count, "w4")
    records = len(payloads) * RECORDS_PER_MESSAGE
    with stream_of_its_own(payloads) as names:
        setup_s = time.perf_counter() - started
        options = jetstream.Options(
            server=NATS_URL, stream=names["stream"], subject=names["subject"],
            durable="cloudbill-w4", dead_letter_subject=names["dead"], batch=FETCH,
            max_wait_s=2.0, ack_wait_s=120.0, once=True,
        )  # fmt: skip
        horizon = timedelta(days=container.settings.usage_horizon_days)
        with peak_rss() as memory:
            start = time.perf_counter()
            totals = jetstream.run(container.write, options, horizon=horizon)
            elapsed = time.perf_counter() - start
        # --once stops after one empty fetch, which waited max_wait_s for nothing.
        elapsed -= options.max_wait_s
        floor_s = floor(names, len(payloads))
    with container.db.read() as conn:
        stored = conn.execute(
            select(func.count()).where(usage_record.c.record_id.between("w4-", "w4-~"))
        ).scalar_one()
    assert totals.messages == len(payloads) and totals.rejected == 0, totals.as_dict()
    assert totals.stored == records == stored, (totals.as_dict(), stored)
    rate = records / elapsed
    ratio = elapsed / floor_s
    out(
        f"W4 JetStream consume [{ds.size.name}]: {records:,} records in {len(payloads):,} "
        f"messages of {RECORDS_PER_MESSAGE}, fetched {FETCH} at a time; set-up {setup_s:.1f} s "
        "(not measured)"
    )
    out(
        f"   {elapsed:.2f} s = {rate:,.0f} records/s ({totals.batches} batches, all {stored:,} "
        f"stored); peak memory +{memory['peak'] / 2**20:.1f} MiB"
    )
    out(
        f"   floor (bare nats-py pull fetch + ack of the same messages): {floor_s:.2f} s = "
        f"{records / floor_s:,.0f} records/s; ratio {ratio:.1f}x"
    )
    out(
        f"   goal >= {GOAL_RECORDS_PER_S:,} records/s: {verdict(rate >= GOAL_RECORDS_PER_S)} "
        f"({rate:,.0f} records/s)"
    )
    return {
        "size": ds.size.name,
        "records": records,
        "seconds": elapsed,
        "records_per_s": rate,
        "floor_seconds": floor_s,
        "ratio": ratio,
        "goal_met": rate >= GOAL_RECORDS_PER_S,
        "peak_memory_bytes": memory["peak"],
    }
