"""Hourly pay-per-use settlement checked against an independent reference model.

The reference below is written from the settlement rules alone, never from `cloudbill/settle/`
or `cloudbill/rate/`: it converts and truncates usage at ingestion, splits every record over
the UTC clock hours it touches, lets resource packages cover usage, prices the rest flat or by
monthly cumulative tiers, applies the single best discount, pays each customer's fees of a
settled hour from coupons, cash, credit and finally debt, and bills records that arrive after
their hour was settled as late fee records.

Hypothesis drives random customers (prepaid and post-paid, levels 1-3, several time zones),
resources, usage records (crossing hours, with microseconds, re-sent, arriving late), packages,
coupons and top-ups through the public entry points, settling in several steps on the
simulated clock. After every settlement each fee record, package use, coupon balance and
customer figure must equal the reference exactly, and the books must balance.
"""

from __future__ import annotations

import itertools
import math
import os
import shutil
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, example, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from cloudbill.benefits import service as benefits
from cloudbill.bootstrap import Container
from cloudbill.catalog import service as catalog_service
from cloudbill.catalog.loader import parse_data
from cloudbill.customers import service as customers
from cloudbill.customers.model import CustomerInput
from cloudbill.ingest import service as ingest
from cloudbill.ingest.model import UsageInput
from cloudbill.kernel.periods import utc
from cloudbill.resources import service as resources
from cloudbill.resources.model import ResourceInput
from cloudbill.store import clock_repo
from cloudbill.store.schema import (
    cash_coupon,
    customer,
    fee_record,
    ledger_transaction,
    outbox_event,
    package_usage,
    settlement_run,
)
from cloudbill.worker.jobs import settle_due

from ..conftest import _truncate_postgres, make_container
from ..helpers import assert_books_balance, created_before

E10 = 10**10  # quantities: counts of 1e-10 of the pricing unit
UNITS = 10**8  # money: counts of 1e-8 of the currency
HOUR = timedelta(hours=1)
HOUR_US = 3600 * 10**6
WINDOW_HOURS = 8  # usage happens in [S - 8h, S), S = the instant settlement starts
LATENESS = timedelta(seconds=900)  # settings.settlement_lateness_s
EXAMPLES = int(os.environ.get("CLOUDBILL_REFERENCE_EXAMPLES", "60"))

# --- the test catalog -------------------------------------------------------------------------
# Small tier bounds so that a handful of records crosses them; prices with 10 decimals so that
# the half-up rounding to 8 decimals matters.

UNIT_FACTORS = {
    "s": ("time", "1"), "min": ("time", "60"), "h": ("time", "3600"),
    "B": ("data", "1"), "KB": ("data", "1024"), "MB": ("data", "1048576"),
    "GB": ("data", "1073741824"),
    "GBs": ("data_time", "1"), "GBh": ("data_time", "3600"),
    "count": ("count", "1"), "10k": ("count", "10000"),
}  # fmt: skip
USAGE_TYPES = {"duration": "time", "capacity": "data_time", "upflow": "data", "requests": "count"}
PRICING_UNIT = {"duration": "h", "capacity": "GBh", "upflow": "GB", "requests": "10k"}


@dataclass(frozen=True)
class SpecDef:
    service: str
    resource_type: str
    spec: str
    # currency -> usage type -> flat unit price, or tiers ((up_to or None, price), ...)
    prices: dict[str, dict[str, Any]]


TRAFFIC_USD = (("2", "0.12"), ("5", "0.10"), (None, "0.08"))
TRAFFIC_CNY = (("2", "0.80"), ("5", "0.75"), (None, "0.70"))
OBS_OUT_USD = (("1.5", "0.1080"), ("4", "0.0950"), (None, "0.0800"))
OBS_OUT_CNY = (("1.5", "0.50"), ("4", "0.45"), (None, "0.40"))
SPECS = {
    "vm": SpecDef("ecs", "hws.resource.type.vm", "s6.large.2",
                  {"USD": {"duration": "0.0781"}, "CNY": {"duration": "0.42"}}),
    "vm-odd": SpecDef("ecs", "hws.resource.type.vm", "t6.odd",
                      {"USD": {"duration": "0.0123456789"}, "CNY": {"duration": "0.0987654321"}}),
    "ssd": SpecDef("evs", "hws.resource.type.volume", "SSD",
                   {"USD": {"capacity": "0.00033"}, "CNY": {"capacity": "0.002"}}),
    "eip": SpecDef("eip", "hws.resource.type.ip", "traffic_bgp",
                   {"USD": {"upflow": TRAFFIC_USD}, "CNY": {"upflow": TRAFFIC_CNY}}),
    "obs": SpecDef("obs", "hws.resource.type.obs", "standard",
                   {"USD": {"capacity": "0.0000315068", "upflow": OBS_OUT_USD,
                            "requests": "0.001"},
                    "CNY": {"capacity": "0.0001356164", "upflow": OBS_OUT_CNY,
                            "requests": "0.01"}}),
}  # fmt: skip
SERVICES = ("ecs", "evs", "eip", "obs")
REGIONS = ("ap-southeast-1", "cn-north-4")

FIXED_DISCOUNTS = (
    # never applies to pay-per-use
    {"id": "yearly-purchase", "name": "yearly", "percent": "16.67",
     "billing_mode": "yearly_monthly", "period_unit": "year"},
    {"id": "level-2", "name": "level 2", "percent": "5", "customer_level": 2},
    {"id": "level-3", "name": "level 3", "percent": "10", "customer_level": 3},
    {"id": "level-2-evs", "name": "level 2 evs", "percent": "12", "customer_level": 2,
     "service": "evs"},
    {"id": "level-3-ecs-ym", "name": "level 3 ecs ym", "percent": "15", "customer_level": 3,
     "service": "ecs", "billing_mode": "yearly_monthly"},
    {"id": "obs-ppu", "name": "obs", "percent": "2.5", "service": "obs",
     "billing_mode": "pay_per_use"},
)  # fmt: skip


def _price_doc(price: Any) -> dict[str, Any]:
    if isinstance(price, str):
        return {"price": price}
    return {"tiers": [{"price": p} if up is None else {"up_to": up, "price": p} for up, p in price]}


