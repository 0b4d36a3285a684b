"""Price a settlement's lines and decide how each is paid: packages, tiers, discounts, then the
deduction order. Loads what it needs in bulk (locking customers, then their accounts), decides
in memory, and hands the result to writer.py."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import numpy as np
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from ..catalog.index import CatalogIndex
from ..catalog.model import BillingMode, Discount, UsagePrice
from ..catalog.pricing import best_discount
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.limits import BOOK_UNITS_MAX, INT64_MAX, INT64_MIN
from ..kernel.money import check_book, check_int64
from ..kernel.periods import HOUR, month_of, month_period
from ..kernel.quantity import split_proportionally
from ..kernel.resets import ResetKind
from ..ledger import repo as ledger_repo
from ..ledger.model import Account, AccountKind
from ..rate import columns
from ..rate.rules import Rated, rate
from . import repo
from .deduction import Charge, CouponState, Payment, Wallet, deduct
from .holds import Failure, describe
from .lines import Line
from .packages import PackageState, PackageUse, consume, hour_cuts, split_usage

PAY_PER_USE = str(BillingMode.PAY_PER_USE)


@dataclass(frozen=True, slots=True)
class AsRated:
    """A resource as its usage ran: with the spec in force then, when it changed since."""

    id: str
    service: str
    resource_type: str
    spec: str
    region: str


@dataclass
class PricedLine:
    line: Line
    facts: object  # resource row or AsRated: service, resource_type, spec, region
    package_e10: int
    rated: Rated
    payment: Payment | None = None


@dataclass
class CustomerSettlement:
    customer: object  # the locked customer row
    accounts: dict[AccountKind, Account]
    wallet: Wallet
    start: int = 0  # its lines are rows start..stop-1 of the settlement's columns
    stop: int = 0
    package_uses: list[tuple[int, PackageUse]] = field(default_factory=list)  # (row, use)
    coupon_uses: dict[str, int] = field(default_factory=dict)  # coupon id -> units used
    paid: dict[str, int] = field(default_factory=dict)  # coupon/cash/credit/debt_units totals
    exact: _Exact | None = None  # priced line by line (an unusual customer): its own rows


@dataclass
class RatedColumns:
    """The settled lines, one row each, customers one after another in id order."""

    lines: list[Line] = field(default_factory=list)
    facts: list[object] = field(default_factory=list)  # resource row or AsRated
    usage_e10: list[int] = field(default_factory=list)  # in the current pricing unit
    package_e10: list[int] = field(default_factory=list)
    unit_price: list[str | None] = field(default_factory=list)  # None when tiered
    official_units: list[int] = field(default_factory=list)
    discount_units: list[int] = field(default_factory=list)
    amount_units: list[int] = field(default_factory=list)
    coupon_units: list[int] = field(default_factory=list)
    cash_units: list[int] = field(default_factory=list)
    credit_units: list[int] = field(default_factory=list)
    debt_units: list[int] = field(default_factory=list)


@dataclass
class PricedSettlement:
    customers: dict[str, CustomerSettlement]
    packages: dict[str, PackageState]
    coupons: dict[str, CouponState]
    # Customers whose hour could not be priced: left out of this settlement, held (holds.py).
    failures: dict[str, Failure] = field(default_factory=dict)
    columns: RatedColumns = field(default_factory=RatedColumns)


def price_lines(
    conn: Connection, catalog: CatalogIndex, lines: list[Line], *, now: datetime
) -> PricedSettlement:
    """Price every customer's lines; a customer whose lines cannot be priced (a price the
    catalog lost, amounts past what the books hold, broken data) is left out with the reason,
    and the others are priced as if it were not there: nothing one customer holds is shared.

    Three steps: each line finds its price, package cover and month-to-date tier quantity
    (a few lookups; package matching only for the few customers holding packages); the lines
    are rated as columns, one array operation per price (rate/columns.py); then each payer's
    fees are paid in the deduction order (deduction.py; customers with no coupons whose cash
    covers the hour are paid in bulk). A customer anything unusual happens to (a missing
    price, amounts past int64 or the books) is priced again line by line by rate() itself,
    which names the exact reason it is held."""
    customer_ids = {line.customer_id for line in lines}
    rows = repo.lock_customers(conn, customer_ids)
    accounts = ledger_repo.customer_accounts_bulk(conn, customer_ids)
    facts = repo.resources(conn, {line.resource_id for line in lines})
    failures: dict[str, Failure] = {}
    factors = {code: unit.factor for code, unit in catalog.units.items()}
    packages = _packages(conn, catalog, rows, lines, failures)
    coupons = _coupons(conn, customer_ids)
    tier_totals = _tier_totals(conn, catalog, rows, facts, lines)
    coupons_of: dict[str, list[CouponState]] = defaultdict(list)
    for coupon in coupons.values():
        coupons_of[coupon.customer_id].append(coupon)
    by_customer_packages: dict[str, list[PackageState]] = defaultdict(list)
    for package in packages.values():
        by_customer_packages[package.customer_id].append(package)
    lines_of: dict[str, list[Line]] = defaultdict(list)
    order = lambda x: (x.customer_id, x.hour, x.resource_id, x.usage_type, x.spec or "")  # noqa: E731
    for line in sorted(lines, key=order):
        lines_of[line.customer_id].append(line)
    pieces_of = lambda line: repo.line_pieces(conn, line, factors)  # noqa: E731
    found = _Found(catalog, facts, by_customer_packages, tier_totals, pieces_of)
    entries: dict[str, CustomerSettlement] = {}
    unusual: set[str] = set()  # priced again by rate(), line by line (see _price_exactly)
    for cid in sorted(customer_ids):
        if cid in failures:
            continue
        row, books = rows[cid], accounts[cid]
        entry = CustomerSettlement(
            customer=row,
            accounts=books,
            wallet=Wallet(
                cash_units=books[AccountKind.CASH].balance_units,
                unpaid_units=books[AccountKind.UNPAID].balance_units,
                debt_units=books[AccountKind.DEBT].balance_units,
                credit_limit_units=row.credit_limit_units if row.payment_mode == "postpaid" else 0,
                coupons=coupons_of[cid],
            ),
        )
        if not found.customer(entry, lines_of[cid]):
            unusual.add(cid)
        entries[cid] = entry
    rated = found.rate()
    unusual |= {found.owner[row] for row in np.flatnonzero(rated.outside).tolist()}
    broke, paid = _pay_by_payer(entries, found, rated, now=now, skip=unusual)
    for cid in sorted(unusual | broke):  # rare: priced line by line, as rate() gives it
        entry = entries[cid]
        found.restore(entry)
        try:
            _price_exactly(catalog, entry, lines_of[cid], facts, by_customer_packages,
                           found.tier_base, pieces_of, now=now)  # fmt: skip
        except SQLAlchemyError:
            raise  # the database, not this customer's data: the whole run retries
        except Exception as exc:  # whatever this customer's data breaks
            failures[cid] = describe(exc)
            del entries[cid]
    return PricedSettlement(entries, packages, coupons, failures,
                            found.columns(entries, rated, paid))  # fmt: skip


class _Found:
    """Step one, line by line: each line's facts, price, package cover and tier quantity so
    far, gathered as columns, with the lines grouped by price and discount for step two."""

    def __init__(self, catalog, facts, packages, tier_base, pieces_of) -> None:  # type: ignore[no-untyped-def]
        self.catalog, self.facts, self.packages = catalog, facts, packages
        self.tier_base = tier_base  # as the database has it: untouched, for _price_exactly
        self.pieces_of = pieces_of
        self.lines: list[Line] = []
        self.line_facts: list[object] = []
        self.usage: list[int] = []
        self.package_e10: list[int] = []
        self.billed: list[int] = []
        self.already: list[int] = []
        self.owner: list[str] = []
        self.price_keys: list[int] = []  # the line's price, for its unit price text
        self.groups: dict[tuple[int, str | None], list] = {}  # (price, discount) -> members
        self.prices: dict[tuple, UsagePrice | None] = {}
        self.discounts: dict[tuple, Discount | None] = {}
        self.unit_texts: dict[int, str | None] = {}
        self.saved: dict[str, dict[str, dict]] = {}  # customer -> package -> used before
        targeted = {d.customer_id for d in catalog.document.discounts if d.customer_id}
        self.targeted = targeted

    def customer(self, entry: CustomerSettlement, lines: list[Line]) -> bool:
        """Gather a customer's lines; False when one of them is unusual (kept out)."""
        row = entry.customer
        own = self.packages.get(row.id)
        if own:  # package uses are undone if this customer is priced again line by line
            self.saved[row.id] = {p.id: dict(p.used_e10) for p in own}
        first = len(self.lines)
        running: dict = {}
        rows, uses = [], []
        for line in lines:
            got = self._line(row, line, own, running, uses)
            if got is None:
                del self.lines[first:], self.line_facts[first:], self.usage[first:]
                del self.package_e10[first:], self.billed[first:], self.already[first:]
                del self.owner[first:], self.price_keys[first:]
                return False
            rows.append(got)
        for group, index in rows:
            group[1].append(index)
        entry.start, entry.stop = first, len(self.lines)
        entry.package_uses = uses
        return True

    def _line(self, row, line, own, running, uses):  # type: ignore[no-untyped-def]
        fact = self.facts.get(line.resource_id)
        if fact is None:
            return None
        if line.spec is not None and line.spec != fact.spec:  # the spec changed since
            fact = AsRated(fact.id, fact.service, fact.resource_type, line.spec, fact.region)
        item = (fact.resource_type, fact.spec, row.currency, line.usage_type)
        if item not in self.prices:
            self.prices[item] = self._price(item)
        price = self.prices[item]
        if price is None:
            return None
        usage = line.usage_e10
        if price.unit != line.pricing_unit:  # the catalog changed the pricing unit since
            old = self.catalog.unit(line.pricing_unit).factor
            num, den = (old / self.catalog.unit(price.unit).factor).as_integer_ratio()
            usage = usage * num // den
        if not INT64_MIN <= usage <= INT64_MAX or usage < 0:
            return None
        index = len(self.lines)
        covered = 0
        if own:  # most customers hold none: skip the matching altogether
            covered, found = _cover(
                own, line, (fact.service, fact.resource_type, fact.spec, fact.region),
                usage, Decimal(self.catalog.unit(price.unit).factor), self.pieces_of,
            )  # fmt: skip
            uses.extend((index, use) for use in found)
        billed = usage - covered
        already = 0
        if price.tiers is not None:
            key = _tier_key(row, fact, line)
            already = running.get(key)
            if already is None:
                already = self.tier_base.get(key, 0)
            running[key] = already + billed
        dkey = (row.id if row.id in self.targeted else None, row.level, fact.service)
        if dkey not in self.discounts:
            self.discounts[dkey] = best_discount(
                self.catalog.document.discounts, customer_id=row.id, customer_level=row.level,
                service=fact.service, billing_mode=BillingMode.PAY_PER_USE,
            )  # fmt: skip
        discount = self.discounts[dkey]
        gkey = (id(price), None if discount is None else discount.id)
        group = self.groups.get(gkey)
        if group is None:
            group = self.groups[gkey] = [(price, discount), []]
            self.unit_texts[id(price)] = None if price.price is None else format(price.price, "f")
        self.lines.append(line)
        self.line_facts.append(fact)
        self.usage.append(usage)
        self.package_e10.append(covered)
        self.billed.append(billed)
        self.already.append(already)
        self.owner.append(row.id)
        self.price_keys.append(id(price))
        return group, index

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

    def restore(self, entry: CustomerSettlement) -> None:
        """Undo what gathering this customer's lines and paying them changed."""
        saved = self.saved.get(entry.customer.id, {})
        for package in self.packages.get(entry.customer.id, ()):
            package.used_e10 = saved.get(package.id, package.used_e10)
        for coupon in entry.wallet.coupons:
            coupon.balance_units = coupon.initial_units

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
            "official_units": rated.official_units.tolist(),
            "discount_units": rated.discount_units.tolist(),
            "amount_units": rated.amount_units.tolist(),
            **{part: paid[part].tolist() for part in PAID_PARTS},
        }
        if all(e.exact is None for e in entries.values()) and (
            sum(e.stop - e.start for e in entries.values()) == len(self.lines)
        ):
            return RatedColumns(**bulk)
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
                    _append_exact(out, p)
                e.package_uses = [(rows[id(p)], use) for p, use in e.exact.package_uses]
            e.start, e.stop = at, len(out.lines)
        return out


