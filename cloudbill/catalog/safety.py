"""What a catalog version would break if it became the active one: a spec, price or unit that a
live resource, a package or usage waiting to be settled still needs. Activating such a version
would stop those customers' settlement, renewals and package use, so it is refused with the
list (`CATALOG_IN_USE`)."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import Connection, func, select

from ..kernel.errors import CloudbillError, ErrorCode
from ..store.schema import (
    customer,
    resource,
    resource_package,
    settlement_lease,
    settlement_run,
    usage_record,
)
from .index import CatalogIndex

SHOWN_MAX = 50  # breaks listed in the error; all are counted


def breaks(
    conn: Connection, current: CatalogIndex | None, candidate: CatalogIndex, *, now: datetime
) -> list[str]:
    """Everything live that `candidate` no longer offers as `current` does (sorted)."""
    found: set[str] = set()
    for rtype, spec, mode, currency in _live_specs(conn):
        found.update(_spec_breaks(current, candidate, rtype, spec, mode, currency))
    for unit in _units_in_use(conn, now):
        if unit not in candidate.units:
            found.add(f"measure unit {unit}: used by packages or usage not yet settled")
    return sorted(found)


def refuse_if_breaking(
    conn: Connection, current: CatalogIndex | None, candidate: CatalogIndex, *, now: datetime
) -> None:
    found = breaks(conn, current, candidate, now=now)
    if found:
        raise CloudbillError(
            ErrorCode.CATALOG_IN_USE,
            f"catalog version {candidate.document.version!r} would break {len(found)} item(s) in "
            f"use, e.g. {found[0]}: keep them in the new version (or release what uses them)",
            breaks=found[:SHOWN_MAX],
            breaks_count=len(found),
        )


def _spec_breaks(current, candidate, rtype, spec, mode, currency):  # type: ignore[no-untyped-def]
    what = f"{rtype}/{spec} ({mode}, {currency})"
    try:
        new = candidate.spec(rtype, spec).spec.prices.get(currency)
    except CloudbillError:
        return [f"{what}: spec removed, live resources use it"]
    try:
        old = current.spec(rtype, spec).spec.prices.get(currency) if current else None
    except CloudbillError:
        old = None  # the active version lacks it already: nothing new breaks
    if old is None:
        return []
    if mode == "pay_per_use":
        return [
            f"{what}: no pay-per-use {usage} price any more, live resources are metered on it"
            for usage in sorted(old.pay_per_use)
            if new is None or usage not in new.pay_per_use
        ]
    if old.monthly is not None and (new is None or new.monthly is None):
        return [f"{what}: no yearly/monthly price any more, live subscriptions renew at it"]
    return []


def _live_specs(conn: Connection):  # type: ignore[no-untyped-def]
    r = resource.c
    return conn.execute(
        select(r.resource_type, r.spec, r.billing_mode, customer.c.currency)
        .join(customer, customer.c.id == r.customer_id)
        .where(r.status != "released")
        .distinct()
    ).all()


def _units_in_use(conn: Connection, now: datetime) -> set[str]:
    units = set(
        conn.execute(
            select(resource_package.c.pricing_unit)
            .where(resource_package.c.valid_to > now)
            .distinct()
        ).scalars()
    )
    last = _least_settled(conn)
    waiting = select(usage_record.c.pricing_unit).distinct()
    if last is not None:  # reaching past the last settled hour, or arrived after it (late)
        waiting = waiting.where(
            (usage_record.c.last_hour > last.hour_start) | (usage_record.c.seq > last.watermark_seq)
        )
    units.update(conn.execute(waiting).scalars())
    return units


def _least_settled(conn: Connection):  # type: ignore[no-untyped-def]
    """(hour_start, watermark_seq) that every settlement shard has reached: the earliest last
    hour and the lowest last watermark over the shards; None while a shard has settled none."""
    s = settlement_run.c
    last = select(s.shard, func.max(s.hour_start).label("hour")).group_by(s.shard).subquery()
    rows = conn.execute(
        select(s.hour_start, s.watermark_seq).join(
            last, (last.c.shard == s.shard) & (last.c.hour == s.hour_start)
        )
    ).all()
    layout = conn.execute(select(func.count()).select_from(settlement_lease)).scalar_one()
    if not rows or len(rows) < layout:
        return None
    return SimpleNamespace(
        hour_start=min(r.hour_start for r in rows), watermark_seq=min(r.watermark_seq for r in rows)
    )
