"""Pure: turn due usage (sums of one-hour records, and records spanning hours) into billing
lines, one per customer, resource, usage type and hour."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ..kernel.quantity import exact_e10
from ..rate.rules import split_record

# customer, resource, usage type, unit, hour, spec (None: the resource's)
LineKey = tuple[str, str, str, str, datetime, str | None]


@dataclass(frozen=True, slots=True)
class Due:
    """Which records a run bills (settle/repo.py's due clause) and which of their pieces an
    earlier run billed: what it takes to find a line's own records again (repo.line_pieces)."""

    previous_watermark: int
    watermark: int
    hour: datetime
    previous_hour: datetime | None
    since: datetime | None = None  # a held customer's backlog: from this hour
    customer_id: str | None = None


@dataclass(slots=True)  # a million of them in a big hour: no __dict__ each
class Line:
    customer_id: str
    resource_id: str
    usage_type: str
    pricing_unit: str
    hour: datetime
    spec: str | None  # the spec the usage ran at (usage of two specs in an hour: two lines)
    usage_e10: int
    records: int  # usage records with a piece on this line (a record spanning hours counts on each)
    is_late: bool
    due: Due | None = None  # None: built by hand (a test), its records cannot be looked up


def build_lines(
    single_hour_sums: Iterable[tuple],  # (customer, resource, usage, unit, hour, sum, count, spec)
    multi_hour_records: Iterable[
        tuple
    ],  # (seq, customer, resource, usage, unit, qty, start, end, first, last, sent, sent unit,
    #    spec)
    *,
    unit_factors: Mapping[str, Decimal],
    hour: datetime,
    previous_hour: datetime | None,
    previous_watermark: int,
    voided_seqs: frozenset[int] | set[int] = frozenset(),
    due: Due | None = None,
) -> dict[LineKey, Line]:
    """Only pieces up to `hour`, and never a piece an earlier run billed: that is a piece in an
    hour <= previous_hour of a record with seq <= previous_watermark. Voided usage is left out:
    multi-hour records by `voided_seqs`, single-hour ones come as negative sums to take off."""
    lines: dict[LineKey, Line] = {}

    def add(key: LineKey, quantity: int, count: int) -> None:
        line = lines.get(key)
        if line is None:
            late = previous_hour is not None and key[4] <= previous_hour
            lines[key] = Line(*key, usage_e10=quantity, records=count, is_late=late, due=due)
        else:
            line.usage_e10 += quantity
            line.records += count

    for cid, rid, usage, unit, piece_hour, total, count, spec in single_hour_sums:
        add((cid, rid, usage, unit, piece_hour, spec), int(total), int(count))
    for (
        seq,
        cid,
        rid,
        usage,
        unit,
        quantity,
        start,
        end,
        first,
        last,
        sent,
        sent_unit,
        spec,
    ) in multi_hour_records:
        if seq in voided_seqs:
            continue
        split = record_split(start, end, first, last, quantity, sent, sent_unit, unit,
                             unit_factors)  # fmt: skip
        for piece_hour, part in split:
            if piece_hour > hour:
                break
            billed_before = (
                previous_hour is not None
                and piece_hour <= previous_hour
                and seq <= previous_watermark
            )
            if not billed_before:
                add((cid, rid, usage, unit, piece_hour, spec), part, 1)
    return {key: line for key, line in lines.items() if line.records > 0}


def record_split(  # type: ignore[no-untyped-def]
    start, end, first, last, quantity_e10, sent, sent_unit, unit, unit_factors
) -> list[tuple[datetime, int]]:
    """The hour pieces of a stored record, each truncated from the quantity as sent (its
    stored quantity_e10 if the catalog lost the unit it was sent in)."""
    source, target = unit_factors.get(sent_unit), unit_factors.get(unit)
    exact = None if source is None or target is None else exact_e10(Decimal(sent), source, target)
    return split_record(start, end, first, last, quantity_e10, exact)