PAID_PARTS = ("coupon_units", "cash_units", "credit_units", "debt_units")


def _append_exact(out: RatedColumns, p: PricedLine) -> None:
    out.lines.append(p.line)
    out.facts.append(p.facts)
    out.usage_e10.append(p.line.usage_e10)
    out.package_e10.append(p.package_e10)
    price = p.rated.unit_price
    out.unit_price.append(None if price is None else format(price, "f"))
    out.official_units.append(p.rated.official_units)
    out.discount_units.append(p.rated.discount_units)
    out.amount_units.append(p.rated.amount_units)
    for part in PAID_PARTS:
        getattr(out, part).append(getattr(p.payment, part))


def _pay_by_payer(entries, found, rated, *, now, skip):  # type: ignore[no-untyped-def]
    """Step three: each payer's fees paid in the deduction order, from the rated columns.
    A payer with no coupons whose cash covers its whole hour pays every fee from cash, in
    bulk; the others (coupons, credit, running out of money) go through deduction.deduct
    fee by fee. Returns the customers whose amounts the books could not hold."""
    amount = rated.amount_units
    paid = {part: np.zeros_like(amount) for part in PAID_PARTS}
    unusual = set()
    for cid, entry in entries.items():  # the payer is the customer itself (for now)
        if cid in skip:
            continue
        a, b = entry.start, entry.stop
        fees = amount[a:b]
        total = int(fees.sum()) if fees.dtype != object else sum(fees.tolist())
        wallet = entry.wallet
        if not entry.wallet.coupons and 0 <= total <= wallet.cash_units:
            paid["cash_units"][a:b] = fees
            wallet.cash_units -= total
            entry.paid = {"coupon_units": 0, "cash_units": total, "credit_units": 0,
                          "debt_units": 0}  # fmt: skip
        else:
            services = [f.service for f in found.line_facts[a:b]]
            charges = [Charge(fee, service, PAY_PER_USE)
                       for fee, service in zip(fees.tolist(), services, strict=True)]  # fmt: skip
            payments = deduct(wallet, charges, now=now)
            for part in PAID_PARTS:
                paid[part][a:b] = [getattr(x, part) for x in payments]
            entry.paid = {part: sum(getattr(x, part) for x in payments) for part in PAID_PARTS}
            for x in payments:
                for coupon_id, used in x.coupon_uses:
                    entry.coupon_uses[coupon_id] = entry.coupon_uses.get(coupon_id, 0) + used
        if not _storable(total, wallet):
            unusual.add(cid)
    return unusual, paid


