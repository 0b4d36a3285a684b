"""The hour's running-time rule (ingest/running_time.py), as a pure function: records that a
VM could have produced (intervals that do not overlap, each running at most its length) are
never refused, and whatever is admitted never runs more than an hour in any hour."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from cloudbill.ingest import running_time
from cloudbill.kernel.periods import hour_floor
from cloudbill.kernel.quantity import to_e10

HOUR = {"h": Decimal(3600), "s": Decimal(1)}
DAY = datetime(2026, 3, 16, tzinfo=UTC)
US = timedelta(microseconds=1)


@dataclass(frozen=True)
class Record:
    resource_id: str
    usage_type: str
    pricing_unit: str
    quantity_e10: int
    quantity: str
    unit: str
    start_at: datetime
    end_at: datetime
    first_hour: datetime
    last_hour: datetime


def record(start: datetime, end: datetime, seconds: Decimal, unit: str = "h") -> Record:
    quantity = to_e10(seconds / HOUR[unit])
    return Record("vm", "duration", unit, quantity, format(seconds, "f"), "s", start, end,
                  hour_floor(start), hour_floor(end - US))  # fmt: skip


def loads(taken: list[tuple[int, running_time.Key, int]]) -> dict[running_time.Key, int]:
    total: dict[running_time.Key, int] = {}
    for _index, key, share in taken:
        total[key] = total.get(key, 0) + share
    return total


def test_a_share_is_the_duration_times_the_part_of_the_interval_in_the_hour() -> None:
    r = record(DAY.replace(hour=6, minute=30), DAY.replace(hour=8, minute=30), Decimal(3600))
    shares = running_time.shares(r, HOUR)
    assert [(h.hour, s) for h, s in shares] == [(6, 900 * 10**10), (7, 1800 * 10**10),
                                                (8, 900 * 10**10)]  # fmt: skip


def test_two_full_hours_in_one_hour_are_refused_and_the_first_admitted() -> None:
    full = record(DAY, DAY + timedelta(hours=1), Decimal(3600))
    admitted, refused, taken = running_time.admit([(0, full), (1, full)], HOUR, {})
    assert admitted == [0] and [r.index for r in refused] == [1]
    assert refused[0].code == "USAGE_TIME_EXCEEDED"
    assert loads(taken) == {("vm", "duration", DAY): running_time.HOUR_CAPACITY}


def test_what_is_stored_counts_first() -> None:
    half = record(DAY, DAY + timedelta(minutes=30), Decimal(1800))
    stored = {("vm", "duration", DAY): 1801 * 10**10}
    admitted, refused, _ = running_time.admit([(0, half)], HOUR, stored)
    assert admitted == [] and len(refused) == 1


def test_other_units_pass_untouched() -> None:
    gb = Record("vm", "upflow", "GB", 10**30, "1e20", "GB", DAY, DAY + timedelta(hours=1), DAY, DAY)
    admitted, refused, taken = running_time.admit([(0, gb), (1, gb)], HOUR, {})
    assert admitted == [0, 1] and refused == [] and taken == []


# Cut points within two days, microsecond precision: consecutive cuts are intervals that do not
# overlap; each runs a fraction of its length (all of it, or less).
cuts = st.lists(st.integers(0, 2 * 86400 * 10**6), min_size=2, max_size=30, unique=True).map(sorted)
fractions = st.lists(st.sampled_from(["1", "0.5", "0.999999", "0"]), min_size=29, max_size=29)


@settings(max_examples=300, deadline=None)
@given(cuts, fractions, st.sampled_from(["h", "s"]), st.randoms(use_true_random=False))
def test_what_one_vm_could_have_run_is_never_refused(points, parts, unit, rnd) -> None:  # type: ignore[no-untyped-def]
    records = []
    for i, (a, b) in enumerate(pairwise(points)):
        start, end = DAY + a * US, DAY + b * US
        length = Decimal(b - a).scaleb(-6)
        records.append((i, record(start, end, (length * Decimal(parts[i])).quantize(US_EXP),
                                  unit)))  # fmt: skip
    rnd.shuffle(records)  # the order they arrive in does not matter
    admitted, refused, _ = running_time.admit(records, HOUR, {})
    assert refused == [] and sorted(admitted) == sorted(i for i, _ in records)


US_EXP = Decimal("0.000001")
PARTS = ["1", "0.5", "0.25"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3 * 3600), st.integers(1, 3 * 3600), st.sampled_from(PARTS)),
        min_size=1,
        max_size=20,
    )
)
def test_what_is_admitted_never_runs_more_than_an_hour_in_an_hour(items) -> None:  # type: ignore[no-untyped-def]
    records = []
    for i, (offset, length, part) in enumerate(items):
        start = DAY + timedelta(seconds=offset)
        end = start + timedelta(seconds=length)
        records.append((i, record(start, end, Decimal(length) * Decimal(part))))
    admitted, refused, taken = running_time.admit(records, HOUR, {})
    assert len(admitted) + len(refused) == len(records)
    assert all(load <= running_time.HOUR_CAPACITY for load in loads(taken).values())
    # The first record is always admitted: one record alone is bounded by its interval.
    assert admitted[0] == 0
