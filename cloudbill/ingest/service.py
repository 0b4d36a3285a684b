"""Ingestion use cases: a batch (API), all or nothing; the checks a file's chunks share.

A record id already stored with the same content is a duplicate: accepted once, counted, not
stored again. The same id with other content is rejected. If any record of a batch or file is
rejected, nothing of it is stored and the answer says which records and why.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import NoReturn

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection

from ..catalog import service as catalog_service
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.limits import REJECTIONS_REPORTED_MAX, USAGE_BATCH_MAX, USAGE_HORIZON_DAYS
from ..observe import metrics
from ..resources import repo as resource_repo
from . import columns, repo, running_time
from .model import IngestResult, Rejection, ResourceFacts, UsageInput, ValidRecord
from .rules import MAX_INTERVAL, PricingUnits, Reject


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
    batch: Sequence[UsageInput] | columns.Batch,
    offset: int,
    units: PricingUnits,
    result: IngestResult,
    *,
    now: datetime,
    customer_id: str | None,
    horizon: timedelta,
    observe: RunningObserver | None = None,
) -> pa.Table:
    """The batch's new records (columns.VALID_SCHEMA, `row` counted from `offset`), in its
    order; its rejections and duplicates counted in `result`."""
    if not isinstance(batch, columns.Batch):
        batch = columns.Batch(batch)
    table = batch.table
    resource_ids = pc.unique(pc.drop_null(table["resource_id"])).to_pylist()
    facts = repo.resource_facts_table(conn, resource_ids)
    # Ids stored before: such a record is checked as a replay (a duplicate or a conflict),
    # whatever became of its resource since.
    ids = pc.drop_null(batch.record_ids())
    stored = repo.existing_hashes(
        conn, pc.unique(pc.filter(ids, pc.not_equal(ids, ""))).to_pylist()
    )
    where = {"now": now, "customer_id": customer_id, "horizon": horizon}
    fast, slow = columns.fast_rows(table, batch.odd, facts, stored, units, **where)  # type: ignore[arg-type]
    slow_rows = pc.indices_nonzero(slow).to_pylist()
    inputs = batch.inputs(slow_rows)
    # The few rows the columns left: their resources as objects, with history if needed.
    facts = _with_history(conn, repo.resource_facts(conn, (r.resource_id for r in inputs)))  # type: ignore[misc]
    refused: list[tuple[int, object, str, str]] = []
    exact: list[tuple[int, ValidRecord]] = []
    for row, record, item in zip(
        slow_rows, inputs, columns.exact(inputs, facts, stored, units, **where), strict=True
    ):
        if isinstance(item, Reject):
            refused.append((row, record.record_id, item.code, item.reason))
        else:
            exact.append((row, item))
    valid = pa.concat_tables([fast, columns.records_table(exact)])
    valid = valid.take(pc.sort_indices(valid["row"]))
    fresh, duplicates, conflicts = _new_records(valid, stored)
    result.duplicates += duplicates
    again = "this record_id was already sent with other content"
    refused.extend((row, rid, ErrorCode.IDEMPOTENCY_CONFLICT, again) for row, rid in conflicts)
    for row, record_id, code, reason in sorted(refused, key=lambda r: r[0]):
        reject(result, offset + row, record_id, code, reason)
    fresh = fresh.set_column(0, "row", pc.add(fresh["row"], offset))
    admitted = _within_the_hour(conn, fresh, units, result, observe)
    result.accepted += admitted.num_rows
    return admitted


def _new_records(
    valid: pa.Table, stored: dict[str, str]
) -> tuple[pa.Table, int, list[tuple[int, str]]]:
    """The valid records not stored yet, each id's first in the batch; the number of
    duplicates (same id, same content); the conflicts (same id, other content), by row.
    A set operation against the stored ids; the few rows whose id is stored or repeated are
    then told apart in order."""
    ids = valid["record_id"]
    counts = pc.value_counts(ids)
    repeated = counts.field("values").filter(pc.greater(counts.field("counts"), 1))
    suspect = pc.or_(
        pc.is_in(ids, value_set=pa.array(list(stored), pa.string())),
        pc.is_in(ids, value_set=repeated),
    )
    if not pc.any(suspect).as_py():
        return valid, 0, []
    seen: dict[str, str] = {}
    keep = pc.invert(suspect).to_pylist()
    duplicates = 0
    conflicts: list[tuple[int, str]] = []
    picked = valid.filter(suspect)
    for at, row, rid, digest in zip(
        pc.indices_nonzero(suspect).to_pylist(), picked["row"].to_pylist(),
        picked["record_id"].to_pylist(), picked["payload_hash"].to_pylist(), strict=True,
    ):  # fmt: skip
        first = stored.get(rid) or seen.get(rid)
        if first is None:
            seen[rid] = digest
            keep[at] = True
        elif first == digest:
            duplicates += 1
        else:
            conflicts.append((row, rid))
    return valid.filter(pa.array(keep, pa.bool_())), duplicates, conflicts


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
# shares admitted (columns row, resource_id, usage_type, hour, share in 10^-10 s) and the
# stored load on their keys.
RunningObserver = Callable[[pa.Table, dict[running_time.Key, int]], None]
SHARES_SCHEMA = pa.schema(
    [("row", pa.int64()), ("resource_id", pa.string()), ("usage_type", pa.string()),
     ("hour", columns.INSTANT), ("share", pa.int64())]
)  # fmt: skip


def _within_the_hour(
    conn: Connection,
    fresh: pa.Table,
    units: PricingUnits,
    result: IngestResult,
    observe: RunningObserver | None,
) -> pa.Table:
    """The new records but those that would run a resource more than an hour in an hour.
    Summed by key in Arrow; only when some key would pass the hour are the records taken one
    by one, in order (running_time.admit), to tell which of them is refused."""
    factors = units.seconds_per_duration_unit()
    timed_mask = pc.is_in(fresh["pricing_unit"], value_set=pa.array(list(factors), pa.string()))
    if not pc.any(timed_mask).as_py():
        return fresh
    timed = fresh.filter(timed_mask)
    shares = _shares(timed, factors)
    first_hour, last_hour = (
        pc.min(timed["first_hour"]).as_py(),
        pc.max(timed["last_hour"]).as_py(),
    )
    sums, spanning = repo.stored_running(
        conn, pc.unique(timed["resource_id"]).to_pylist(),
        pc.unique(timed["usage_type"]).to_pylist(), first_hour, last_hour, MAX_INTERVAL,
    )  # fmt: skip
    # Every stored key these resources and hours touch (a few more than the batch's own).
    stored = running_time.stored_load(sums, spanning, factors)
    if shares is not None and shares.num_rows <= SMALL_SHARES:
        fits = _fits_small(shares, stored)
        if fits:
            if observe is not None:
                observe(shares, stored)
            return fresh
    elif shares is not None:
        key = ["resource_id", "usage_type", "hour"]
        total = shares.group_by(key).aggregate([("share", "sum")])
        if stored:
            # A stored load past the hour (records from before this rule) counts as just past
            # it: anything on top is refused all the same, and int64 holds it.
            over = running_time.HOUR_CAPACITY + 1
            load = pa.table(
                {"resource_id": [k[0] for k in stored], "usage_type": [k[1] for k in stored],
                 "hour": pa.array([k[2] for k in stored], columns.INSTANT),
                 "load": pa.array([min(v, over) for v in stored.values()], pa.int64())}
            )  # fmt: skip
            total = total.join(load, keys=key, join_type="left outer")
            sums_now = pc.add(total["share_sum"], pc.fill_null(total["load"], 0))
        else:
            sums_now = total["share_sum"]
        if not pc.any(pc.greater(sums_now, running_time.HOUR_CAPACITY)).as_py():
            # Every record fits on top of all the others: all are admitted, in any order.
            if observe is not None:
                observe(shares, stored)
            return fresh
    candidates = list(zip(fresh["row"].to_pylist(), _objects(fresh), strict=True))
    admitted, refused, taken = running_time.admit(candidates, factors, stored)
    ids = dict(zip(fresh["row"].to_pylist(), fresh["record_id"].to_pylist(), strict=True))
    for refusal in refused:
        reject(result, refusal.index, ids[refusal.index], refusal.code, refusal.reason)
    if observe is not None:
        observe(_taken_table(taken), stored)
    keep = pc.is_in(fresh["row"], value_set=pa.array(admitted, pa.int64()))
    return fresh.filter(keep)


# Up to this many shares (an API batch's) are summed in Python: an Arrow group_by and join
# cost a millisecond or two to set up whatever their size.
SMALL_SHARES = 1_000


def _fits_small(shares: pa.Table, stored: dict[running_time.Key, int]) -> bool:
    """Whether every key's shares fit in the hour on top of its stored load: the test of the
    Arrow path below, summed in Python (exact integers; hours compared as microseconds, as
    Arrow's join compares them)."""
    sums: dict[tuple[str, str, int], int] = {}
    hours = shares["hour"].cast(pa.int64()).to_pylist()
    for resource_id, usage_type, hour, share in zip(
        shares["resource_id"].to_pylist(), shares["usage_type"].to_pylist(), hours,
        shares["share"].to_pylist(), strict=True,
    ):  # fmt: skip
        key = (resource_id, usage_type, hour)
        sums[key] = sums.get(key, 0) + share
    load: dict[tuple[str, str, int], int] = {}
    if stored:
        over = running_time.HOUR_CAPACITY + 1
        at = pa.array([k[2] for k in stored], columns.INSTANT).cast(pa.int64()).to_pylist()
        for (resource_id, usage_type, _hour), hour, value in zip(
            stored, at, stored.values(), strict=True
        ):
            load[(resource_id, usage_type, hour)] = min(value, over)
    cap = running_time.HOUR_CAPACITY
    return all(total + load.get(key, 0) <= cap for key, total in sums.items())


def _shares(timed: pa.Table, factors: dict[str, Decimal | int]) -> pa.Table | None:
    """Each record's share of each hour it runs in (running_time.shares), as columns: records
    inside one hour in Arrow (quantity times the whole seconds of its pricing unit), the few
    spanning hours one by one. None where a unit's seconds are not whole (exact path)."""
    if any(type(f) is not int for f in factors.values()):
        return None
    single = pc.equal(timed["first_hour"], timed["last_hour"])
    inside = timed.filter(single)
    at = pc.index_in(inside["pricing_unit"], value_set=pa.array(list(factors), pa.string()))
    seconds = pa.array(list(factors.values()), pa.int64()).take(at)
    try:
        share = pc.multiply_checked(inside["quantity_e10"], seconds)
    except pa.ArrowInvalid:  # past int64: not a duration any check let through, but exactly
        return None
    parts = [
        pa.table([inside["row"], inside["resource_id"], inside["usage_type"],
                  inside["first_hour"], share], schema=SHARES_SCHEMA)
    ]  # fmt: skip
    spanning = timed.filter(pc.invert(single))
    if spanning.num_rows:
        taken = [
            (row, (record.resource_id, record.usage_type, hour), piece)
            for row, record in zip(spanning["row"].to_pylist(), _objects(spanning), strict=True)
            for hour, piece in running_time.shares(record, factors)
        ]
        parts.append(_taken_table(taken))
    return pa.concat_tables(parts)


def _taken_table(taken: list[tuple[int, running_time.Key, int]]) -> pa.Table:
    return pa.table(
        {
            "row": [row for row, _, _ in taken],
            "resource_id": [key[0] for _, key, _ in taken],
            "usage_type": [key[1] for _, key, _ in taken],
            "hour": [key[2] for _, key, _ in taken],
            "share": [share for _, _, share in taken],
        },
        schema=SHARES_SCHEMA,
    )


def _objects(table: pa.Table) -> list[ValidRecord]:
    """Records as objects, for the per-record rules (the rare case)."""
    names = columns.VALID_SCHEMA.names[1:]
    return [ValidRecord(**row) for row in table.select(names).to_pylist()]


def reject(result: IngestResult, index: int, record_id: object, code: str, reason: str) -> None:
    result.rejected_count += 1
    if len(result.rejected) < REJECTIONS_REPORTED_MAX:
        rid = record_id if isinstance(record_id, str) else None
        result.rejected.append(Rejection(index, rid, str(code), reason))