def _storable(total: int, wallet: Wallet) -> bool:
    """What _check_storable asks of the hour's sums (each line's were asked before)."""
    books = (wallet.cash_units, wallet.unpaid_units, wallet.debt_units)
    return INT64_MIN <= total <= INT64_MAX and all(-BOOK_UNITS_MAX <= v <= BOOK_UNITS_MAX
                                                   for v in books)  # fmt: skip


@dataclass
class _Exact:
    """A customer priced line by line by rate(): the reference the columns are equal to."""

    customer: object
    accounts: dict[AccountKind, Account]
    wallet: Wallet
    lines: list[PricedLine] = field(default_factory=list)
    package_uses: list[tuple[PricedLine, PackageUse]] = field(default_factory=list)


def _price_exactly(catalog, entry, lines, facts, packages, tier_totals, pieces_of, *, now):  # type: ignore[no-untyped-def]
    """Price one customer as settlement always did, line by line; raises what stops it."""
    row, books = entry.customer, entry.accounts
    exact = _Exact(row, books, Wallet(
        cash_units=books[AccountKind.CASH].balance_units,
        unpaid_units=books[AccountKind.UNPAID].balance_units,
        debt_units=books[AccountKind.DEBT].balance_units,
        credit_limit_units=row.credit_limit_units if row.payment_mode == "postpaid" else 0,
        coupons=entry.wallet.coupons,
    ))  # fmt: skip
    _price_customer(catalog, exact, lines, facts, packages, dict(tier_totals), {},
                    pieces_of, now=now)  # fmt: skip
    entry.exact, entry.wallet = exact, exact.wallet
    entry.package_uses = []
    entry.paid = {part: sum(getattr(p.payment, part) for p in exact.lines) for part in PAID_PARTS}
    entry.coupon_uses = {}
    for p in exact.lines:
        for coupon_id, used in p.payment.coupon_uses:
            entry.coupon_uses[coupon_id] = entry.coupon_uses.get(coupon_id, 0) + used


