"""Ingestion use cases: a batch (API), all or nothing; the checks a file's chunks share.

A record id already stored with the same content is a duplicate: accepted once, counted, not
stored again. The same id with other content is rejected. If any record of a batch or file is
rejected, nothing of it is stored and the answer says which records and why.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import NoReturn

from sqlalchemy import Connection

from ..catalog import service as catalog_service
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.limits import REJECTIONS_REPORTED_MAX, USAGE_BATCH_MAX, USAGE_HORIZON_DAYS
from ..observe import metrics
from ..resources import repo as resource_repo
from . import repo, running_time
from .model import IngestResult, Rejection, ResourceFacts, UsageInput, ValidRecord
from .rules import MAX_INTERVAL, PricingUnits, Reject, validate


def ingest_batch(
    conn: Connection,
    records: Sequence[UsageInput],
    *,
    now: datetime,
    customer_id: str | None = None,
    horizon: timedelta = timedelta(days=USAGE_HORIZON_DAYS),
) -> IngestResult:
    """Validate and store one batch inside the caller's transaction; raise if any record is
    rejected, so that the caller's rollback leaves nothing behind. (A file goes through
    file_ingest.py, in short transactions.)"""
    if not 1 <= len(records) <= USAGE_BATCH_MAX:
        raise CloudbillError(
            ErrorCode.LIMIT_EXCEEDED, f"send 1 to {USAGE_BATCH_MAX} records per request"
        )
    repo.hold_gate(conn)
    units = PricingUnits(catalog_service.active(conn))
    result = IngestResult()
    valid = check_batch(
        conn, records, 0, units, result, now=now, customer_id=customer_id, horizon=horizon
    )
    if result.rejected_count:
        refuse(result, len(records))
    repo.insert_records(conn, valid, now)
    metrics.after_commit(conn, metrics.USAGE_RECORDS, ("accepted",), result.accepted)
    metrics.after_commit(conn, metrics.USAGE_RECORDS, ("duplicate",), result.duplicates)
    return result


def refuse(
    result: IngestResult, total: int, *, stored_before: int | None = None, first_index: int = 0
) -> NoReturn:
    """Raise the refusal of `total` records of which `result` rejected some. `stored_before`:
    a file's chunk from row `first_index` was refused, the rows before it being stored."""
    # Refused records are counted now: the refusal does not wait for a commit.
    metrics.USAGE_RECORDS.labels("refused").inc(result.rejected_count)
    if stored_before is None:
        message = f"{result.rejected_count} of {total} usage records were rejected; none was stored"
    else:
        message = (
            f"{result.rejected_count} of the {total} usage records from row {first_index} were "
            f"rejected (the database changed while the file was read); the {stored_before} "
            "rows before them are stored: mend the file and ingest it again"
        )
    extra = {} if stored_before is None else {"stored_before": stored_before}
    raise CloudbillError(ErrorCode.USAGE_REJECTED, message, **result.as_dict(), **extra)


def check_batch(
    conn: Connection,
    batch: Sequence[UsageInput],
    offset: int,
    units: PricingUnits,
    result: IngestResult,
    *,
    now: datetime,
    customer_id: str | None,
    horizon: timedelta,
    observe: RunningObserver | None = None,
) -> list[ValidRecord]:
    facts = _with_history(conn, repo.resource_facts(conn, (r.resource_id for r in batch)))  # type: ignore[misc]
    # Ids stored before: such a record is checked as a replay (a duplicate or a conflict),
    # whatever became of its resource since.
    stored = repo.existing_hashes(
        conn, [r.record_id for r in batch if isinstance(r.record_id, str) and r.record_id]
    )
    checked: list[tuple[int, ValidRecord | Reject]] = []
    for index, record in enumerate(batch, start=offset):
        try:
            checked.append(
                (index, validate(record, facts.get(record.resource_id),  # type: ignore[arg-type]
                                 units, now=now, customer_id=customer_id, horizon=horizon,
                                 replay=record.record_id in stored))
            )  # fmt: skip
        except Reject as exc:
            checked.append((index, exc))
    seen: dict[str, str] = {}
    fresh: list[tuple[int, ValidRecord]] = []
    for index, item in checked:
        if isinstance(item, Reject):
            reject(result, index, batch[index - offset].record_id, item.code, item.reason)
            continue
        first = stored.get(item.record_id) or seen.get(item.record_id)
        if first is None:
            seen[item.record_id] = item.payload_hash
            fresh.append((index, item))
        elif first == item.payload_hash:
            result.duplicates += 1
        else:
            reject(result, index, item.record_id, ErrorCode.IDEMPOTENCY_CONFLICT,
                    "this record_id was already sent with other content")  # fmt: skip
    valid = _within_the_hour(conn, fresh, units, result, observe)
    result.accepted += len(valid)
    return valid


def _with_history(conn: Connection, facts: dict[str, ResourceFacts]) -> dict[str, ResourceFacts]:
    """What validation needs beyond the resource row, loaded only for the few resources that
    need it: the terms history of those whose billing mode or spec ever changed, the instant
    frozen or released ones stopped running."""
    changed = [f.resource_id for f in facts.values() if f.terms_since is not None]
    stopped = [f.resource_id for f in facts.values() if f.status in ("frozen", "released")]
    if not changed and not stopped:
        return facts
    history = resource_repo.terms_history(conn, changed) if changed else {}
    stops = resource_repo.stopped_at(conn, stopped) if stopped else {}
    return {
        rid: replace(f, history=tuple(history.get(rid, ())), stopped_at=stops.get(rid))
        for rid, f in facts.items()
    }


# What a file's check pass keeps of a chunk's running time, to add up across its chunks: the
# shares admitted (row, key, 10^-10 s) and the stored load on their keys.
Shares = list[tuple[int, running_time.Key, int]]
RunningObserver = Callable[[Shares, dict[running_time.Key, int]], None]


def _within_the_hour(
    conn: Connection,
    fresh: list[tuple[int, ValidRecord]],
    units: PricingUnits,
    result: IngestResult,
    observe: RunningObserver | None,
) -> list[ValidRecord]:
    """The new records but those that would run a resource more than an hour in an hour."""
    factors = units.seconds_per_duration_unit()
    timed = [r for _, r in fresh if r.pricing_unit in factors]
    if not timed:
        return [r for _, r in fresh]
    wanted = {key for r in timed for key in running_time.keys_of(r)}
    sums, spanning = repo.stored_running(
        conn,
        {r.resource_id for r in timed},
        {r.usage_type for r in timed},
        min(r.first_hour for r in timed),
        max(r.last_hour for r in timed),
        MAX_INTERVAL,
    )
    stored = running_time.stored_load(sums, spanning, factors, wanted)
    admitted, refused, taken = running_time.admit(fresh, factors, stored)
    by_index = dict(fresh)
    for refusal in refused:
        reject(result, refusal.index, by_index[refusal.index].record_id, refusal.code,
               refusal.reason)  # fmt: skip
    if observe is not None:
        observe(taken, stored)
    return [by_index[i] for i in admitted]


def reject(result: IngestResult, index: int, record_id: object, code: str, reason: str) -> None:
    result.rejected_count += 1
    if len(result.rejected) < REJECTIONS_REPORTED_MAX:
        rid = record_id if isinstance(record_id, str) else None
        result.rejected.append(Rejection(index, rid, str(code), reason))
