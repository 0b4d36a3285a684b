"""Pricing's first step, line by line: each line's facts, price group, package cover and
month-to-date tier quantity, gathered as columns for rating (rate/columns.py)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import lru_cache

import numpy as np
from sqlalchemy.exc import SQLAlchemyError

from ..catalog.model import BillingMode, UsagePrice
from ..catalog.pricing import best_discount
from ..kernel.errors import CloudbillError
from ..kernel.limits import INT64_MAX
from ..kernel.periods import HOUR, Period, month_of, month_period
from ..kernel.quantity import split_proportionally
from ..rate import columns
from .lines import Line
from .packages import PackageUse, consume, hour_cuts, split_usage
from .priced import PAID_PARTS, AsRated, CustomerSettlement, RatedColumns, append_exact


class Gathered:
    """Step one, line by line: each line's facts, price, package cover and tier quantity so
    far, gathered as columns, with the lines grouped by price and discount for step two."""

    def __init__(self, catalog, facts, packages, tier_base, pieces_of) -> None:  # type: ignore[no-untyped-def]
        self.catalog, self.facts, self.packages = catalog, facts, packages
        self.tier_base = tier_base  # as the database has it: untouched, for price_exactly
        self.pieces_of = pieces_of
        self.lines: list[Line] = []
        self.line_facts: list[object] = []
        self.usage: list[int] = []
        self.package_e10: list[int] = []
        self.billed: list[int] = []
        self.already: list[int] = []
        self.owner: list[tuple[str, str]] = []  # the entry key (consumer, payer) of each row
        self.price_keys: list[int] = []  # the line's price, for its unit price text
        self.groups: dict[tuple[int, str | None], list] = {}  # (price, discount) -> members
        self.resolved: dict[tuple, list | None] = {}  # type: ignore[type-arg]
        self.unit_texts: dict[int, str | None] = {}
        self.saved: dict[str, dict[str, dict]] = {}  # customer -> package -> used before
        # month-to-date tier quantities as this run bills them, per consumer: a consumer's
        # lines may come in two entries (paid by itself, and by its unified master)
        self.running: dict[str, dict] = {}
        targeted = {d.customer_id for d in catalog.document.discounts if d.customer_id}
        self.targeted = targeted

    def customer(self, entry: CustomerSettlement, lines: list[Line]) -> bool:
        """Gather a customer's lines; False when one of them is unusual (kept out)."""
        row, payer = entry.customer, entry.payer_row
        own = self.packages.get(row.id)
        if own and row.id not in self.saved:  # undone if priced again line by line
            self.saved[row.id] = {p.id: dict(p.used_e10) for p in own}
        first = len(self.lines)
        running = self.running.setdefault(row.id, {})
        before = dict(running)
        rows, uses, owner = [], [], (row.id, payer.id)
        for line in lines:
            try:
                got = self._line(row, payer, line, own, running, uses, owner)
            except SQLAlchemyError:
                raise  # the database, not this customer's data: the whole run retries
            except Exception:  # whatever this customer's data breaks: rate() names it
                got = None
            if got is None:
                del self.lines[first:], self.line_facts[first:], self.usage[first:]
                del self.package_e10[first:], self.billed[first:], self.already[first:]
                del self.owner[first:], self.price_keys[first:]
                running.clear()
                running.update(before)
                return False
            rows.append(got)
        for group, index in rows:
            group[1].append(index)
        entry.start, entry.stop = first, len(self.lines)
        entry.package_uses = uses
        return True

    def _line(self, row, payer, line, own, running, uses, owner):  # type: ignore[no-untyped-def]
        fact = self.facts.get(line.resource_id)
        if fact is None:
            return None
        if line.spec is not None and line.spec != fact.spec:  # the spec changed since
            fact = AsRated(fact.id, fact.service, fact.resource_type, line.spec, fact.region)
        # Lines of one spec, usage type, currency and discount share a price group: a few
        # hundred in an hour of a million lines, each looked up once. The discount is the
        # payer's (a unified member's: its master's).
        rkey = (fact.resource_type, fact.spec, row.currency, line.usage_type, fact.service,
                payer.id if payer.id in self.targeted else None, payer.level)  # fmt: skip
        group = self.resolved.get(rkey, False)
        if group is False:
            group = self.resolved[rkey] = self._group(row, payer, fact, line)
        if group is None:
            return None
        price = group[0][0]
        usage = line.usage_e10
        if price.unit != line.pricing_unit:  # the catalog changed the pricing unit since
            old = self.catalog.unit(line.pricing_unit).factor
            num, den = (old / self.catalog.unit(price.unit).factor).as_integer_ratio()
            usage = usage * num // den
        if not 0 <= usage <= INT64_MAX:  # what the books cannot store: rate() says why
            return None
        index = len(self.lines)
        covered = 0
        if own:  # most customers hold none: skip the matching altogether
            covered, found = cover(
                own, line, (fact.service, fact.resource_type, fact.spec, fact.region),
                usage, Decimal(self.catalog.unit(price.unit).factor), self.pieces_of,
            )  # fmt: skip
            uses.extend((index, use) for use in found)
        billed = usage - covered
        already = 0
        if price.tiers is not None:
            key = tier_key(row, fact, line)
            already = running.get(key)
            if already is None:
                already = self.tier_base.get(key, 0)
            running[key] = already + billed
        if billed < 0 or already < 0:  # never in sound data: rate() says what it makes of it
            return None
        self.lines.append(line)
        self.line_facts.append(fact)
        self.usage.append(usage)
        self.package_e10.append(covered)
        self.billed.append(billed)
        self.already.append(already)
        self.owner.append(owner)  # one tuple per entry, not per line
        self.price_keys.append(id(price))
        return group, index

    def _group(self, row, payer, fact, line):  # type: ignore[no-untyped-def]
        """The price group of a spec's usage type for this customer and payer, or None (no
        price): the consumer's currency, the payer's discount."""
        item = (fact.resource_type, fact.spec, row.currency, line.usage_type)
        price = self._price(item)
        if price is None:
            return None
        discount = best_discount(
            self.catalog.document.discounts, customer_id=payer.id, customer_level=payer.level,
            service=fact.service, billing_mode=BillingMode.PAY_PER_USE,
        )  # fmt: skip
        gkey = (id(price), None if discount is None else discount.id)
        group = self.groups.get(gkey)
        if group is None:
            group = self.groups[gkey] = [(price, discount), []]
            self.unit_texts[id(price)] = None if price.price is None else format(price.price, "f")
        return group

    def _price(self, item: tuple) -> UsagePrice | None:  # type: ignore[type-arg]
        resource_type, spec, currency, usage_type = item
        try:
            ref = self.catalog.spec(resource_type, spec)
        except CloudbillError:
            return None
        prices = ref.spec.prices.get(currency)
        return prices.pay_per_use.get(usage_type) if prices else None

    def rate(self) -> columns.RatedColumns:
        """Step two: every line rated, one array operation per price and discount."""
        n = len(self.lines)
        parts = []
        for (price, discount), members in self.groups.values():
            if members:
                billed = [self.billed[i] for i in members]
                already = [self.already[i] for i in members]
                parts.append((members, columns.rate_columns(billed, already, price, discount)))
        wide = any(r.official_units.dtype == object for _, r in parts)
        kind = object if wide else np.int64
        official, off, amount = (np.zeros(n, dtype=kind) for _ in range(3))
        outside = np.zeros(n, dtype=bool)
        for members, r in parts:
            at = np.asarray(members, dtype=np.int64)
            official[at], off[at], amount[at] = r.official_units, r.discount_units, r.amount_units
            outside[at] = r.outside
        return columns.RatedColumns(official, off, amount, outside)

    def restore_packages(self, customer_id: str) -> None:
        """Undo what gathering this customer's lines did to its packages."""
        saved = self.saved.get(customer_id, {})
        for package in self.packages.get(customer_id, ()):
            package.used_e10 = dict(saved.get(package.id, package.used_e10))

    def columns(self, entries: dict[str, CustomerSettlement], rated, paid) -> RatedColumns:  # type: ignore[no-untyped-def]
        """The settled customers' rows in customer order (renumbered without those left out;
        a customer priced line by line brings its own rows)."""
        texts = self.unit_texts
        bulk = {
            "lines": self.lines,
            "facts": self.line_facts,
            "usage_e10": self.usage,
            "package_e10": self.package_e10,
            "unit_price": [texts[k] for k in self.price_keys],
            "official_units": rated.official_units,
            "discount_units": rated.discount_units,
            "amount_units": rated.amount_units,
            **{part: paid[part] for part in PAID_PARTS},
        }
        if all(e.exact is None for e in entries.values()) and (
            sum(e.stop - e.start for e in entries.values()) == len(self.lines)
        ):  # the arrays as they are: the writer turns them into Python ints a slice at a time
            return RatedColumns(**bulk)
        bulk.update({name: values.tolist() for name, values in bulk.items()
                     if isinstance(values, np.ndarray)})  # fmt: skip
        out = RatedColumns()
        for e in entries.values():
            at = len(out.lines)
            if e.exact is None:
                for name, values in bulk.items():
                    getattr(out, name).extend(values[e.start : e.stop])
                e.package_uses = [(i - e.start + at, use) for i, use in e.package_uses]
            else:
                rows = {id(p): at + n for n, p in enumerate(e.exact.lines)}
                for p in e.exact.lines:
                    append_exact(out, p)
                e.package_uses = [(rows[id(p)], use) for p, use in e.exact.package_uses]
            e.start, e.stop = at, len(out.lines)
        return out