def _price_customer(
    catalog, entry, lines, facts, packages, tier_totals, discounts, pieces_of, *, now
) -> None:  # type: ignore[no-untyped-def]
    for line in lines:
        entry.lines.append(
            _price_line(catalog, entry, line, facts, packages, tier_totals, discounts, pieces_of)
        )
    charges = [Charge(p.rated.amount_units, p.facts.service, str(BillingMode.PAY_PER_USE))
               for p in entry.lines]  # fmt: skip
    for priced, payment in zip(entry.lines, deduct(entry.wallet, charges, now=now), strict=True):
        priced.payment = payment
    _check_storable(entry)


def _check_storable(entry: CustomerSettlement) -> None:
    """Everything this customer's settlement writes fits the books' columns: found here, it
    holds this customer back; found by the database, it would fail the whole run."""
    for p in entry.lines:
        check_int64(p.line.usage_e10, "usage in an hour")
        for value in (p.rated.official_units, p.rated.discount_units, p.rated.amount_units):
            check_int64(value, "an hour's fee")
    total = sum(p.rated.amount_units for p in entry.lines)
    check_int64(total, "the hour's fees")
    wallet = entry.wallet
    for value in (wallet.cash_units, wallet.unpaid_units, wallet.debt_units):
        check_book(value, "a balance after the hour's fees")