def _spec_doc(spec: SpecDef) -> dict[str, Any]:
    prices = {
        currency: {
            "pay_per_use": {
                usage: {"unit": PRICING_UNIT[usage], **_price_doc(price)}
                for usage, price in by_usage.items()
            }
        }
        for currency, by_usage in spec.prices.items()
    }
    return {"code": spec.spec, "name": spec.spec, "prices": prices}


def _service_doc(code: str) -> dict[str, Any]:
    by_type: dict[str, list[SpecDef]] = defaultdict(list)
    for spec in SPECS.values():
        if spec.service == code:
            by_type[spec.resource_type].append(spec)
    types = [
        {
            "code": rtype,
            "name": rtype,
            "billing_modes": ["pay_per_use"],
            "usage_types": sorted({u for s in specs for u in s.prices["USD"]}),
            "specs": [_spec_doc(s) for s in specs],
        }
        for rtype, specs in by_type.items()
    ]
    return {"code": code, "name": code, "resource_types": types}


def catalog_document(discounts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "version": "reference-test",
        "name": "settlement reference test catalog",
        "measure_units": [
            {"code": code, "name": code, "dimension": dim, "factor": factor}
            for code, (dim, factor) in UNIT_FACTORS.items()
        ],
        "usage_types": [
            {"code": code, "name": code, "dimension": dim} for code, dim in USAGE_TYPES.items()
        ],
        "services": [_service_doc(code) for code in SERVICES],
        "discounts": [*FIXED_DISCOUNTS, *discounts],
    }


# --- the scenario -----------------------------------------------------------------------------

ZONES = ("UTC", "Asia/Shanghai", "America/New_York", "Pacific/Kiritimati")
# Where settlement starts, with the zones whose month changes inside the usage window.
STARTS = {
    utc(2026, 3, 16, 9): (),  # mid-month
    utc(2026, 3, 31, 14): ("Pacific/Kiritimati",),  # +14: April from 10:00 UTC
    utc(2026, 3, 31, 20): ("Asia/Shanghai",),  # +8: April from 16:00 UTC
    utc(2026, 4, 1, 7): ("UTC", "America/New_York"),  # April from 00:00 and 04:00 UTC
}
# Ids whose byte order differs from a "natural" order: fees are paid in resource-id order.
RESOURCE_IDS = ("a1", "a-2", "A3", "b_4", "a.5", "a:6", "B7", "a10", "a9", "z0")
RECORD_UNITS = {
    "duration": (("s", 20_000, (0, 3)), ("min", 30_000, (0, 2)), ("h", 50_000, (4,))),
    "capacity": (("GBs", 2_000_000, (0, 2)), ("GBh", 60_000, (0, 2))),
    "upflow": (("B", 6_000_000_000, (0,)), ("KB", 6_000_000, (0, 1)),
               ("MB", 6_000_000, (3,)), ("GB", 6_000, (0, 3))),
    "requests": (("count", 2_000_000, (0,)), ("10k", 20_000, (2,))),
}  # fmt: skip
PACKAGE_SCALE = {
    "duration": (300, 2),
    "capacity": (3000, 1),
    "upflow": (500, 2),
    "requests": (300, 2),
}
MONEY = ("0.01", "0.05", "0.3", "2", "15")


@dataclass(frozen=True)
class CustomerPlan:
    currency: str
    postpaid: bool
    credit_limit: str
    level: int
    timezone: str
    discount: tuple[str, str | None] | None  # (percent, service) just for this customer
    initial_topup: str | None


@dataclass(frozen=True)
class ResourcePlan:
    id: str
    customer: int
    spec: str
    region: str


@dataclass(frozen=True)
class RecordPlan:
    id: str
    resource: str
    usage_type: str
    quantity: str
    unit: str
    start_us: int  # from the window start B
    end_us: int
    phase: int


@dataclass(frozen=True)
class PackagePlan:
    customer: int
    usage_type: str
    quantity: str
    scope: tuple[str | None, str | None, str | None, str | None]  # service, type, spec, region
    resets_monthly: bool
    valid_from_h: int  # hours from B
    valid_to_h: int


@dataclass(frozen=True)
class CouponPlan:
    customer: int
    value: str
    services: tuple[str, ...] | None
    billing_modes: tuple[str, ...] | None
    min_spend: str
    valid_to_days: int


@dataclass(frozen=True)
class Scenario:
    start: datetime
    customers: tuple[CustomerPlan, ...]
    resources: tuple[ResourcePlan, ...]
    records: tuple[RecordPlan, ...]
    resends: tuple[tuple[int, int], ...]  # (record index, phase): the same record sent again
    packages: tuple[PackagePlan, ...]
    coupons: tuple[CouponPlan, ...]
    topups: tuple[tuple[int, int, str], ...]  # (phase, customer, amount)
    advances_min: tuple[int, ...]  # per phase, before it ingests


@st.composite
def customer_plans(draw: st.DrawFn, start: datetime) -> CustomerPlan:
    postpaid = draw(st.booleans())
    discount = draw(
        st.none()
        | st.tuples(
            st.sampled_from(("7.5", "20", "33.33", "12.345")), st.none() | st.sampled_from(SERVICES)
        )
    )
    return CustomerPlan(
        currency=draw(st.sampled_from(("USD", "USD", "CNY"))),
        postpaid=postpaid,
        credit_limit=draw(st.sampled_from(("0", "0.05", "0.4", "5"))) if postpaid else "0",
        level=draw(st.integers(1, 3)),
        timezone=draw(st.sampled_from(ZONES + STARTS[start] * 3)),
        discount=discount,
        initial_topup=draw(st.none() | st.sampled_from(MONEY)),
    )


@st.composite
def quantities(draw: st.DrawFn, usage_type: str) -> tuple[str, str]:
    unit, top, places = draw(st.sampled_from(RECORD_UNITS[usage_type]))
    mantissa = draw(st.integers(0, top))
    return format(Decimal(mantissa).scaleb(-draw(st.sampled_from(places))), "f"), unit


