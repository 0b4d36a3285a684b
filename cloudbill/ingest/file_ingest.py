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
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection

from ..catalog import service as catalog_service
from ..kernel.errors import ErrorCode
from ..kernel.limits import (
    REJECTIONS_REPORTED_MAX,
    USAGE_FILE_TRANSACTION_ROWS,
    USAGE_HORIZON_DAYS,
)
from ..observe import metrics
from . import repo
from .model import IngestResult, UsageInput, ValidRecord
from .rules import PricingUnits
from .service import check_batch, refuse, reject

T = TypeVar("T")
Work = Callable[[Connection, datetime], T]


class Transactions(Protocol):
    """Where the passes run: `read(work)` and `write(work)` call `work(conn, now)` in a read or
    a write transaction (the container's)."""

    def read(self, work: Work[T]) -> T: ...
    def write(self, work: Work[T]) -> T: ...


Progress = Callable[[str, int], None]  # (phase "check" or "store", records done in it)


def ingest_file(
    db: Transactions,
    read_batches: Callable[[], Iterable[Sequence[UsageInput]]],
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


def _check_all(
    db: Transactions,
    read_batches: Callable[[], Iterable[Sequence[UsageInput]]],
    chunk_rows: int,
    horizon: timedelta,
    report: Progress,
) -> _Checked:
    result = _Checked()
    for chunk in _chunks(read_batches(), chunk_rows):
        valid = db.read(partial(_check, chunk=chunk, offset=result.total, horizon=horizon,
                                result=result))  # fmt: skip
        result.seen.add(valid, _rows_of(chunk, valid, result.total))
        result.total += len(chunk)
        report("check", result.total)
    conflicts = result.seen.conflicting_rows()
    if conflicts:
        ids = _record_ids_at(_chunks(read_batches(), chunk_rows), conflicts)
        for row in conflicts:
            reject(result, row, ids.get(row), ErrorCode.IDEMPOTENCY_CONFLICT,
                   "this record_id is earlier in the file with other content")  # fmt: skip
        result.rejected.sort(key=lambda r: r.index)
    return result


def _store_all(
    db: Transactions, chunks: Iterator[list[UsageInput]], horizon: timedelta, report: Progress
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
            for record in written:
                row = offset + next(i for i, r in enumerate(chunk) if r.record_id == record)
                reject(part, row, record, ErrorCode.IDEMPOTENCY_CONFLICT,
                       "this record_id was stored meanwhile with other content")  # fmt: skip
            refuse(part, len(chunk), stored_before=offset, first_index=offset)
        total.accepted += written
        total.duplicates += part.duplicates + len(valid) - written
        offset += len(chunk)
        report("store", offset)
    return total


def _check(
    conn: Connection,
    now: datetime,
    *,
    chunk: list[UsageInput],
    offset: int,
    horizon: timedelta,
    result: IngestResult,
) -> list[ValidRecord]:
    units = PricingUnits(catalog_service.active(conn))
    return check_batch(
        conn, chunk, offset, units, result, now=now, customer_id=None, horizon=horizon
    )


def _write(conn: Connection, now: datetime, *, valid: list[ValidRecord]) -> int | list[str]:
    """Insert the chunk's checked records but those stored since they were checked; the
    number inserted, or (nothing inserted) the record ids stored meanwhile with other content."""
    repo.hold_gate(conn)
    stored = repo.existing_hashes(conn, [r.record_id for r in valid])
    changed = [
        r.record_id for r in valid if stored.get(r.record_id, r.payload_hash) != r.payload_hash
    ]
    if changed:
        return changed
    fresh = [r for r in valid if r.record_id not in stored]
    repo.insert_records(conn, fresh, now)
    metrics.after_commit(conn, metrics.USAGE_RECORDS, ("accepted",), len(fresh))
    metrics.after_commit(conn, metrics.USAGE_RECORDS, ("duplicate",), len(valid) - len(fresh))
    return len(fresh)


def _chunks(batches: Iterable[Sequence[UsageInput]], size: int) -> Iterator[list[UsageInput]]:
    """The file's records in lists of `size` (the reader's batches may be of any size)."""
    pending: list[UsageInput] = []
    for batch in batches:
        pending.extend(batch)
        while len(pending) >= size:
            yield pending[:size]
            del pending[:size]
    if pending:
        yield pending


def _rows_of(chunk: list[UsageInput], valid: list[ValidRecord], offset: int) -> list[int]:
    """Each valid record's row in the file (check_batch keeps the chunk's order)."""
    wanted = iter(valid)
    target = next(wanted, None)
    rows = []
    for row, record in enumerate(chunk, start=offset):
        if target is not None and record.record_id == target.record_id:
            rows.append(row)
            target = next(wanted, None)
    return rows


def _record_ids_at(chunks: Iterator[list[UsageInput]], rows: list[int]) -> dict[int, str]:
    """The record ids at the given rows of the file, read again (the check kept digests)."""
    wanted = set(rows[:REJECTIONS_REPORTED_MAX])
    found: dict[int, str] = {}
    offset = 0
    for chunk in chunks:
        for row in wanted.intersection(range(offset, offset + len(chunk))):
            found[row] = str(chunk[row - offset].record_id)
        offset += len(chunk)
    return found


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


class _IdDigests:
    """Every valid record's id (128-bit digest), content (64-bit digest) and row: a million
    records in about 32 MB, where the ids and contents themselves would take hundreds. An id
    digest stands for its id (a collision among 2^64 files of a million rows is expected
    once); two contents that share a 64-bit digest are still told apart by the store pass,
    which compares the full fingerprints."""

    def __init__(self) -> None:
        self._parts: list[pa.Table] = []

    def add(self, valid: list[ValidRecord], rows: list[int]) -> None:
        ids = [_digest(r.record_id) for r in valid]
        self._parts.append(
            pa.table(
                {
                    "id_hi": pa.array(
                        [int.from_bytes(d[:8], "big", signed=True) for d in ids], pa.int64()
                    ),
                    "id_lo": pa.array(
                        [int.from_bytes(d[8:], "big", signed=True) for d in ids], pa.int64()
                    ),
                    "content": pa.array([int(r.payload_hash[:15], 16) for r in valid], pa.int64()),
                    "row": pa.array(rows, pa.int64()),
                }
            )
        )

    def conflicting_rows(self) -> list[int]:
        """Rows whose record id came earlier in the file with other content, in file order."""
        if not self._parts:
            return []
        table = pa.concat_tables(self._parts)
        grouped = table.group_by(["id_hi", "id_lo"]).aggregate([("content", "count_distinct")])
        many = grouped.filter(pc.greater(grouped["content_count_distinct"], 1))
        if many.num_rows == 0:
            return []
        suspects = table.join(many.select(["id_hi", "id_lo"]), keys=["id_hi", "id_lo"])
        first: dict[tuple[int, int], int] = {}
        rows = []
        for item in sorted(suspects.to_pylist(), key=lambda r: r["row"]):
            key = (item["id_hi"], item["id_lo"])
            if first.setdefault(key, item["content"]) != item["content"]:
                rows.append(item["row"])
        return rows