def _price_line(
    catalog, entry, line, facts, packages, tier_totals, discounts, pieces_of
) -> PricedLine:  # type: ignore[no-untyped-def]
    row = entry.customer
    fact = facts.get(line.resource_id)
    if fact is None:
        raise CloudbillError(
            ErrorCode.RESOURCE_NOT_FOUND, f"usage for unknown resource {line.resource_id}"
        )
    if line.spec is not None and line.spec != fact.spec:  # the spec changed since the usage
        fact = AsRated(fact.id, fact.service, fact.resource_type, line.spec, fact.region)
    ref = catalog.spec(fact.resource_type, fact.spec)
    prices = ref.spec.prices.get(row.currency)
    price = prices.pay_per_use.get(line.usage_type) if prices else None
    if price is None:
        raise CloudbillError(
            ErrorCode.CATALOG_ITEM_NOT_FOUND,
            f"cannot settle: {fact.spec} has no pay-per-use {line.usage_type} price in "
            f"{row.currency} in the active catalog",
        )
    usage = line.usage_e10
    if price.unit != line.pricing_unit:  # the catalog changed the pricing unit since ingestion
        old, new = catalog.unit(line.pricing_unit).factor, catalog.unit(price.unit).factor
        num, den = (old / new).as_integer_ratio()
        usage = usage * num // den
    own_packages = packages.get(row.id)
    covered, uses = 0, []
    if own_packages:  # most customers hold none: skip the matching altogether
        covered, uses = _cover(
            own_packages, line, (fact.service, fact.resource_type, fact.spec, fact.region),
            usage, Decimal(catalog.unit(price.unit).factor), pieces_of,
        )  # fmt: skip
    billed = usage - covered
    already = 0
    if price.tiers is not None:
        key = _tier_key(row, fact, line)
        already = tier_totals.get(key, 0)
        tier_totals[key] = already + billed
    dkey = (row.id, fact.service)
    if dkey not in discounts:
        discounts[dkey] = best_discount(
            catalog.document.discounts, customer_id=row.id, customer_level=row.level,
            service=fact.service, billing_mode=BillingMode.PAY_PER_USE,
        )  # fmt: skip
    line.usage_e10 = usage  # in the current pricing unit
    priced = PricedLine(
        line, fact, covered, rate(billed, price, already, discounts[dkey], row.currency)
    )
    entry.package_uses.extend((priced, use) for use in uses)
    return priced


