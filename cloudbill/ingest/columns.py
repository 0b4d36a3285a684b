"""Usage records as columns: a batch checked with Arrow compute, not record by record.

`check` proves in array operations that a row is valid, for the rows in the common form (a
plain decimal quantity, an ISO 8601 instant or a timestamp, a resource billed pay-per-use
whose terms did not change during the interval, a quantity well inside its physical bound).
Every other row — a bad one, a replay of a resource since frozen, a record spanning a change
of terms, a quantity at its physical bound — goes through `rules.validate`, the exact per-row
rules, so that the answer for every row is the one the per-row path gives
(tests/property/test_ingest_columns.py compares the two on random batches).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from ..catalog.model import Dimension
from ..kernel.limits import AMOUNT_TEXT_MAX_CHARS
from ..kernel.quantity import QUANTITY_PLACES
from .model import ResourceFacts, UsageInput, ValidRecord
from .rules import FUTURE_SKEW, MAX_INTERVAL, PER_SECOND_MAX, PricingUnits, Reject, validate

INPUT_NAMES = ("record_id", "resource_id", "usage_type", "quantity", "start", "end", "unit")
TEXT = pa.string()
INSTANT = pa.timestamp("us", tz="UTC")
VALID_SCHEMA = pa.schema(
    [
        ("row", pa.int64()),
        ("record_id", TEXT),
        ("payload_hash", TEXT),
        ("customer_id", TEXT),
        ("resource_id", TEXT),
        ("usage_type", TEXT),
        ("quantity", TEXT),
        ("unit", TEXT),
        ("pricing_unit", TEXT),
        ("quantity_e10", pa.int64()),
        ("start_at", INSTANT),
        ("end_at", INSTANT),
        ("first_hour", INSTANT),
        ("last_hour", INSTANT),
        ("spec", TEXT),
    ]
)
_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$"  # kernel/ids.py's rule, in RE2
_QUANTITY = r"^[0-9]+(\.[0-9]+)?$"
_QUANTITY_PARTS = r"^(?P<whole>[0-9]+)(?:\.(?P<fraction>[0-9]+))?$"
# The instants both Arrow and Python's fromisoformat read alike (others take the exact path).
_INSTANT = (
    r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]([01][0-9]|2[0-3]):"
    r"[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?(Z|[+-](0[0-9]|1[0-9]|2[0-3]):[0-5][0-9])?$"
)
_ZONE = r"(Z|[+-][0-9]{2}:[0-9]{2})$"
INT64_DIGITS = 18  # any integer of 18 digits fits in an int64
# A physical bound is decided here only with this much room to spare; nearer, exactly.
SCREEN_MARGIN = 1e-9
US = 1_000_000


def _text(values: list[object]) -> pa.Array:
    return pa.array([v if type(v) is str else None for v in values], TEXT)


def from_inputs(records: Sequence[UsageInput]) -> tuple[pa.Table, pa.Array]:
    """A batch of inputs as columns, and the rows that must take the exact path (a value
    that is not text: a number, a datetime, a float, which only the per-row rules judge)."""
    columns = {name: [getattr(r, name) for r in records] for name in INPUT_NAMES}
    # Every value text, but a unit that may be None (INPUT_NAMES' order): one test a row.
    odd = [
        not (type(a) is str and type(b) is str and type(c) is str and type(d) is str
             and type(e) is str and type(f) is str and (g is None or type(g) is str))
        for a, b, c, d, e, f, g in zip(*columns.values(), strict=True)
    ]  # fmt: skip
    for name in ("start", "end"):  # datetimes (tests, the CLI): as the text they stand for
        columns[name] = [v.isoformat() if isinstance(v, datetime) else v for v in columns[name]]
    table = pa.table({name: _text(values) for name, values in columns.items()})
    return table, pa.array(odd, pa.bool_())


def from_batch(batch: pa.RecordBatch | pa.Table) -> tuple[pa.Table, pa.Array]:
    """A file's batch (files.py checked its columns) as columns, and its odd rows."""
    n = batch.num_rows
    odd = pa.array([False] * n, pa.bool_()) if n else pa.array([], pa.bool_())
    out = {}
    for name in INPUT_NAMES:
        if name not in batch.schema.names:
            out[name] = pa.nulls(n, TEXT)
            continue
        column = batch.column(name)
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        kind = column.type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            out[name] = column.cast(TEXT)
        elif name in ("start", "end") and pa.types.is_timestamp(kind) and kind.unit != "ns":
            # A naive timestamp is UTC (kernel/clock.ensure_utc), as the exact path takes it.
            out[name] = column.cast(pa.timestamp("us", tz=kind.tz or "UTC")).cast(INSTANT)
        elif name == "quantity" and pa.types.is_integer(kind):
            out[name] = column.cast(TEXT)  # an integer's text is the integer's decimal
        else:
            out[name] = pa.nulls(n, TEXT)
            odd = pc.or_(odd, pc.is_valid(column))  # decided by the exact rules
    return pa.table(out), odd