@st.composite
def intervals(draw: st.DrawFn) -> tuple[int, int]:
    window = WINDOW_HOURS * HOUR_US
    kind = draw(st.sampled_from(("hours", "seconds", "micro")))
    if kind == "hours":
        first = draw(st.integers(0, WINDOW_HOURS - 1))
        count = draw(st.integers(1, min(3, WINDOW_HOURS - first)))
        return first * HOUR_US, (first + count) * HOUR_US
    scale = 10**6 if kind == "seconds" else 1
    start = draw(st.integers(0, window // scale - 1)) * scale
    length = draw(st.integers(1, 3 * HOUR_US // scale)) * scale
    return start, min(start + length, window)


@st.composite
def package_plans(draw: st.DrawFn, owners: tuple[ResourcePlan, ...]) -> PackagePlan:
    """A package aimed at one of the resources (its scope may still be wider or miss)."""
    owner = draw(st.sampled_from(owners))
    spec = SPECS[owner.spec]
    usage_type = draw(st.sampled_from(sorted(spec.prices["USD"])))
    region = draw(st.sampled_from((owner.region, *REGIONS)))
    scope = draw(
        st.sampled_from(
            (
                (None, None, None, None),
                (spec.service, None, None, None),
                (None, spec.resource_type, None, None),
                (spec.service, spec.resource_type, spec.spec, None),
                (None, None, None, region),
                (None, spec.resource_type, spec.spec, region),
            )
        )
    )
    top, places = PACKAGE_SCALE[usage_type]
    valid_from = draw(st.integers(-3, WINDOW_HOURS - 1))
    return PackagePlan(
        customer=owner.customer,
        usage_type=usage_type,
        quantity=format(Decimal(draw(st.integers(1, top))).scaleb(-places), "f"),
        scope=scope,
        resets_monthly=draw(st.booleans()),
        valid_from_h=valid_from,
        valid_to_h=draw(st.integers(max(valid_from + 1, 0), WINDOW_HOURS + 4)),
    )


@st.composite
def coupon_plans(draw: st.DrawFn, n_customers: int) -> CouponPlan:
    return CouponPlan(
        customer=draw(st.integers(0, n_customers - 1)),
        value=draw(st.sampled_from(("0.01", "0.05", "0.2", "1.5"))),
        services=draw(st.none() | st.sampled_from(SERVICES).map(lambda s: (s,))),
        billing_modes=draw(st.sampled_from((None, ("pay_per_use",), ("yearly_monthly",)))),
        min_spend=draw(st.sampled_from(("0", "0", "0.01", "0.1", "0.5"))),
        valid_to_days=draw(st.integers(20, 40)),
    )


SECONDS_IN = {"s": 1, "min": 60, "h": 3600}


def within_interval(usage_type: str, quantity: str, unit: str, span_us: int) -> tuple[str, str]:
    """A duration never exceeds its interval (ingestion refuses it): one that would is the
    whole interval instead, in seconds."""
    if usage_type != "duration" or Decimal(quantity) * SECONDS_IN[unit] * 10**6 <= span_us:
        return quantity, unit
    return format(Decimal(span_us).scaleb(-6), "f"), "s"


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    start = draw(st.sampled_from(sorted(STARTS)))
    plans = tuple(draw(st.lists(customer_plans(start), min_size=1, max_size=3)))
    n = len(plans)
    ids = draw(st.lists(st.sampled_from(RESOURCE_IDS), min_size=1, max_size=6, unique=True))
    res = tuple(
        ResourcePlan(
            rid,
            draw(st.integers(0, n - 1)),
            draw(st.sampled_from(sorted(SPECS))),
            draw(st.sampled_from(REGIONS)),
        )
        for rid in ids
    )
    phases = draw(st.integers(1, 3))
    records = []
    running: dict[str, list[tuple[int, int]]] = {}  # resource -> its duration intervals
    for i in range(draw(st.integers(0, 14))):
        r = draw(st.sampled_from(res))
        usage_type = draw(st.sampled_from(sorted(SPECS[r.spec].prices["USD"])))
        quantity, unit = draw(quantities(usage_type))
        start_us, end_us = draw(intervals())
        quantity, unit = within_interval(usage_type, quantity, unit, end_us - start_us)
        if usage_type == "duration":
            # One resource runs once at a time: its duration intervals do not overlap
            # (ingestion refuses more than an hour of running time in an hour).
            taken = running.setdefault(r.id, [])
            if any(start_us < b and a < end_us for a, b in taken):
                continue
            taken.append((start_us, end_us))
        phase = draw(st.integers(0, phases - 1))
        records.append(
            RecordPlan(f"u{i}", r.id, usage_type, quantity, unit, start_us, end_us, phase)
        )
    resends = draw(
        st.lists(
            st.tuples(st.integers(0, len(records) - 1), st.integers(0, phases - 1)), max_size=3
        )
        if records
        else st.just([])
    )
    packages = draw(st.lists(package_plans(res), max_size=3))
    coupons = draw(st.lists(coupon_plans(n), max_size=3))
    topups = draw(
        st.lists(
            st.tuples(st.integers(0, phases - 1), st.integers(0, n - 1), st.sampled_from(MONEY)),
            max_size=3,
        )
    )
    return Scenario(
        start=start,
        customers=plans,
        resources=res,
        records=tuple(records),
        resends=tuple(resends),
        # expiring-first needs distinct ends: keep the first package/coupon per (customer, end)
        packages=tuple({(p.customer, p.valid_to_h): p for p in reversed(packages)}.values()),
        coupons=tuple({(c.customer, c.valid_to_days): c for c in reversed(coupons)}.values()),
        topups=tuple(topups),
        advances_min=tuple(
            draw(st.sampled_from((0, 15, 30, 45, 60, 90, 120, 180))) for _ in range(phases)
        ),
    )


# Hand-made scenarios that pin rules random examples reach only rarely.
_H = HOUR_US
MONTH_END = Scenario(
    # Asia/Shanghai enters April 4 hours into the window: tiers and monthly packages restart;
    # a late record of March is priced with March's cumulative usage.
    start=utc(2026, 3, 31, 20),
    customers=(CustomerPlan("USD", False, "0", 1, "Asia/Shanghai", None, "15"),),
    resources=(
        ResourcePlan("a1", 0, "eip", REGIONS[0]),
        ResourcePlan("a-2", 0, "obs", REGIONS[0]),
        ResourcePlan("A3", 0, "vm", REGIONS[1]),
    ),
    records=(
        RecordPlan("u0", "a1", "upflow", "3", "GB", 1 * _H, 2 * _H, 0),
        RecordPlan("u1", "a1", "upflow", "1.5", "GB", 5 * _H, 6 * _H, 0),
        RecordPlan("u2", "a1", "upflow", "0.5", "GB", 2 * _H, 3 * _H, 1),
        RecordPlan("u3", "A3", "duration", "7200", "s", 3 * _H, 5 * _H, 0),
        RecordPlan("u4", "a-2", "upflow", "2048", "MB", 4 * _H, 5 * _H + 1, 1),
    ),
    resends=((0, 1),),
    packages=(
        PackagePlan(
            0, "duration", "0.75", (None, "hws.resource.type.vm", None, None), True, -3, 12
        ),
    ),
    coupons=(),
    topups=(),
    advances_min=(0, 60),
)
PAYMENT_ORDER = Scenario(
    # Two packages (the one expiring first is used first), a coupon whose minimum spend the
    # discounted amount misses in one hour and reaches in another, credit running out into debt.
    start=utc(2026, 3, 16, 9),
    customers=(CustomerPlan("USD", True, "0.05", 2, "UTC", ("33.33", None), "0.05"),
               CustomerPlan("CNY", False, "0", 3, "America/New_York", None, None)),
    resources=(ResourcePlan("a1", 0, "vm", REGIONS[0]), ResourcePlan("b_4", 0, "ssd", REGIONS[0]),
               ResourcePlan("B7", 1, "vm", REGIONS[1])),
    records=(
        RecordPlan("u0", "a1", "duration", "3600", "s", 0, _H, 0),
        RecordPlan("u1", "a1", "duration", "2", "h", _H, 3 * _H, 0),
        RecordPlan("u2", "b_4", "capacity", "100", "GBh", 2 * _H, 3 * _H, 0),
        RecordPlan("u3", "B7", "duration", "5400", "s", _H // 2, 2 * _H, 0),
        RecordPlan("u4", "B7", "duration", "90", "min", 4 * _H + 7, 5 * _H + _H // 2 + 11, 1),
    ),
    resends=(),
    packages=(PackagePlan(0, "duration", "0.5", (None, None, None, None), False, 0, 10),
              PackagePlan(0, "duration", "0.75", ("ecs", None, None, None), True, -2, 12)),
    coupons=(CouponPlan(0, "0.05", None, None, "0.05", 20),
             CouponPlan(0, "0.01", ("evs",), None, "0", 25),
             CouponPlan(1, "0.2", None, ("yearly_monthly",), "0", 21),
             CouponPlan(1, "0.5", None, ("pay_per_use",), "0.5", 22)),
    topups=((1, 1, "0.3"), (1, 0, "0.01")),
    advances_min=(0, 90),
)  # fmt: skip


ARREARS_AGAIN = Scenario(
    # Debt, a top-up that clears it (out of arrears), then a tiered bill larger than the cash:
    # in arrears a second time, with a second event.
    start=utc(2026, 3, 16, 9),
    customers=(CustomerPlan("USD", False, "0", 1, "UTC", None, None),),
    resources=(ResourcePlan("a1", 0, "vm", REGIONS[0]), ResourcePlan("z0", 0, "eip", REGIONS[0])),
    records=(RecordPlan("u0", "a1", "duration", "3600", "s", 0, _H, 0),
             RecordPlan("u1", "z0", "upflow", "200", "GB", 7 * _H, 8 * _H, 1)),
    resends=(),
    packages=(),
    coupons=(),
    topups=((1, 0, "15"),),
    advances_min=(0, 30),
)  # fmt: skip


# --- the reference model ----------------------------------------------------------------------


def half_up(value: Fraction) -> int:
    """Round a non-negative exact value to an integer, halves away from zero."""
    assert value >= 0
    return math.floor(value + Fraction(1, 2))


def to_pricing_e10(quantity: str, unit: str, pricing_unit: str) -> Fraction:
    """Convert to the pricing unit, in 10**-10 of it, exactly (truncated per hour piece)."""
    factor = Fraction(UNIT_FACTORS[unit][1]) / Fraction(UNIT_FACTORS[pricing_unit][1])
    return Fraction(Decimal(quantity)) * factor * E10


def hour_floor(instant: datetime) -> datetime:
    return instant.replace(minute=0, second=0, microsecond=0)


def split_hours(exact: Fraction, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """The record's exact quantity split over the clock hours it touches, by microseconds in
    each, each hour's piece truncated to 10 decimals on its own (Huawei shows each period's
    usage in the pricing unit truncated; the pieces may sum to less than the record)."""
    hours, weights = [], []
    hour = hour_floor(start)
    while hour < end:
        piece = min(end, hour + HOUR) - max(start, hour)
        hours.append(hour)
        weights.append(piece // timedelta(microseconds=1))
        hour += HOUR
    whole = sum(weights)
    parts = [math.floor(exact * w / whole) for w in weights]
    assert sum(parts) <= math.floor(exact)
    return list(zip(hours, parts, strict=True))


def month_key(instant: datetime, zone: str) -> datetime:
    """The start (UTC) of the calendar month, in `zone`, that `instant` falls in."""
    local = instant.astimezone(ZoneInfo(zone))
    return datetime(local.year, local.month, 1, tzinfo=ZoneInfo(zone)).astimezone(UTC)


@dataclass
class RefCustomer:
    id: str
    currency: str
    postpaid: bool
    credit_limit: int
    level: int
    timezone: str
    cash: int = 0
    unpaid: int = 0
    debt: int = 0
    arrears_since: datetime | None = None
    arrears_events: int = 0


@dataclass(frozen=True)
class RefResource:
    id: str
    customer_id: str
    spec: SpecDef
    region: str


@dataclass(frozen=True)
class RefRecord:
    customer_id: str
    resource_id: str
    usage_type: str
    start: datetime
    end: datetime
    exact_e10: Fraction  # in the pricing unit, exactly; stored truncated as floor()
    received: datetime


@dataclass(frozen=True)
class RefPackage:
    id: str
    customer_id: str
    usage_type: str
    quantity_e10: int
    scope: tuple[str | None, str | None, str | None, str | None]
    resets_monthly: bool
    valid_from: datetime
    valid_to: datetime


@dataclass
class RefCoupon:
    id: str
    customer_id: str
    balance: int
    services: tuple[str, ...] | None
    billing_modes: tuple[str, ...] | None
    min_spend: int
    valid_to: datetime


@dataclass
class RefFee:
    run_hour: datetime
    customer_id: str
    currency: str
    resource: RefResource
    usage_type: str
    hour: datetime
    is_late: bool
    usage: int
    package: int = 0
    official: int = 0
    discount: int = 0
    amount: int = 0
    coupon: int = 0
    cash: int = 0
    credit: int = 0
    debt: int = 0

    def row(self) -> tuple[Any, ...]:
        r = self.resource
        price = r.spec.prices[self.currency][self.usage_type]
        return (
            self.run_hour,
            self.customer_id,
            r.id,
            self.usage_type,
            self.hour,
            self.is_late,
            r.spec.service,
            r.spec.resource_type,
            r.spec.spec,
            r.region,
            "pay_per_use",
            self.currency,
            PRICING_UNIT[self.usage_type],
            Decimal(price) if isinstance(price, str) else None,
            self.usage,
            self.package,
            self.official,
            self.discount,
            self.amount,
            self.coupon,
            self.cash,
            self.credit,
            self.debt,
        )


FEE_FIELDS = (
    "run_hour", "customer_id", "resource_id", "usage_type", "hour_start", "is_late",
    "service", "resource_type", "spec", "region", "billing_mode", "currency", "pricing_unit",
    "unit_price", "usage_e10", "package_usage_e10", "official_units", "discount_units",
    "amount_units", "coupon_units", "cash_units", "credit_units", "debt_units",
)  # fmt: skip


@dataclass
class Reference:
    """What the settlement rules say the books must look like."""

    customers: dict[str, RefCustomer]
    resources: dict[str, RefResource]
    packages: list[RefPackage]
    coupons: list[RefCoupon]
    discounts: list[dict[str, Any]]
    records: list[RefRecord] = field(default_factory=list)
    record_ids: set[str] = field(default_factory=set)
    watermark: int = 0  # records[:watermark] were seen by the last settlement
    last_hour: datetime | None = None
    runs: list[datetime] = field(default_factory=list)
    fees: list[RefFee] = field(default_factory=list)
    package_used: dict[tuple[str, datetime], int] = field(default_factory=dict)
    package_rows: dict[tuple[str, datetime, str, datetime, datetime], int] = field(
        default_factory=dict
    )
    tier_used: dict[tuple[str, str, str, datetime], int] = field(default_factory=dict)

    # -- inputs --

    def ingest(self, plan: RecordPlan, base: datetime, now: datetime) -> None:
        if plan.id in self.record_ids:
            return  # a replay: accepted once
        self.record_ids.add(plan.id)
        res = self.resources[plan.resource]
        self.records.append(
            RefRecord(
                res.customer_id,
                res.id,
                plan.usage_type,
                base + timedelta(microseconds=plan.start_us),
                base + timedelta(microseconds=plan.end_us),
                to_pricing_e10(plan.quantity, plan.unit, PRICING_UNIT[plan.usage_type]),
                now,
            )
        )

    def topup(self, customer_id: str, units: int) -> None:
        c = self.customers[customer_id]
        to_debt = min(units, c.debt)
        to_unpaid = min(units - to_debt, c.unpaid)
        if to_debt and to_debt == c.debt:
            c.arrears_since = None
        c.debt -= to_debt
        c.unpaid -= to_unpaid
        c.cash += units - to_debt - to_unpaid

    # -- settlement --

    def settle_due(self, now: datetime) -> None:
        while True:
            if self.last_hour is None:
                if not self.records:
                    return
                hour = min(hour_floor(r.start) for r in self.records)
            else:
                hour = self.last_hour + HOUR
            if hour + HOUR + LATENESS > now:
                return
            self.settle_hour(hour, now)

    def settle_hour(self, hour: datetime, now: datetime) -> None:
        usage: dict[tuple[str, str, str, datetime], int] = defaultdict(int)
        for index, record in enumerate(self.records):
            new = index >= self.watermark
            for piece_hour, part in split_hours(record.exact_e10, record.start, record.end):
                if piece_hour == hour or (new and piece_hour < hour):
                    usage[
                        (record.customer_id, record.resource_id, record.usage_type, piece_hour)
                    ] += part
        fees = [
            RefFee(
                hour,
                cid,
                self.customers[cid].currency,
                self.resources[rid],
                utype,
                h,
                h < hour,
                quantity,
            )
            for (cid, rid, utype, h), quantity in usage.items()
        ]
        fees.sort(key=lambda f: (f.customer_id, f.hour, f.resource.id, f.usage_type))
        for customer_id, group in itertools.groupby(fees, key=lambda f: f.customer_id):
            own = list(group)
            for fee in own:
                self.rate(fee)
            self.pay(self.customers[customer_id], own, self.arrears_from(hour, now))
        self.fees.extend(fees)
        self.watermark = len(self.records)
        self.last_hour = hour
        self.runs.append(hour)

    def arrears_from(self, hour: datetime, now: datetime) -> datetime:
        """Debt an hour leaves is arrears from the hour's due time, but never before the newest
        usage billed arrived (nor after now)."""
        due = hour + HOUR + LATENESS
        arrived = self.records[-1].received if self.records else None
        return min(now, max(due, arrived) if arrived else due)

    def rate(self, fee: RefFee) -> None:
        c = self.customers[fee.customer_id]
        spec = fee.resource.spec
        left = fee.usage
        for package in self.matching_packages(fee):
            period = (
                month_key(fee.hour, c.timezone) if package.resets_monthly else package.valid_from
            )
            used = self.package_used.get((package.id, period), 0)
            take = min(left, max(0, package.quantity_e10 - used))
            if take:
                self.package_used[(package.id, period)] = used + take
                key = (package.id, period, fee.resource.id, fee.hour, fee.run_hour)
                self.package_rows[key] = self.package_rows.get(key, 0) + take
                left -= take
        fee.package = fee.usage - left
        price = spec.prices[c.currency][fee.usage_type]
        if isinstance(price, str):
            fee.official = half_up(Fraction(left) * Fraction(Decimal(price)) * UNITS / E10)
        else:
            key = (c.id, spec.spec, fee.usage_type, month_key(fee.hour, c.timezone))
            fee.official = half_up(self.tiered_cost(price, self.tier_used.get(key, 0), left))
            self.tier_used[key] = self.tier_used.get(key, 0) + left
        percent = self.best_discount(c, spec.service)
        fee.discount = half_up(Fraction(fee.official) * percent / 100)
        fee.amount = fee.official - fee.discount

    @staticmethod
    def tiered_cost(
        tiers: tuple[tuple[str | None, str], ...], before: int, quantity: int
    ) -> Fraction:
        """Money units of `quantity` billed after `before` this month, each part at its tier."""
        cost, low = Fraction(0), 0
        for up_to, price in tiers:
            high = math.inf if up_to is None else int(Decimal(up_to) * E10)
            part = max(0, min(before + quantity, high) - max(before, low))
            cost += Fraction(part) * Fraction(Decimal(price)) * UNITS / E10
            low = high
        return cost

    def matching_packages(self, fee: RefFee) -> list[RefPackage]:
        r = fee.resource
        facts = (r.spec.service, r.spec.resource_type, r.spec.spec, r.region)
        found = [
            p
            for p in self.packages
            if p.customer_id == fee.customer_id
            and p.usage_type == fee.usage_type
            and all(want is None or want == have for want, have in zip(p.scope, facts, strict=True))
            and p.valid_from <= fee.hour
            and fee.hour + HOUR <= p.valid_to
        ]
        return sorted(found, key=lambda p: p.valid_to)

    def best_discount(self, c: RefCustomer, service: str) -> Fraction:
        best = Fraction(0)
        for d in self.discounts:
            if (
                d.get("customer_id") in (None, c.id)
                and d.get("customer_level") in (None, c.level)
                and d.get("service") in (None, service)
                and d.get("billing_mode") in (None, "pay_per_use")
            ):
                best = max(best, Fraction(Decimal(d["percent"])))
        return best

    def pay(self, c: RefCustomer, fees: list[RefFee], arrears_from: datetime) -> None:
        def in_scope(coupon: RefCoupon, fee: RefFee) -> bool:
            return (coupon.services is None or fee.resource.spec.service in coupon.services) and (
                coupon.billing_modes is None or "pay_per_use" in coupon.billing_modes
            )

        usable = [
            k
            for k in sorted(self.coupons, key=lambda k: k.valid_to)
            if k.customer_id == c.id
            and k.balance > 0
            and sum(f.amount for f in fees if in_scope(k, f)) >= k.min_spend
        ]
        debt_before = c.debt
        for fee in fees:
            left = fee.amount
            for coupon in usable:
                if in_scope(coupon, fee):
                    take = min(coupon.balance, left)
                    coupon.balance -= take
                    fee.coupon += take
                    left -= take
            fee.cash = min(c.cash, left)
            c.cash -= fee.cash
            left -= fee.cash
            if c.postpaid:
                fee.credit = min(max(0, c.credit_limit - c.unpaid - c.debt), left)
                c.unpaid += fee.credit
                left -= fee.credit
            fee.debt = left
            c.debt += left
        if c.debt > 0 and debt_before == 0:
            c.arrears_since = arrears_from
            c.arrears_events += 1


# --- driving the product ----------------------------------------------------------------------


def money_units(text: str) -> int:
    return int(Decimal(text) * UNITS)


@dataclass
class Run:
    container: Container
    reference: Reference
    base: datetime
    customer_ids: list[str]
    package_ids: dict[int, str]


def setup(container: Container, sc: Scenario) -> Run:
    base = sc.start - WINDOW_HOURS * HOUR

    def create(conn, now):  # type: ignore[no-untyped-def]
        out = []
        for i, p in enumerate(sc.customers):
            data = CustomerInput(
                name=f"customer-{i}",
                currency=p.currency,
                payment_mode="postpaid" if p.postpaid else "prepaid",
                credit_limit=p.credit_limit,
                level=p.level,
                timezone=p.timezone,
            )
            out.append(customers.create(conn, data, now=now).id)
        return out

    ids = container.write(create)
    discounts = [
        {
            "id": f"customer-{i}",
            "name": f"customer {i}",
            "percent": p.discount[0],
            "customer_id": cid,
            **({"service": p.discount[1]} if p.discount[1] else {}),
        }
        for i, (cid, p) in enumerate(zip(ids, sc.customers, strict=True))
        if p.discount
    ]
    document = parse_data(catalog_document(discounts), source="reference-test")
    container.write(
        lambda conn, now: catalog_service.load(conn, document, source="reference-test", now=now)
    )
    ref = Reference(
        customers={
            cid: RefCustomer(
                cid, p.currency, p.postpaid, money_units(p.credit_limit), p.level, p.timezone
            )
            for cid, p in zip(ids, sc.customers, strict=True)
        },
        resources={
            r.id: RefResource(r.id, ids[r.customer], SPECS[r.spec], r.region) for r in sc.resources
        },
        packages=[],
        coupons=[],
        discounts=[d for d in catalog_document(discounts)["discounts"]],
    )

    def register(conn, now):  # type: ignore[no-untyped-def]
        for r in sc.resources:
            spec = SPECS[r.spec]
            data = ResourceInput(
                customer_id=ids[r.customer],
                resource_type=spec.resource_type,
                spec=spec.spec,
                billing_mode="pay_per_use",
                region=r.region,
                name=r.id,
                id=r.id,
            )
            resources.register(conn, created_before(data, now), now=now)

    container.write(register)
    run = Run(container, ref, base, ids, {})
    grant_benefits(run, sc)
    for i, p in enumerate(sc.customers):
        if p.initial_topup:
            topup(run, ids[i], p.initial_topup, f"initial-{i}")
    return run


def grant_benefits(run: Run, sc: Scenario) -> None:
    ids, base, ref = run.customer_ids, run.base, run.reference
    for i, p in enumerate(sc.packages):
        service, rtype, spec, region = p.scope
        valid_from, valid_to = base + p.valid_from_h * HOUR, base + p.valid_to_h * HOUR
        grant = dict(
            customer_id=ids[p.customer],
            name=f"package {i}",
            usage_type=p.usage_type,
            quantity=p.quantity,
            unit=PRICING_UNIT[p.usage_type],
            service=service,
            resource_type=rtype,
            spec=spec,
            region=region,
            resets_monthly=p.resets_monthly,
            valid_from=valid_from,
            valid_to=valid_to,
            reference=f"package-{i}",
        )
        package, _ = run.container.write(
            lambda conn, now, g=grant: benefits.grant_package(conn, **g, now=now)
        )
        run.package_ids[i] = package.id
        ref.packages.append(
            RefPackage(
                package.id,
                ids[p.customer],
                p.usage_type,
                int(Decimal(p.quantity) * E10),
                (service, rtype, spec, region),
                p.resets_monthly,
                valid_from,
                valid_to,
            )
        )
    for i, k in enumerate(sc.coupons):
        valid_to = base + timedelta(days=k.valid_to_days)
        coupon, _ = run.container.write(
            lambda conn, now, k=k, i=i, vt=valid_to: benefits.issue_coupon(
                conn,
                customer_id=ids[k.customer],
                name=f"coupon {i}",
                value=k.value,
                valid_from=None,
                valid_to=vt,
                services=list(k.services) if k.services else None,
                billing_modes=list(k.billing_modes) if k.billing_modes else None,
                min_spend=k.min_spend,
                reference=f"coupon-{i}",
                now=now,
            )
        )
        ref.coupons.append(
            RefCoupon(
                coupon.id,
                ids[k.customer],
                money_units(k.value),
                k.services,
                k.billing_modes,
                money_units(k.min_spend),
                valid_to,
            )
        )


def topup(run: Run, customer_id: str, amount: str, reference: str) -> None:
    run.container.write(
        lambda conn, now: customers.topup(conn, customer_id, amount, reference=reference, now=now)
    )
    run.reference.topup(customer_id, money_units(amount))


def ingest_records(run: Run, plans: list[RecordPlan]) -> None:
    if not plans:
        return
    base = run.base
    batch = [
        UsageInput(
            p.id,
            p.resource,
            p.usage_type,
            p.quantity,
            base + timedelta(microseconds=p.start_us),
            base + timedelta(microseconds=p.end_us),
            p.unit,
        )
        for p in plans
    ]
    run.container.write(lambda conn, now: ingest.ingest_batch(conn, batch, now=now))
    for p in plans:
        run.reference.ingest(p, base, run.container.now())


def advance(run: Run, minutes: int) -> None:
    if minutes:
        run.container.write(lambda conn, now: clock_repo.advance(conn, timedelta(minutes=minutes)))


def settle(run: Run) -> None:
    settle_due(run.container)
    run.reference.settle_due(run.container.now())
    assert_books_balance(run.container)
    compare(run)


# --- comparing ----------------------------------------------------------------------------------


def _diff(what: str, expected: list[Any], actual: list[Any]) -> None:
    if expected == actual:
        return
    missing = [row for row in expected if row not in actual]
    extra = [row for row in actual if row not in expected]
    lines = [f"{what} differ from the reference ({len(expected)} expected, {len(actual)} got)"]
    lines += [f"  expected only: {row}" for row in missing[:8]]
    lines += [f"  product only:  {row}" for row in extra[:8]]
    raise AssertionError("\n".join(lines))


def _fee_diff(expected: list[tuple[Any, ...]], actual: list[tuple[Any, ...]]) -> None:
    if expected == actual:
        return
    key = lambda row: row[:6]  # noqa: E731  (run, customer, resource, usage type, hour, late)
    want, got = {key(r): r for r in expected}, {key(r): r for r in actual}
    lines = [f"fee records differ ({len(expected)} expected, {len(actual)} got)"]
    for k in sorted(set(want) | set(got), key=str):
        a, b = want.get(k), got.get(k)
        if a == b:
            continue
        if a is None or b is None:
            lines.append(f"  {'product only' if a is None else 'missing'}: {a or b}")
            continue
        fields = {n: (x, y) for n, x, y in zip(FEE_FIELDS, a, b, strict=True) if x != y}
        lines.append(f"  {k}: (expected, product) {fields}")
    if len(actual) != len(got):
        lines.append("  the product has more than one fee record for one key")
    raise AssertionError("\n".join(lines[:40]))


def compare(run: Run) -> None:
    ref = run.reference
    with run.container.db.read() as conn:
        runs = conn.execute(select(settlement_run.c.hour_start).order_by(settlement_run.c.id))
        _diff("settled hours", ref.runs, list(runs.scalars()))
        rows = conn.execute(
            select(settlement_run.c.hour_start.label("run_hour"), fee_record).join(
                settlement_run, settlement_run.c.id == fee_record.c.settlement_id
            )
        ).mappings()
        actual = sorted(
            tuple(
                (Decimal(r[n]) if r[n] is not None else None) if n == "unit_price" else r[n]
                for n in FEE_FIELDS
            )
            for r in rows
        )
        _fee_diff(sorted(f.row() for f in ref.fees), actual)
        used = conn.execute(
            select(
                package_usage.c.package_id,
                package_usage.c.period_start,
                package_usage.c.resource_id,
                package_usage.c.hour_start,
                settlement_run.c.hour_start,
                func.sum(package_usage.c.quantity_e10),
            )
            .join(settlement_run, settlement_run.c.id == package_usage.c.settlement_id)
            .group_by(
                package_usage.c.package_id,
                package_usage.c.period_start,
                package_usage.c.resource_id,
                package_usage.c.hour_start,
                settlement_run.c.hour_start,
            )
        )
        _diff(
            "package usage",
            sorted((*k, v) for k, v in ref.package_rows.items()),
            sorted(tuple(r) for r in used if r[-1]),
        )
        coupons = conn.execute(select(cash_coupon.c.id, cash_coupon.c.balance_units))
        _diff(
            "coupon balances",
            sorted((k.id, k.balance) for k in ref.coupons),
            sorted(map(tuple, coupons)),
        )
        events = dict(
            conn.execute(
                select(outbox_event.c.subject_id, func.count())
                .where(outbox_event.c.topic == "customer.arrears_started")
                .group_by(outbox_event.c.subject_id)
            ).all()
        )
        since = dict(conn.execute(select(customer.c.id, customer.c.arrears_since)).all())
        figures = customers.overviews(conn, [customers.get(conn, cid) for cid in ref.customers])
        expected_books, actual_books = [], []
        for cid, c in ref.customers.items():
            coupon_total = sum(k.balance for k in ref.coupons if k.customer_id == cid)
            o = figures[cid]
            expected_books.append(
                (cid, c.cash, c.unpaid, c.debt, coupon_total, c.arrears_since, c.arrears_events)
            )
            actual_books.append(
                (
                    cid,
                    o.cash_balance_units,
                    o.unpaid_units,
                    o.debt_units,
                    o.coupon_units,
                    since[cid],
                    events.get(cid, 0),
                )
            )
        _diff(
            "customer figures (cash, unpaid, debt, coupons, arrears since, arrears events)",
            expected_books,
            actual_books,
        )
        check_one_transaction_per_customer_hour(conn, ref)


def check_one_transaction_per_customer_hour(conn, ref: Reference) -> None:  # type: ignore[no-untyped-def]
    """Each customer's paid fees of one settled hour share one ledger transaction, its own."""
    rows = conn.execute(
        select(
            fee_record.c.settlement_id,
            fee_record.c.customer_id,
            fee_record.c.ledger_transaction_id,
            ledger_transaction.c.customer_id,
        )
        .outerjoin(
            ledger_transaction, ledger_transaction.c.id == fee_record.c.ledger_transaction_id
        )
        .where(fee_record.c.amount_units > 0)
    ).all()
    by_key: dict[tuple[int, str], set[int | None]] = defaultdict(set)
    for settlement_id, customer_id, tx_id, tx_customer in rows:
        assert tx_id is not None and tx_customer == customer_id, (settlement_id, customer_id)
        by_key[(settlement_id, customer_id)].add(tx_id)
    assert all(len(t) == 1 for t in by_key.values()), by_key
    txs = [next(iter(t)) for t in by_key.values()]
    assert len(txs) == len(set(txs))
    paid = {(f.run_hour, f.customer_id) for f in ref.fees if f.amount > 0}
    assert len(by_key) == len(paid)


def play(container: Container, sc: Scenario) -> Run:
    run = setup(container, sc)
    note(f"customers: {run.customer_ids}")
    to_now = sc.start - container.now()
    run.container.write(lambda conn, now: clock_repo.advance(conn, to_now))
    for phase, minutes in enumerate(sc.advances_min):
        advance(run, minutes)
        plans = [r for r in sc.records if r.phase == phase]
        plans += [sc.records[i] for i, p in sc.resends if p == phase]
        ingest_records(run, plans)
        for n, (p, cust, amount) in enumerate(sc.topups):
            if p == phase:
                topup(run, run.customer_ids[cust], amount, f"topup-{n}")
        settle(run)
    advance(run, 120)
    settle(run)
    settle(run)  # nothing left: running again changes nothing
    assert run.reference.watermark == len(run.reference.records)
    billed = sum(f.usage for f in run.reference.fees)
    pieces = [split_hours(r.exact_e10, r.start, r.end) for r in run.reference.records]
    assert billed == sum(part for record in pieces for _hour, part in record)
    assert billed <= sum(math.floor(r.exact_e10) for r in run.reference.records)
    label_coverage(run.reference)
    return run


def label_coverage(ref: Reference) -> None:
    """What an example exercised (pytest --hypothesis-show-statistics)."""
    fees = ref.fees
    tier_bounds = [int(Decimal(up) * E10) for up, _ in TRAFFIC_USD + OBS_OUT_USD if up]
    monthly = {p.id for p in ref.packages if p.resets_monthly}
    labels = {
        "late fee": any(f.is_late for f in fees),
        "package used": any(f.package for f in fees),
        "coupon used": any(f.coupon for f in fees),
        "cash used": any(f.cash for f in fees),
        "credit used": any(f.credit for f in fees),
        "debt": any(f.debt for f in fees),
        "discount": any(f.discount for f in fees),
        "tier bound passed": any(used > min(tier_bounds) for used in ref.tier_used.values()),
        "tiers in two months": len({(k[0], k[1], k[2]) for k in ref.tier_used})
        < len(ref.tier_used),
        "monthly package in two months": len({pid for pid, _ in ref.package_used if pid in monthly})
        < len([1 for pid, _ in ref.package_used if pid in monthly]),
        "record over several hours": any(
            hour_floor(r.start) != hour_floor(r.end - timedelta(microseconds=1))
            for r in ref.records
        ),
    }
    for label, hit in labels.items():
        if hit:
            event(label)


# --- the test -----------------------------------------------------------------------------------


@pytest.fixture
def fresh_container(database_url: str, tmp_path: Path, sqlite_template: Path) -> Iterator[Any]:
    """A factory of empty databases: one per Hypothesis example, on the parametrized backend."""
    opened: list[Container] = []
    counter = itertools.count()

    def new(start: datetime) -> Container:
        while opened:
            old = opened.pop()
            old.db.dispose()
        if database_url.startswith("sqlite"):
            for leftover in tmp_path.glob("example-*"):
                leftover.unlink()
            path = tmp_path / f"example-{next(counter)}.sqlite"
            shutil.copyfile(sqlite_template, path)
            url = f"sqlite:///{path}"
        else:
            _truncate_postgres(database_url)
            url = database_url
        c = make_container(url, start)
        opened.append(c)
        return c

    yield new
    for c in opened:
        c.db.dispose()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sc=scenarios())
@example(sc=MONTH_END)
@example(sc=PAYMENT_ORDER)
@example(sc=ARREARS_AGAIN)
def test_settlement_matches_the_reference(fresh_container, sc: Scenario) -> None:  # type: ignore[no-untyped-def]
    container = fresh_container(sc.start - (WINDOW_HOURS + 1) * HOUR)
    play(container, sc)
