"""At most an hour of running time in an hour.

One resource runs at most 3,600 seconds of one duration usage type in a clock hour, whatever
record ids its meter sends them under: the durations of every record of the resource and usage
type, stored or new, summed by the hour they fall in, cannot exceed the hour. (rules.py bounds
one record by its own interval; this bounds records together, so that two meters, or a meter
resent with new ids, cannot bill a VM 25.5 hours in a day.)

A record's share of an hour is the piece settlement bills in that hour (its quantity times the
part of its interval inside the hour, truncated in the pricing unit by itself), counted in
10^-10 s and rounded down, so that records which together fill an hour exactly are never
refused by a rounding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, localcontext
from typing import Protocol

from ..kernel.errors import ErrorCode
from ..kernel.periods import Period, hour_floor, split_by_hour
from ..kernel.quantity import QUANTITY_SCALE, exact_e10, truncated_parts

HOUR_CAPACITY = 3600 * QUANTITY_SCALE  # in 10^-10 s
ONE_MICROSECOND = timedelta(microseconds=1)

Key = tuple[str, str, datetime]  # (resource id, usage type, clock hour)


class Timed(Protocol):
    """What the rule needs of a record (a new one, or a stored row)."""

    resource_id: str
    usage_type: str
    pricing_unit: str
    quantity_e10: int
    quantity: str  # as sent, in `unit`
    unit: str
    start_at: datetime
    end_at: datetime
    first_hour: datetime
    last_hour: datetime


def shares(
    record: Timed, seconds_per_unit: Mapping[str, Decimal | int]
) -> list[tuple[datetime, int]]:
    """(hour, 10^-10 s) the record runs in each clock hour its interval touches: the piece
    settlement bills in each hour (rate/rules.py split_record: truncated in the pricing unit
    hour by hour), in seconds."""
    factor = seconds_per_unit[record.pricing_unit]
    if record.first_hour == record.last_hour:
        return [(record.first_hour, _in_seconds(record.quantity_e10, factor))]
    source = seconds_per_unit.get(record.unit)
    exact = (
        (record.quantity_e10, 1)
        if source is None
        else exact_e10(Decimal(record.quantity), Decimal(source), Decimal(factor))
    )
    pieces = list(split_by_hour(Period(record.start_at, record.end_at)))
    parts = truncated_parts(exact, [piece.microseconds for piece in pieces])
    return [
        (hour_floor(piece.start), _in_seconds(part, factor))
        for piece, part in zip(pieces, parts, strict=True)
    ]


def _in_seconds(quantity_e10: int, seconds_per_unit: Decimal | int) -> int:
    if type(seconds_per_unit) is int:  # s, min, h, day: no Decimal needed
        return quantity_e10 * seconds_per_unit
    with localcontext() as ctx:
        ctx.prec = 60  # exact for any stored quantity
        return int(quantity_e10 * seconds_per_unit)  # 10^-10 s, rounded down


@dataclass(frozen=True, slots=True)
class Refusal:
    index: int
    code: ErrorCode
    reason: str


def admit(
    candidates: Sequence[tuple[int, Timed]],
    seconds_per_unit: Mapping[str, Decimal | int],
    stored: Mapping[Key, int],
) -> tuple[list[int], list[Refusal], list[tuple[int, Key, int]]]:
    """Take the candidates in order on top of what is `stored` (load by key): the indexes
    admitted, the refusals, and every admitted share (index, key, 10^-10 s). Records of other
    than duration units are admitted as they are."""
    load = dict(stored)
    admitted: list[int] = []
    refused: list[Refusal] = []
    taken: list[tuple[int, Key, int]] = []
    for index, record in candidates:
        factor = seconds_per_unit.get(record.pricing_unit)
        if factor is None:
            admitted.append(index)
            continue
        mine = [
            ((record.resource_id, record.usage_type, hour), share)
            for hour, share in shares(record, seconds_per_unit)
        ]
        over = next(
            ((key, load.get(key, 0) + share) for key, share in mine
             if load.get(key, 0) + share > HOUR_CAPACITY),
            None,
        )  # fmt: skip
        if over is not None:
            refused.append(Refusal(index, ErrorCode.USAGE_TIME_EXCEEDED, too_long(*over)))
            continue
        for key, share in mine:
            load[key] = load.get(key, 0) + share
            taken.append((index, key, share))
        admitted.append(index)
    return admitted, refused, taken


def too_long(key: Key, claimed: int, where: str = "stored or earlier in the batch") -> str:
    resource_id, usage_type, hour = key
    seconds = Decimal(claimed).scaleb(-10).normalize()
    return (
        f"{resource_id} would run {seconds:f} s of {usage_type} in the hour from "
        f"{hour.isoformat()} with the records {where}: an hour holds at most 3600 s"
    )


def stored_load(
    sums: Sequence[tuple[str, str, str, datetime, int, int]],
    spanning: Sequence[Timed],
    seconds_per_unit: Mapping[str, Decimal | int],
    wanted: set[Key] | None = None,
) -> dict[Key, int]:
    """The load stored records put on the `wanted` keys: `sums` of the records inside one
    hour (resource, usage type, pricing unit, hour, count, summed quantity), and the records
    `spanning` hours, whole. `wanted` None: every key they touch."""
    load: dict[Key, int] = {}
    for resource_id, usage_type, unit, hour, count, quantity_e10 in sums:
        factor = seconds_per_unit.get(unit)
        key = (resource_id, usage_type, hour)
        if factor is None or (wanted is not None and key not in wanted):
            continue
        if type(factor) is int:  # exact: the sum of the records' shares
            share = quantity_e10 * factor
        else:
            # Each record's share is rounded down (`shares`): their sum is the sum's share
            # less under one unit a record. Less is counted, never more.
            with localcontext() as ctx:
                ctx.prec = 60
                share = max(int(quantity_e10 * factor) - count, 0)
        load[key] = load.get(key, 0) + share
    for record in spanning:
        if record.pricing_unit not in seconds_per_unit:
            continue
        for hour, share in shares(record, seconds_per_unit):
            key = (record.resource_id, record.usage_type, hour)
            if wanted is None or key in wanted:
                load[key] = load.get(key, 0) + share
    return load


def keys_of(record: Timed) -> list[Key]:
    if record.first_hour == record.last_hour:
        return [(record.resource_id, record.usage_type, record.first_hour)]
    hours = []
    hour = record.first_hour
    while hour <= record.last_hour:
        hours.append((record.resource_id, record.usage_type, hour))
        hour += timedelta(hours=1)
    return hours
