"""A usage file ingested in short transactions, so that no other writer waits long for it.

Checking a million records takes tens of seconds; held in one write transaction that would keep
every other writer out as long (SQLite has one writer at a time). So a file goes in two passes:

1. **Check**: every record is validated against the database as it stands, chunk by chunk in
   read transactions (which block no writer), and a record id repeated inside the file is
   compared by content. If any record is rejected, nothing is stored and the answer lists them,
   as for one batch.
2. **Store**: chunk by chunk, each chunk validated again in a read transaction (the slow part,
   holding no lock), then written in one short write transaction that re-checks what another
   writer could have changed meanwhile (a record id stored since) and inserts.

A chunk is all or nothing. The file is idempotent by record id: run again after an interruption
(or a chunk refused because the database changed between the passes), it stores what is
missing and counts the rest as duplicates.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Protocol, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection

from ..catalog import service as catalog_service
from ..kernel.collection import paused_collection
from ..kernel.errors import ErrorCode
from ..kernel.limits import (
    REJECTIONS_REPORTED_MAX,
    USAGE_FILE_TRANSACTION_ROWS,
    USAGE_HORIZON_DAYS,
)
from ..observe import metrics
from . import columns, repo, running_time
from .model import IngestResult, UsageInput
from .rules import PricingUnits
from .service import RunningObserver, check_batch, refuse, reject

T = TypeVar("T")
Work = Callable[[Connection, datetime], T]


class Transactions(Protocol):
    """Where the passes run: `read(work)` and `write(work)` call `work(conn, now)` in a read or
    a write transaction (the container's)."""

    def read(self, work: Work[T]) -> T: ...
    def write(self, work: Work[T]) -> T: ...


Progress = Callable[[str, int], None]  # (phase "check" or "store", records done in it)


# A file's batches: Arrow record batches (files.read_batches) or lists of inputs.
Source = Iterable[Sequence[UsageInput] | pa.RecordBatch]


@paused_collection()  # a file's rows, checked twice: see kernel/collection.py
def ingest_file(
    db: Transactions,
    read_batches: Callable[[], Source],
    *,
    horizon: timedelta = timedelta(days=USAGE_HORIZON_DAYS),
    chunk_rows: int = USAGE_FILE_TRANSACTION_ROWS,
    progress: Progress | None = None,
) -> IngestResult:
    """Check the whole file, then store it chunk by chunk; `read_batches()` reads the file
    afresh for each pass."""
    report = progress or (lambda _phase, _done: None)
    checked = _check_all(db, read_batches, chunk_rows, horizon, report)
    if checked.rejected_count:
        refuse(checked, checked.total)
    return _store_all(db, _chunks(read_batches(), chunk_rows), horizon, report)


@dataclass
class _Checked(IngestResult):
    total: int = 0
    seen: _IdDigests = field(default_factory=lambda: _IdDigests())
    running: _RunningTotals = field(default_factory=lambda: _RunningTotals())


def _check_all(
    db: Transactions,
    read_batches: Callable[[], Source],
    chunk_rows: int,
    horizon: timedelta,
    report: Progress,
) -> _Checked:
    result = _Checked()
    for chunk in _chunks(read_batches(), chunk_rows):
        valid = db.read(partial(_check, chunk=chunk, offset=result.total, horizon=horizon,
                                result=result, observe=result.running.add))  # fmt: skip
        result.seen.add(valid)
        result.total += len(chunk)
        report("check", result.total)
    conflicts, repeated = result.seen.repeats()
    too_long = result.running.over_an_hour(repeated)
    if conflicts or too_long:
        records = _records_at(_chunks(read_batches(), chunk_rows), [*conflicts, *too_long])
        for row in conflicts:
            reject(result, row, _id_at(records, row), ErrorCode.IDEMPOTENCY_CONFLICT,
                   "this record_id is earlier in the file with other content")  # fmt: skip
        for row, (hour, claimed) in too_long.items():
            record = records.get(row)
            key = (str(record.resource_id), str(record.usage_type), hour) if record else None
            reason = (
                running_time.too_long(key, claimed, "stored or earlier in the file")
                if key
                else "with the records before it the resource would run more than an hour"
            )
            reject(result, row, _id_at(records, row), ErrorCode.USAGE_TIME_EXCEEDED, reason)
        result.rejected.sort(key=lambda r: r.index)
    return result


def _store_all(
    db: Transactions, chunks: Iterator[columns.Batch], horizon: timedelta, report: Progress
) -> IngestResult:
    total = IngestResult()
    offset = 0
    for chunk in chunks:
        part = IngestResult()
        valid = db.read(partial(_check, chunk=chunk, offset=offset, horizon=horizon, result=part))
        if part.rejected_count:
            # The database changed since the check pass (a resource released, a record id
            # sent meanwhile with other content): every row before this chunk is stored.
            part.rejected.sort(key=lambda r: r.index)
            refuse(part, len(chunk), stored_before=offset, first_index=offset)
        written = db.write(partial(_write, valid=valid))
        if isinstance(written, list):
            ids = chunk.record_ids().to_pylist()
            for record in written:
                row = offset + ids.index(record)
                reject(part, row, record, ErrorCode.IDEMPOTENCY_CONFLICT,
                       "this record_id was stored meanwhile with other content")  # fmt: skip
            refuse(part, len(chunk), stored_before=offset, first_index=offset)
        total.accepted += written
        total.duplicates += part.duplicates + valid.num_rows - written
        offset += len(chunk)
        report("store", offset)
    return total


def _check(
    conn: Connection,
    now: datetime,
    *,
    chunk: columns.Batch,
    offset: int,
    horizon: timedelta,
    result: IngestResult,
    observe: RunningObserver | None = None,
) -> pa.Table:
    units = PricingUnits(catalog_service.active(conn))
    return check_batch(
        conn, chunk, offset, units, result, now=now, customer_id=None, horizon=horizon,
        observe=observe,
    )  # fmt: skip


def _write(conn: Connection, now: datetime, *, valid: pa.Table) -> int | list[str]:
    """Insert the chunk's checked records but those stored since they were checked; the
    number inserted, or (nothing inserted) the record ids stored meanwhile with other content."""
    repo.hold_gate(conn)
    ids = valid["record_id"]
    stored = repo.existing_hashes(conn, ids.to_pylist())
    if stored:
        known = pc.is_in(ids, value_set=pa.array(list(stored), pa.string()))
        was = pa.array(list(stored.values()), pa.string()).take(
            pc.index_in(ids, value_set=pa.array(list(stored), pa.string()))
        )
        other = pc.fill_null(pc.not_equal(was, valid["payload_hash"]), False)
        if pc.any(other).as_py():
            return ids.filter(other).to_pylist()
        fresh = valid.filter(pc.invert(known))
    else:
        fresh = valid
    repo.insert_records(conn, fresh, now)
    metrics.after_commit(conn, metrics.USAGE_RECORDS, ("accepted",), fresh.num_rows)
    metrics.after_commit(
        conn, metrics.USAGE_RECORDS, ("duplicate",), valid.num_rows - fresh.num_rows
    )
    return fresh.num_rows


def _chunks(batches: Source, size: int) -> Iterator[columns.Batch]:
    """The file's records in batches of `size` rows (the reader's may be of any size)."""
    pending: list[UsageInput] = []
    tables: list[pa.Table] = []
    held = 0
    for batch in batches:
        if isinstance(batch, pa.RecordBatch | pa.Table):
            part = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
            tables.append(part)
            held += part.num_rows
            while held >= size:
                whole = pa.concat_tables(tables)
                yield columns.Batch(whole.slice(0, size))
                tables, held = [whole.slice(size)], held - size
            continue
        pending.extend(batch)
        while len(pending) >= size:
            yield columns.Batch(pending[:size])
            del pending[:size]
    if held:
        yield columns.Batch(pa.concat_tables(tables))
    if pending:
        yield columns.Batch(pending)


def _records_at(chunks: Iterator[columns.Batch], rows: list[int]) -> dict[int, UsageInput]:
    """The records at the given rows of the file (the first that are reported), read again:
    the check pass kept only digests."""
    wanted = set(sorted(rows)[:REJECTIONS_REPORTED_MAX])
    found: dict[int, UsageInput] = {}
    offset = 0
    for chunk in chunks:
        here = sorted(wanted.intersection(range(offset, offset + len(chunk))))
        for row, record in zip(here, chunk.inputs([r - offset for r in here]), strict=True):
            found[row] = record
        offset += len(chunk)
    return found


def _id_at(records: dict[int, UsageInput], row: int) -> str | None:
    record = records.get(row)
    return None if record is None else str(record.record_id)


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def _key_digest(resource_id: str, usage_type: str) -> int:
    digest = hashlib.blake2b(f"{resource_id}\0{usage_type}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _hour_index(hour: datetime) -> int:
    return int(hour.timestamp()) // 3600


class _RunningTotals:
    """The running time each chunk admitted in the check pass, added up across the file (a
    chunk is checked on top of what is stored, not of the file's other chunks), as columns:
    (64-bit digest of resource and usage type, hour, share in 10^-10 s, row). The stored load
    is kept for the keys that have one. Two resources sharing a digest (about once in 10^7
    files of a million resources) would be summed together: a file refused, never one
    admitted that should not be."""

    def __init__(self) -> None:
        self._parts: list[pa.Table] = []
        self._stored: dict[tuple[int, int], int] = {}

    def add(self, taken: pa.Table, stored: dict[running_time.Key, int]) -> None:
        for (resource_id, usage_type, hour), load in stored.items():
            if load:
                self._stored[(_key_digest(resource_id, usage_type), _hour_index(hour))] = load
        if not taken.num_rows:
            return
        pairs = pc.binary_join_element_wise(taken["resource_id"], taken["usage_type"], "\0")
        distinct = pc.unique(pairs)
        digests = pa.array(
            [_key_digest(*pair.split("\0", 1)) for pair in distinct.to_pylist()], pa.int64()
        )
        hours = pc.divide(taken["hour"].cast(pa.int64()), 3600 * 10**6)
        self._parts.append(
            pa.table(
                {
                    "key": digests.take(pc.index_in(pairs, value_set=distinct)),
                    "hour": hours,
                    "share": taken["share"],
                    "row": taken["row"],
                }
            )
        )

    def over_an_hour(self, repeated: set[int]) -> dict[int, tuple[datetime, int]]:
        """Rows that, after the rows before them, would run more than an hour in an hour:
        row -> (the hour, the running time claimed there in 10^-10 s). `repeated`: rows whose
        record id came earlier in the file (a duplicate runs no second time)."""
        if not self._parts:
            return {}
        table = pa.concat_tables(self._parts)
        if repeated:
            again = pc.is_in(table["row"], value_set=pa.array(sorted(repeated), pa.int64()))
            table = table.filter(pc.invert(again))
        over = self._over_keys(table)
        if not over:
            return {}
        suspects = table.join(
            pa.table({"key": [k for k, _ in over], "hour": [h for _, h in over]},
                     schema=pa.schema([("key", pa.int64()), ("hour", pa.int64())])),
            keys=["key", "hour"],
            join_type="inner",
        ).to_pylist()  # fmt: skip
        pieces: dict[int, list[tuple[tuple[int, int], int]]] = {}
        for item in suspects:
            pieces.setdefault(item["row"], []).append(((item["key"], item["hour"]), item["share"]))
        load = {key: self._stored.get(key, 0) for key in over}
        refused: dict[int, tuple[datetime, int]] = {}
        for row in sorted(pieces):
            mine = pieces[row]
            cap = running_time.HOUR_CAPACITY
            past = next(((k, load[k] + s) for k, s in mine if load[k] + s > cap), None)
            if past is not None:
                (_key, hour), claimed = past
                refused[row] = (datetime.fromtimestamp(hour * 3600, UTC), claimed)
                continue
            for key, share in mine:
                load[key] += share
        return refused

    def _over_keys(self, table: pa.Table) -> set[tuple[int, int]]:
        """The (key, hour)s whose shares and stored load pass the hour, summed in Arrow. Its
        64-bit sums are exact while a key has fewer than 2^63 / HOUR_CAPACITY (about 256,000)
        shares; a key with more is summed in Python."""
        cap = running_time.HOUR_CAPACITY
        grouped = table.group_by(["key", "hour"]).aggregate([("share", "sum"), ("share", "count")])
        key_types = [("key", pa.int64()), ("hour", pa.int64())]
        stored = pa.table(
            {"key": [k for k, _ in self._stored], "hour": [h for _, h in self._stored],
             "stored": list(self._stored.values())},
            schema=pa.schema([*key_types, ("stored", pa.int64())]),
        )  # fmt: skip
        grouped = grouped.join(stored, keys=["key", "hour"], join_type="left outer")
        huge = pc.greater_equal(grouped["share_count"], (2**63 - 1) // cap)
        # Compared with the room the stored load leaves, not summed with it: that sum could
        # pass 2^63 where stored records ran over an hour before this rule existed.
        room = pc.subtract(pa.scalar(cap, pa.int64()), pc.fill_null(grouped["stored"], 0))
        past = grouped.filter(pc.and_(pc.invert(huge), pc.greater(grouped["share_sum"], room)))
        over = set(zip(past["key"].to_pylist(), past["hour"].to_pylist(), strict=True))
        many = grouped.filter(huge)
        for key, hour in zip(many["key"].to_pylist(), many["hour"].to_pylist(), strict=True):
            mask = pc.and_(pc.equal(table["key"], key), pc.equal(table["hour"], hour))
            total = sum(table.filter(mask)["share"].to_pylist())
            if total + self._stored.get((key, hour), 0) > cap:
                over.add((key, hour))
        return over


class _IdDigests:
    """Every valid record's id (128-bit digest), content (64-bit digest) and row: a million
    records in about 32 MB, where the ids and contents themselves would take hundreds. An id
    digest stands for its id (a collision among 2^64 files of a million rows is expected
    once); two contents that share a 64-bit digest are still told apart by the store pass,
    which compares the full fingerprints."""

    def __init__(self) -> None:
        self._parts: list[pa.Table] = []

    def add(self, valid: pa.Table) -> None:
        ids = [_digest(r) for r in valid["record_id"].to_pylist()]
        self._parts.append(
            pa.table(
                {
                    "id_hi": pa.array(
                        [int.from_bytes(d[:8], "big", signed=True) for d in ids], pa.int64()
                    ),
                    "id_lo": pa.array(
                        [int.from_bytes(d[8:], "big", signed=True) for d in ids], pa.int64()
                    ),
                    "content": pa.array(
                        [int(h[:15], 16) for h in valid["payload_hash"].to_pylist()], pa.int64()
                    ),
                    "row": valid["row"],
                }
            )
        )

    def repeats(self) -> tuple[list[int], set[int]]:
        """Rows whose record id came earlier in the file: (those with other content, in file
        order; all of them)."""
        if not self._parts:
            return [], set()
        table = pa.concat_tables(self._parts)
        grouped = table.group_by(["id_hi", "id_lo"]).aggregate([("row", "count")])
        many = grouped.filter(pc.greater(grouped["row_count"], 1))
        if many.num_rows == 0:
            return [], set()
        suspects = table.join(
            many.select(["id_hi", "id_lo"]), keys=["id_hi", "id_lo"], join_type="inner"
        )
        first: dict[tuple[int, int], int] = {}
        conflicting: list[int] = []
        repeated: set[int] = set()
        for item in sorted(suspects.to_pylist(), key=lambda r: r["row"]):
            key = (item["id_hi"], item["id_lo"])
            if key not in first:
                first[key] = item["content"]
                continue
            repeated.add(item["row"])
            if first[key] != item["content"]:
                conflicting.append(item["row"])
        return conflicting, repeated