def _cover(own, line, facts, usage, factor, pieces_of) -> tuple[int, list[PackageUse]]:  # type: ignore[no-untyped-def]
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


def _tier_key(row, fact, line):  # type: ignore[no-untyped-def]
    start = month_period(*month_of(line.hour, row.timezone), row.timezone).start
    return (row.id, fact.resource_type, fact.spec, line.usage_type, start)


def _tier_totals(conn, catalog, rows, facts, lines):  # type: ignore[no-untyped-def]
    tiered: dict[tuple[str, str, str, str], bool] = {}
    keys = []
    for line in lines:
        fact = facts.get(line.resource_id)
        if fact is None:
            continue
        row = rows[line.customer_id]
        spec = line.spec or fact.spec
        item = (fact.resource_type, spec, row.currency, line.usage_type)
        if item not in tiered:
            try:
                ref = catalog.spec(fact.resource_type, spec)
            except CloudbillError:  # pricing the line says so, for this customer only
                tiered[item] = False
                continue
            prices = ref.spec.prices.get(row.currency)
            price = prices.pay_per_use.get(line.usage_type) if prices else None
            tiered[item] = price is not None and price.tiers is not None
        if tiered[item]:
            month = month_period(*month_of(line.hour, row.timezone), row.timezone)
            keys.append((row.id, fact.resource_type, spec, line.usage_type, month.start, month.end))
    return repo.billed_this_month(conn, keys)


def _packages(conn, catalog, rows, lines, failures) -> dict[str, PackageState]:  # type: ignore[no-untyped-def]
    if not lines:
        return {}
    since = min(line.hour for line in lines)
    until = max(line.hour for line in lines) + HOUR
    found = repo.packages(conn, rows.keys(), since, until)
    used = repo.package_periods(conn, [p.id for p in found])
    states = {}
    for p in found:
        try:
            factor = Decimal(catalog.unit(p.pricing_unit).factor)
        except CloudbillError as exc:  # the catalog lost the package's unit: this customer only
            failures[p.customer_id] = describe(exc)
            continue
        states[p.id] = PackageState(
            id=p.id, customer_id=p.customer_id, usage_type=p.usage_type,
            unit_factor=factor, quantity_e10=p.quantity_e10,
            service=p.service, resource_type=p.resource_type, spec=p.spec, region=p.region,
            reset_kind=ResetKind(p.reset_kind), reset_hour=p.reset_hour,
            valid_from=p.valid_from, valid_to=p.valid_to,
            timezone=rows[p.customer_id].timezone, created_at=p.created_at,
            used_e10={start: e10 for (pid, start), e10 in used.items() if pid == p.id},
        )  # fmt: skip
    return states


def _coupons(conn, customer_ids) -> dict[str, CouponState]:  # type: ignore[no-untyped-def]
    return {
        c.id: CouponState(
            id=c.id,
            customer_id=c.customer_id,
            balance_units=c.balance_units,
            valid_from=c.valid_from,
            valid_to=c.valid_to,
            services=repo.decode_list(c.services),
            billing_modes=repo.decode_list(c.billing_modes),
            min_spend_units=c.min_spend_units,
            initial_units=c.balance_units,
        )
        for c in repo.coupons(conn, customer_ids)
    }