def _instants(text: pa.Array) -> pa.Array:
    """Text instants as UTC timestamps; null where the text is not in the common form. A
    naive instant is UTC (kernel/clock.ensure_utc)."""
    if pa.types.is_timestamp(text.type):
        return text
    ok = pc.fill_null(pc.match_substring_regex(text, _INSTANT), False)
    zoned = pc.if_else(
        pc.match_substring_regex(text, _ZONE), text, pc.binary_join_element_wise(text, "Z", "")
    )
    picked = pc.if_else(ok, zoned, pa.nulls(len(text), TEXT))
    try:
        return picked.cast(INSTANT)
    except pa.ArrowInvalid:  # a day that does not exist (Feb 30): row by row, exactly
        out = []
        for value in picked.to_pylist():
            try:
                out.append(pa.array([value], TEXT).cast(INSTANT)[0].value if value else None)
            except pa.ArrowInvalid:
                out.append(None)
        return pa.array(out, pa.int64()).cast(INSTANT)


def _micros(instant: pa.Array) -> pa.Array:
    return instant.cast(pa.int64())


def _hash_texts(resource, usage_type, quantity, unit, start, end) -> list[str]:  # type: ignore[no-untyped-def]
    """rules.payload_hash of each row, its text built in Arrow; sha256 has no Arrow kernel."""

    def iso(instant: pa.Array) -> pa.Array:
        # A cast, not strftime (which formats through a time zone database: 100x slower);
        # "YYYY-MM-DD HH:MM:SS.ffffff" always, which isoformat writes without a zero fraction.
        text = instant.cast(pa.timestamp("us")).cast(TEXT)
        text = pc.replace_substring(text, " ", "T", max_replacements=1)
        return pc.binary_join_element_wise(
            pc.replace_substring_regex(text, r"\.000000$", ""), "+00:00", ""
        )

    joined = pc.binary_join_element_wise(
        resource, usage_type, quantity, unit, iso(start), iso(end), "|"
    )
    sha = hashlib.sha256
    return [sha(t.encode()).hexdigest()[:32] for t in joined.to_pylist()]


def _ratio(source_factor: Decimal, target_factor: Decimal, places: int) -> tuple[int, int]:
    """(A, B) with quantity_e10 = mantissa * A // B for a quantity of `places` decimals."""
    sn, sd = source_factor.as_integer_ratio()
    tn, td = target_factor.as_integer_ratio()
    a, b = sn * td * 10**QUANTITY_PLACES, sd * tn * 10**places
    g = math.gcd(a, b)
    return a // g, b // g


Lookup = Callable[[str, str, str, str], object]  # -> MeasureUnit | Reject