def cover(own, line, facts, usage, factor, pieces_of) -> tuple[int, list[PackageUse]]:  # type: ignore[no-untyped-def]
    """Packages' cover of a line's `usage` (in the pricing unit). Where a matching package
    starts, ends or resets inside the hour, each part of the hour is covered by the usage in
    it, from the line's own records (loaded for these rare lines only)."""
    cuts = hour_cuts(own, line.usage_type, facts, line.hour)
    if not cuts:
        return consume(own, usage_type=line.usage_type, facts=facts, at=line.hour,
                       usage_e10=usage, pricing_factor=factor)  # fmt: skip
    starts = [line.hour, *cuts]
    raw = split_usage(pieces_of(line), starts, line.hour + HOUR)
    assert sum(raw) == line.usage_e10, "a line's records add up to the line"
    # In the current pricing unit (the catalog may have changed it): the same shares, exactly.
    parts = split_proportionally(usage, raw) if sum(raw) > 0 else [0] * len(raw)
    covered, merged = 0, {}
    for start, part in zip(starts, parts, strict=True):
        if part <= 0:
            continue
        took, uses = consume(own, usage_type=line.usage_type, facts=facts, at=start,
                             usage_e10=part, pricing_factor=factor)  # fmt: skip
        covered += took
        for use in uses:  # one use per package and period on a line
            key = (use.package_id, use.period_start)
            merged[key] = merged.get(key, 0) + use.quantity_e10
    return covered, [PackageUse(pid, start, qty) for (pid, start), qty in merged.items()]


@lru_cache(maxsize=4096)
def month_of_hour(hour: datetime, timezone: str) -> Period:
    """The customer's month an hour falls in: the same few hours and zones, line after line."""
    return month_period(*month_of(hour, timezone), timezone)


def tier_key(row, fact, line):  # type: ignore[no-untyped-def]
    start = month_of_hour(line.hour, row.timezone).start
    return (row.id, fact.resource_type, fact.spec, line.usage_type, start)
