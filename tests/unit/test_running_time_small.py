"""The running-time test of a small batch (summed in Python) answers as the Arrow one does."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from cloudbill.ingest import columns, running_time, service

CAP = running_time.HOUR_CAPACITY
H0 = datetime(2026, 3, 16, 10, tzinfo=UTC)


def _arrow_fits(shares: pa.Table, stored: dict[running_time.Key, int]) -> bool:
    """The Arrow path of service._within_the_hour, as it stands there."""
    key = ["resource_id", "usage_type", "hour"]
    total = shares.group_by(key).aggregate([("share", "sum")])
    if stored:
        load = pa.table(
            {"resource_id": [k[0] for k in stored], "usage_type": [k[1] for k in stored],
             "hour": pa.array([k[2] for k in stored], columns.INSTANT),
             "load": pa.array([min(v, CAP + 1) for v in stored.values()], pa.int64())}
        )  # fmt: skip
        total = total.join(load, keys=key, join_type="left outer")
        sums = pc.add(total["share_sum"], pc.fill_null(total["load"], 0))
    else:
        sums = total["share_sum"]
    return not pc.any(pc.greater(sums, CAP)).as_py()


def _shares(rows: list[tuple[str, str, datetime, int]]) -> pa.Table:
    return pa.table(
        {"row": list(range(len(rows))), "resource_id": [r[0] for r in rows],
         "usage_type": [r[1] for r in rows], "hour": [r[2] for r in rows],
         "share": [r[3] for r in rows]},
        schema=service.SHARES_SCHEMA,
    )  # fmt: skip


def test_small_batches_sum_as_arrow_does() -> None:
    rng = random.Random(20)
    for _ in range(300):
        resources = [f"vm-{i}" for i in range(rng.randint(1, 4))]
        hours = [H0 + timedelta(hours=h) for h in range(rng.randint(1, 3))]
        rows = [
            (rng.choice(resources), rng.choice(["duration", "gpu"]), rng.choice(hours),
             rng.choice([0, 1, CAP // 4, CAP // 2, CAP // 3, CAP, CAP - 1]))
            for _ in range(rng.randint(1, 12))
        ]  # fmt: skip
        stored = {
            (rng.choice(resources), "duration", rng.choice(hours)):
                rng.choice([1, CAP // 2, CAP, CAP + 5, 2**62])
            for _ in range(rng.randint(0, 3))
        }  # fmt: skip
        shares = _shares(rows)
        assert service._fits_small(shares, stored) == _arrow_fits(shares, stored), (rows, stored)


def test_an_hour_exactly_fits_and_a_tenth_of_a_nanosecond_more_does_not() -> None:
    half = [("vm-1", "duration", H0, CAP // 2), ("vm-1", "duration", H0, CAP // 2)]
    assert service._fits_small(_shares(half), {})
    assert not service._fits_small(_shares(half), {("vm-1", "duration", H0): 1})
    assert service._fits_small(_shares(half), {("vm-1", "duration", H0 + timedelta(hours=1)): CAP})