def fast_rows(
    table: pa.Table,
    odd: pa.Array,
    facts: pa.Table,
    stored: dict[str, str],
    units: PricingUnits,
    *,
    now: datetime,
    customer_id: str | None,
    horizon: timedelta,
) -> tuple[pa.Table, pa.Array]:
    """The rows proven valid in array operations (VALID_SCHEMA, `row` counted from 0), and
    the mask of the others, left to the exact rules."""
    n = table.num_rows
    if n == 0:
        return VALID_SCHEMA.empty_table(), pa.array([], pa.bool_())
    ok = pc.invert(odd)
    rid = table["record_id"].combine_chunks()
    ok = pc.and_(ok, pc.fill_null(pc.match_substring_regex(rid, _ID), False))
    replay = pc.fill_null(pc.is_in(rid, value_set=pa.array(list(stored), TEXT)), False)

    # The resource, by a join on its id (index_in keeps the batch's order).
    at = pc.index_in(table["resource_id"], value_set=facts["resource_id"])
    ok = pc.and_(ok, pc.is_valid(at))

    def fact(name: str) -> pa.Array:
        return facts[name].take(at)

    customer = fact("customer_id")
    status = fact("status")
    mode = fact("billing_mode")
    created = _micros(fact("created_at"))
    since = _micros(fact("terms_since"))
    if customer_id is not None:
        ok = pc.and_(ok, pc.fill_null(pc.equal(customer, customer_id), False))

    start = _micros(_instants(table["start"].combine_chunks()))
    end = _micros(_instants(table["end"].combine_chunks()))
    ok = pc.and_(ok, pc.and_(pc.is_valid(start), pc.is_valid(end)))
    span = pc.subtract(end, start)
    ok = pc.and_(ok, pc.fill_null(pc.greater(span, 0), False))
    ok = pc.and_(
        ok, pc.fill_null(pc.less_equal(span, MAX_INTERVAL // timedelta(microseconds=1)), False)
    )

    # Terms in force (rules.in_force): running or in grace, pay-per-use, unchanged since the
    # interval began. Frozen, released, changed resources take the exact path.
    in_force = pc.and_(
        pc.is_in(status, value_set=pa.array(["normal", "grace"])),
        pc.equal(mode, "pay_per_use"),
    )
    in_force = pc.and_(in_force, pc.or_kleene(pc.is_null(since), pc.greater_equal(start, since)))
    now_us = _dt_micros(now)
    fresh_ok = pc.and_(
        in_force, pc.less_equal(end, now_us + FUTURE_SKEW // timedelta(microseconds=1))
    )
    fresh_ok = pc.and_(fresh_ok, pc.greater_equal(start, _dt_micros(now - horizon)))
    fresh_ok = pc.and_(
        fresh_ok,
        pc.greater_equal(start, pc.subtract(created, FUTURE_SKEW // timedelta(microseconds=1))),
    )

    # The pricing unit of (resource type, spec, currency, usage type): a handful of keys.
    keys = pc.binary_join_element_wise(
        fact("resource_type"), fact("spec"),
        fact("currency"), table["usage_type"], "\x1f",
    )  # fmt: skip
    distinct = [k for k in pc.unique(keys).to_pylist() if k is not None]
    priced: dict[str, str] = {}
    for key in distinct:
        found = units.unit_for(*key.split("\x1f"))
        if not isinstance(found, Reject):
            priced[key] = found.code
    pricing_unit = pc.index_in(keys, value_set=pa.array(list(priced), TEXT))
    pricing_unit = (
        pa.array(list(priced.values()), TEXT).take(pricing_unit) if priced else pa.nulls(n, TEXT)
    )
    ok = pc.and_(ok, pc.is_valid(pricing_unit))

    given = table["unit"].combine_chunks()
    unit = pc.if_else(pc.fill_null(pc.equal(given, ""), True), pricing_unit, given)
    catalog = units.catalog.units
    ok = pc.and_(ok, pc.fill_null(pc.is_in(unit, value_set=pa.array(list(catalog), TEXT)), False))

    # The quantity: plain decimal text, at most 18 digits (an int64 mantissa).
    text = table["quantity"].combine_chunks()
    plain = pc.and_(
        pc.fill_null(pc.match_substring_regex(text, _QUANTITY), False),
        pc.less_equal(pc.utf8_length(text), AMOUNT_TEXT_MAX_CHARS),
    )
    parts = pc.extract_regex(pc.if_else(plain, text, "0"), _QUANTITY_PARTS)
    fraction = pc.struct_field(parts, "fraction")
    has_fraction = pc.greater(pc.utf8_length(fraction), 0)
    whole = pc.utf8_ltrim(pc.struct_field(parts, "whole"), "0")
    whole = pc.if_else(pc.equal(whole, ""), "0", whole)
    places = pc.utf8_length(fraction)
    digits = pc.add(pc.utf8_length(whole), places)
    plain = pc.and_(plain, pc.less_equal(digits, INT64_DIGITS))
    ok = pc.and_(ok, plain)
    mantissa = pc.binary_join_element_wise(whole, fraction, "")
    mantissa = pc.if_else(ok, mantissa, "0").cast(pa.int64())
    quantity_text = pc.if_else(
        has_fraction, pc.binary_join_element_wise(whole, fraction, "."), whole
    )
    trimmed = pc.utf8_rtrim(fraction, "0")
    hash_quantity = pc.if_else(
        pc.equal(trimmed, ""), whole, pc.binary_join_element_wise(whole, trimmed, ".")
    )

    # Conversion to the pricing unit, truncated to 10 decimals: mantissa * A // B, exactly
    # in int64 where the product fits (rows where it might not take the exact path).
    combo = pc.binary_join_element_wise(unit, pricing_unit, places.cast(TEXT), "\x1f")
    ratios: dict[str, tuple[int, int, int, bool]] = {}  # -> A, B, digits of A, time?
    for key in pc.unique(pc.if_else(ok, combo, pa.nulls(n, TEXT))).to_pylist():
        if key is None:
            continue
        source, target, d = key.split("\x1f")
        su, tu = catalog[source], catalog[target]
        if su.dimension != tu.dimension:
            continue
        a, b = _ratio(su.factor, tu.factor, int(d))
        if a < 2**63 and b < 2**63:
            ratios[key] = (a, b, len(str(a)), su.dimension is Dimension.TIME)
    at_ratio = pc.index_in(combo, value_set=pa.array(list(ratios), TEXT))
    ok = pc.and_(ok, pc.is_valid(at_ratio))
    a = pa.array([r[0] for r in ratios.values()], pa.int64()).take(at_ratio)
    b = pa.array([r[1] for r in ratios.values()], pa.int64()).take(at_ratio)
    a_digits = pa.array([r[2] for r in ratios.values()], pa.int64()).take(at_ratio)
    ok = pc.and_(ok, pc.fill_null(pc.less_equal(pc.add(digits, a_digits), INT64_DIGITS), False))
    safe_a = pc.if_else(ok, a, 0)
    safe_b = pc.if_else(ok, b, 1)
    e10 = pc.divide(pc.multiply(pc.if_else(ok, mantissa, 0), safe_a), safe_b)

    # Physical bounds (rules.check_physical), screened in floating point with a margin: a row
    # passes here only if it is clearly inside its bound; nearer the bound the exact Decimal
    # rule decides. No float reaches a stored value or a refusal.
    fresh_ok = pc.and_(
        fresh_ok, _inside_bounds(text, unit, span, catalog, ok, mantissa, digits, places)
    )

    fast = pc.and_(ok, pc.or_(replay, fresh_ok))
    fast = pc.fill_null(fast, False)
    rows = pc.indices_nonzero(fast)
    pick = lambda column: column.take(rows)  # noqa: E731
    start_at = pick(start).cast(INSTANT)
    end_at = pick(end).cast(INSTANT)
    hour_us = 3600 * US
    first_hour = pc.multiply(pc.divide(pick(start), hour_us), hour_us).cast(INSTANT)
    last_hour = pc.multiply(pc.divide(pc.subtract(pick(end), 1), hour_us), hour_us).cast(INSTANT)
    resource = pick(table["resource_id"].combine_chunks())
    usage = pick(table["usage_type"].combine_chunks())
    unit_code = pick(unit)
    hashes = _hash_texts(resource, usage, pick(hash_quantity), unit_code, start_at, end_at)
    valid = pa.table(
        [
            rows.cast(pa.int64()), pick(rid), pa.array(hashes, TEXT), pick(customer), resource,
            usage, pick(quantity_text), unit_code, pick(pricing_unit), pick(e10), start_at,
            end_at, first_hour, last_hour, pick(fact("spec")),
        ],
        schema=VALID_SCHEMA,
    )  # fmt: skip
    return valid, pc.invert(fast)


def _inside_bounds(text, unit, span, catalog, ok, mantissa, digits, places) -> pa.Array:  # type: ignore[no-untyped-def]
    """Whether each row's quantity is inside its physical bound (rules.check_physical). A
    duration is compared with its interval exactly, in int64 (a meter's hour of 3600 s sits
    on the bound); the other bounds (a petabyte held, a TiB a second, a billion requests a
    second) are far from any real record, so they are screened in floating point with a
    margin: a row passes only if it is clearly inside, nearer it takes the exact path. No
    float reaches a stored value or a refusal."""
    codes = list(catalog)
    at = pc.index_in(unit, value_set=pa.array(codes, TEXT))
    dims = [catalog[c].dimension for c in codes]
    is_time = pc.fill_null(
        pa.array([d is Dimension.TIME for d in dims], pa.bool_()).take(at), False
    )
    # Durations: mantissa * sfN * 10^6 <= span_us * sfD * 10^places, reduced per unit and places.
    combo = pc.binary_join_element_wise(unit, places.cast(TEXT), "\x1f")
    sides: dict[str, tuple[int, int, int]] = {}
    for key in pc.unique(
        pc.if_else(pc.and_(ok, is_time), combo, pa.nulls(len(unit), TEXT))
    ).to_pylist():
        if key is None:
            continue
        code, d = key.split("\x1f")
        sn, sd = catalog[code].factor.as_integer_ratio()
        left, right = sn * US, sd * 10 ** int(d)
        g = math.gcd(left, right)
        left, right = left // g, right // g
        if len(str(left)) <= INT64_DIGITS and len(str(right)) + 13 <= INT64_DIGITS:
            sides[key] = (left, right, len(str(left)))
    where = pc.index_in(combo, value_set=pa.array(list(sides), TEXT))
    left = pa.array([v[0] for v in sides.values()], pa.int64()).take(where)
    right = pa.array([v[1] for v in sides.values()], pa.int64()).take(where)
    left_digits = pa.array([v[2] for v in sides.values()], pa.int64()).take(where)
    exact = pc.fill_null(
        pc.and_(pc.is_valid(where), pc.less_equal(pc.add(digits, left_digits), INT64_DIGITS)), False
    )
    exact = pc.and_(exact, pc.fill_null(pc.less(span, 10**13), False))
    claimed_s = pc.multiply(pc.if_else(exact, mantissa, 0), pc.fill_null(left, 0))
    interval = pc.multiply(pc.if_else(exact, span, 0), pc.fill_null(right, 0))
    time_inside = pc.and_(exact, pc.less_equal(claimed_s, interval))

    factor = pa.array([float(catalog[c].factor) for c in codes], pa.float64()).take(at)
    bound = pa.array(
        [float(PER_SECOND_MAX[d]) if d in PER_SECOND_MAX else math.inf for d in dims], pa.float64()
    ).take(at)
    quantity = pc.if_else(ok, text, "0").cast(pa.float64())
    claimed = pc.multiply(quantity, factor)
    seconds = pc.divide(span.cast(pa.float64()), float(US))
    allowed = pc.multiply(bound, pc.max_element_wise(seconds, 3600.0))
    other_inside = pc.fill_null(
        pc.less_equal(claimed, pc.multiply(allowed, 1 - SCREEN_MARGIN)), False
    )
    return pc.fill_null(pc.if_else(is_time, time_inside, other_inside), False)


def _dt_micros(instant: datetime) -> int:
    return (instant - EPOCH) // timedelta(microseconds=1)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def records_table(records: Sequence[tuple[int, ValidRecord]]) -> pa.Table:
    """ValidRecords from the exact path, as VALID_SCHEMA columns."""
    if not records:
        return VALID_SCHEMA.empty_table()
    names = VALID_SCHEMA.names[1:]
    columns: dict[str, list[object]] = {"row": [i for i, _ in records]}
    for name in names:
        columns[name] = [getattr(r, name) for _, r in records]
    return pa.table(columns, schema=VALID_SCHEMA)


def exact(
    inputs: Sequence[UsageInput],
    facts: dict[str, ResourceFacts],
    stored: dict[str, str],
    units: PricingUnits,
    *,
    now: datetime,
    customer_id: str | None,
    horizon: timedelta,
) -> list[ValidRecord | Reject]:
    """The per-row rules for the rows the columns left (rules.validate)."""
    out: list[ValidRecord | Reject] = []
    for record in inputs:
        try:
            out.append(
                validate(record, facts.get(record.resource_id),  # type: ignore[arg-type]
                         units, now=now, customer_id=customer_id, horizon=horizon,
                         replay=record.record_id in stored)
            )  # fmt: skip
        except Reject as exc:
            out.append(exc)
    return out


class Batch:
    """A batch as columns, with a way back to each row as sent (for the exact path): the
    inputs themselves (the API, a stream), or the file's Arrow rows."""

    def __init__(self, source: pa.Table | Sequence[UsageInput]) -> None:
        self.source = source
        if isinstance(source, pa.Table):
            self.table, self.odd = from_batch(source)
        else:
            self.table, self.odd = from_inputs(source)

    def __len__(self) -> int:
        return self.table.num_rows

    def inputs(self, rows: Sequence[int]) -> list[UsageInput]:
        if not isinstance(self.source, pa.Table):
            return [self.source[i] for i in rows]
        if not rows:
            return []
        names = [n for n in INPUT_NAMES if n in self.source.schema.names]
        picked = self.source.select(names).take(pa.array(rows, pa.int64())).to_pylist()
        return [UsageInput(**row) for row in picked]

    def record_ids(self) -> pa.Array:
        return self.table["record_id"].combine_chunks()
