"""Pure validation of one usage record against its resource and the catalog."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal, localcontext

from ..catalog.index import CatalogIndex
from ..catalog.model import Dimension, MeasureUnit
from ..catalog.pricing import convert_quantity
from ..kernel.clock import ensure_utc
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.ids import is_valid_id
from ..kernel.limits import (
    USAGE_CAPACITY_MAX_GB,
    USAGE_COUNT_MAX_PER_S,
    USAGE_DATA_MAX_BYTES_PER_S,
    USAGE_FUTURE_SKEW_S,
    USAGE_HORIZON_DAYS,
    USAGE_INTERVAL_MAX_HOURS,
)
from ..kernel.money import parse_decimal
from ..kernel.periods import hour_floor
from ..kernel.quantity import to_e10
from .model import ResourceFacts, UsageInput, ValidRecord

MAX_INTERVAL = timedelta(hours=USAGE_INTERVAL_MAX_HOURS)
FUTURE_SKEW = timedelta(seconds=USAGE_FUTURE_SKEW_S)
ONE_MICROSECOND = timedelta(microseconds=1)
# Base units (byte, GB-second, one) a record may claim per second of its interval, an interval
# shorter than an hour counting as an hour (meters that report a burst at an instant).
PER_SECOND_MAX = {
    Dimension.DATA_TIME: Decimal(USAGE_CAPACITY_MAX_GB),
    Dimension.DATA: Decimal(USAGE_DATA_MAX_BYTES_PER_S),
    Dimension.COUNT: Decimal(USAGE_COUNT_MAX_PER_S),
}
WHAT_IT_MEANS = {
    Dimension.DATA_TIME: f"capacity held is at most {USAGE_CAPACITY_MAX_GB} GB",
    Dimension.DATA: f"data is at most {USAGE_DATA_MAX_BYTES_PER_S} bytes a second",
    Dimension.COUNT: f"a count is at most {USAGE_COUNT_MAX_PER_S} a second",
}
HOUR_S = Decimal(3600)


def check_physical(quantity: Decimal, unit: MeasureUnit, start: datetime, end: datetime) -> None:
    """A record claims no more than its usage type can physically mean in its interval: a
    duration no more than the interval itself, other quantities a bound per second."""
    if unit.dimension is Dimension.TIME:
        interval = Decimal((end - start) // ONE_MICROSECOND).scaleb(-6)
        with localcontext() as ctx:
            ctx.prec = 80
            claimed = quantity * unit.factor
        if claimed > interval:
            raise Reject(
                ErrorCode.INVALID_ARGUMENT,
                f"a duration of {claimed.normalize():f} s cannot exceed its interval of "
                f"{interval.normalize():f} s",
            )
        return
    bound = PER_SECOND_MAX.get(unit.dimension)
    if bound is None:
        return
    seconds = max(Decimal((end - start) // ONE_MICROSECOND).scaleb(-6), HOUR_S)
    with localcontext() as ctx:
        ctx.prec = 80  # exact for any accepted quantity text
        too_much = quantity * unit.factor > bound * seconds
    if too_much:
        raise Reject(
            ErrorCode.INVALID_ARGUMENT,
            f"quantity {quantity} {unit.code} over {seconds} s: {WHAT_IT_MEANS[unit.dimension]}",
        )


class Reject(Exception):
    """A record is refused; carries a stable code and a readable reason."""

    def __init__(self, code: ErrorCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _instant(value: object, what: str) -> datetime:
    if isinstance(value, datetime):
        return ensure_utc(value)
    if isinstance(value, str):
        try:
            return ensure_utc(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
        except ValueError:
            pass
    raise Reject(ErrorCode.INVALID_ARGUMENT, f"{what} is not an ISO 8601 instant: {value!r}")


def payload_hash(record: ValidRecord) -> str:
    """Fingerprint of what a record says (not of how it was spelled)."""
    text = "|".join(
        (
            record.resource_id,
            record.usage_type,
            format(Decimal(record.quantity).normalize(), "f"),
            record.unit,
            record.start_at.isoformat(),
            record.end_at.isoformat(),
        )
    )
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class PricingUnits:
    """The pricing unit of (resource type, spec, currency, usage type), looked up once a batch."""

    def __init__(self, catalog: CatalogIndex) -> None:
        self.catalog = catalog
        self._cache: dict[tuple[str, str, str, str], MeasureUnit | Reject] = {}
        self._durations: dict[str, Decimal | int] | None = None

    def seconds_per_duration_unit(self) -> dict[str, Decimal | int]:
        """Seconds per unit of every duration unit of the catalog (running_time.py), as an
        int where it is whole (the usual s, min, h: integer arithmetic then)."""
        if self._durations is None:
            self._durations = {
                code: int(u.factor) if u.factor == u.factor.to_integral_value() else u.factor
                for code, u in self.catalog.units.items()
                if u.dimension is Dimension.TIME
            }
        return self._durations

    def lookup(self, facts: ResourceFacts, usage_type: str) -> MeasureUnit:
        found = self.unit_for(facts.resource_type, facts.spec, facts.currency, usage_type)
        if isinstance(found, Reject):
            raise found
        return found

    def unit_for(
        self, resource_type: str, spec: str, currency: str, usage_type: str
    ) -> MeasureUnit | Reject:
        """The pricing unit, or why there is none (columns.py looks up a batch's keys)."""
        key = (resource_type, spec, currency, usage_type)
        found = self._cache.get(key)
        if found is None:
            found = self._find(*key)
            self._cache[key] = found
        return found

    def _find(
        self, resource_type: str, spec: str, currency: str, usage_type: str
    ) -> MeasureUnit | Reject:
        try:
            ref = self.catalog.spec(resource_type, spec)
        except CloudbillError as exc:
            return Reject(exc.code, exc.message)
        if usage_type not in ref.resource_type.usage_types:
            return Reject(
                ErrorCode.INVALID_ARGUMENT,
                f"{resource_type} does not meter {usage_type!r} "
                f"(it meters {', '.join(ref.resource_type.usage_types)})",
            )
        prices = ref.spec.prices.get(currency)
        price = prices.pay_per_use.get(usage_type) if prices else None
        if price is None:
            return Reject(
                ErrorCode.CATALOG_ITEM_NOT_FOUND,
                f"{spec} has no pay-per-use {usage_type} price in {currency}",
            )
        return self.catalog.units[price.unit]


def validate(
    record: UsageInput,
    facts: ResourceFacts | None,
    units: PricingUnits,
    *,
    now: datetime,
    customer_id: str | None = None,
    horizon: timedelta = timedelta(days=USAGE_HORIZON_DAYS),
    replay: bool = False,
) -> ValidRecord:
    """The record, checked and converted; raises Reject with the reason otherwise.

    `replay`: the record id is stored already, so only what the record says is checked (to
    tell a duplicate from a conflict), not whether it could be accepted now: a replay of a
    record whose resource was frozen since, or that has grown older than the horizon, is
    still the duplicate it was."""
    if not isinstance(record.record_id, str) or not is_valid_id(record.record_id):
        raise Reject(ErrorCode.INVALID_ARGUMENT, "record_id: 1-128 letters, digits and _ . : -")
    if facts is None or (customer_id is not None and facts.customer_id != customer_id):
        raise Reject(ErrorCode.RESOURCE_NOT_FOUND, f"no resource {record.resource_id!r}")
    start = _instant(record.start, "start")
    end = _instant(record.end, "end")
    if end <= start:
        raise Reject(ErrorCode.INVALID_ARGUMENT, "the interval must end after it starts")
    if not replay:
        facts = in_force(facts, start, end)
    if not isinstance(record.usage_type, str):
        raise Reject(ErrorCode.INVALID_ARGUMENT, "usage_type is required")
    try:
        pricing_unit = units.lookup(facts, record.usage_type)
    except Reject:
        given = units.catalog.units.get(record.unit) if isinstance(record.unit, str) else None
        if not (replay and given):
            raise
        # A replay whose spec or price changed since: what it says can still be compared
        # with what was stored (it is never stored again), in the unit it was sent in.
        pricing_unit = given
    unit = units.catalog.units.get(record.unit) if record.unit else pricing_unit
    if unit is None:
        raise Reject(ErrorCode.CATALOG_ITEM_NOT_FOUND, f"unknown measure unit {record.unit!r}")
    try:
        quantity = parse_decimal(record.quantity, what="quantity")
        if quantity < 0:
            raise Reject(ErrorCode.INVALID_ARGUMENT, "quantity cannot be negative")
        quantity_e10 = to_e10(convert_quantity(quantity, unit, pricing_unit))
    except CloudbillError as exc:
        raise Reject(exc.code, exc.message) from None
    if end - start > MAX_INTERVAL:
        raise Reject(
            ErrorCode.INVALID_ARGUMENT,
            f"one record covers at most {USAGE_INTERVAL_MAX_HOURS} hours",
        )
    if end > now + FUTURE_SKEW and not replay:
        raise Reject(ErrorCode.INVALID_ARGUMENT, "usage cannot end in the future")
    if start < now - horizon and not replay:
        raise Reject(
            ErrorCode.INVALID_ARGUMENT,
            f"usage older than {horizon.days} days is not accepted (CLOUDBILL_USAGE_HORIZON_DAYS)",
        )
    if start < facts.created_at - FUTURE_SKEW and not replay:
        raise Reject(
            ErrorCode.USAGE_BEFORE_RESOURCE,
            f"usage from {start.isoformat()} is before resource {facts.resource_id} was "
            f"created ({facts.created_at.isoformat()})",
        )
    if not replay:
        check_physical(quantity, unit, start, end)
    valid = ValidRecord(
        record_id=record.record_id,
        payload_hash="",
        customer_id=facts.customer_id,
        resource_id=facts.resource_id,
        usage_type=record.usage_type,
        quantity=format(quantity, "f"),
        unit=unit.code,
        pricing_unit=pricing_unit.code,
        quantity_e10=quantity_e10,
        start_at=start,
        end_at=end,
        first_hour=hour_floor(start),
        last_hour=hour_floor(end - ONE_MICROSECOND),
        spec=facts.spec,
    )
    return _with_hash(valid)


def in_force(facts: ResourceFacts, start: datetime, end: datetime) -> ResourceFacts:
    """The resource as it was over [start, end): usage is metered by the billing mode and
    spec in force during its interval, not at its arrival. Pay-per-use usage from before a
    change to yearly/monthly is still billed when it comes late; usage of a prepaid time never
    is, whenever it comes; a spec change switches the price at its instant. A record spanning
    a change is refused (its parts are priced apart: send them as two records), and so is
    usage after a frozen or released resource stopped running (before it, it is billed)."""
    if facts.status in ("frozen", "released"):
        stopped = facts.stopped_at
        if stopped is None or end > stopped + FUTURE_SKEW:
            code = (
                ErrorCode.RESOURCE_FROZEN
                if facts.status == "frozen"
                else (ErrorCode.RESOURCE_RELEASED)
            )
            since = f" since {stopped.isoformat()}" if stopped else ""
            raise Reject(
                code,
                f"resource {facts.resource_id} is {facts.status}{since}: only usage that "
                "ended before it stopped running is billed",
            )
    if facts.terms_since is not None and start < facts.terms_since and facts.history:
        facts = _as_it_was(facts, start, end)
    if facts.billing_mode != "pay_per_use":
        raise Reject(
            ErrorCode.INVALID_STATE,
            f"resource {facts.resource_id} is yearly/monthly over {start.isoformat()} - "
            f"{end.isoformat()}: its usage is prepaid, not metered",
        )
    return facts


def _as_it_was(facts: ResourceFacts, start: datetime, end: datetime) -> ResourceFacts:
    history = facts.history
    overlapping = [
        terms
        for i, terms in enumerate(history)
        if (i == 0 or terms.since < end) and (i + 1 == len(history) or history[i + 1].since > start)
    ]
    if len(overlapping) > 1:
        before, after = overlapping[0], overlapping[1]
        what = (
            f"billing mode {before.billing_mode} -> {after.billing_mode}"
            if before.billing_mode != after.billing_mode
            else f"spec {before.spec} -> {after.spec}"
        )
        raise Reject(
            ErrorCode.USAGE_SPANS_CHANGE,
            f"usage from {start.isoformat()} to {end.isoformat()} spans the change of resource "
            f"{facts.resource_id} at {after.since.isoformat()} ({what}): send the parts "
            "before and after it as separate records",
        )
    terms = overlapping[0]
    return replace(facts, billing_mode=terms.billing_mode, spec=terms.spec)


def _with_hash(record: ValidRecord) -> ValidRecord:
    return replace(record, payload_hash=payload_hash(record))
