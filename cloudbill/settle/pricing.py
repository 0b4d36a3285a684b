"""Price a settlement's lines and decide how each is paid: packages, tiers, discounts, then the
deduction order. Loads what it needs in bulk (locking customers, then their accounts), decides
in memory, and hands the result to writer.py."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from ..catalog.index import CatalogIndex
from ..catalog.model import BillingMode, Discount
from ..catalog.pricing import best_discount
from ..enterprise import accounting
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.money import check_book, check_int64
from ..kernel.periods import HOUR, month_of, month_period
from ..kernel.quantity import split_proportionally
from ..kernel.resets import ResetKind
from ..ledger import repo as ledger_repo
from ..ledger.model import Account, AccountKind
from ..rate.rules import Rated, rate
from . import repo
from .deduction import Charge, CouponState, Payment, Wallet, deduct
from .holds import Failure, describe
from .lines import Line
from .packages import PackageState, PackageUse, consume, hour_cuts, split_usage


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
    payer_id: str | None = None  # who pays it: the consumer, or its unified master


@dataclass
class CustomerSettlement:
    """One consumer's priced lines (its own packages and tiers)."""

    customer: object  # the locked customer row
    lines: list[PricedLine] = field(default_factory=list)
    package_uses: list[tuple[PricedLine, PackageUse]] = field(default_factory=list)


@dataclass
class PayerSettlement:
    """One payer's wallet and the lines it pays: its own, and its unified members' (see
    enterprise/accounting.py): one ledger transfer per payer."""

    customer: object  # the locked payer row
    accounts: dict[AccountKind, Account]
    wallet: Wallet
    lines: list[PricedLine] = field(default_factory=list)
    consumers: set[str] = field(default_factory=set)


@dataclass
class PricedSettlement:
    customers: dict[str, CustomerSettlement]
    packages: dict[str, PackageState]
    coupons: dict[str, CouponState]
    # Customers whose hour could not be priced: left out of this settlement, held (holds.py).
    failures: dict[str, Failure] = field(default_factory=dict)
    payers: dict[str, PayerSettlement] = field(default_factory=dict)


def price_lines(
    conn: Connection, catalog: CatalogIndex, lines: list[Line], *, now: datetime
) -> PricedSettlement:
    """Price every customer's lines; a customer whose lines cannot be priced (a price the
    catalog lost, amounts past what the books hold, broken data) is left out with the reason,
    and the others are priced as if it were not there: nothing one customer holds is shared."""
    customer_ids = {line.customer_id for line in lines}
    payer_of = accounting.payers_of_lines(conn, lines)
    # Payers are locked with the consumers, in the one id order: no deadlock between runs.
    rows = repo.lock_customers(conn, customer_ids | set(payer_of.values()))
    accounts = ledger_repo.customer_accounts_bulk(conn, rows.keys())
    facts = repo.resources(conn, {line.resource_id for line in lines})
    failures: dict[str, Failure] = {}
    factors = {code: unit.factor for code, unit in catalog.units.items()}
    packages = _packages(conn, catalog, rows, lines, failures)
    coupons = _coupons(conn, rows.keys())
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
    discounts: dict[tuple[str, str], Discount | None] = {}
    settled: dict[str, CustomerSettlement] = {}
    for cid in sorted(customer_ids):
        if cid in failures:
            continue
        entry = CustomerSettlement(customer=rows[cid])
        try:
            _price_customer(
                catalog, entry, lines_of[cid], facts, by_customer_packages, tier_totals,
                discounts, lambda line: repo.line_pieces(conn, line, factors),
                rows, payer_of,
            )  # fmt: skip
        except SQLAlchemyError:
            raise  # the database, not this customer's data: the whole run retries
        except Exception as exc:  # whatever this customer's data breaks
            failures[cid] = describe(exc)
            continue
        settled[cid] = entry
    payers = _pay(settled, rows, accounts, coupons_of, failures, now=now)
    return PricedSettlement(settled, packages, coupons, failures, payers)


def _price_customer(
    catalog, entry, lines, facts, packages, tier_totals, discounts, pieces_of, rows, payer_of
) -> None:  # type: ignore[no-untyped-def]
    for line in lines:
        payer = rows[payer_of.get((line.customer_id, line.hour), line.customer_id)]
        accounting.check_payable(entry.customer, payer)
        priced = _price_line(
            catalog, entry, line, facts, packages, tier_totals, discounts, pieces_of, payer
        )
        priced.payer_id = payer.id
        entry.lines.append(priced)
    _check_lines(entry)


def _pay(settled, rows, accounts, coupons_of, failures, *, now) -> dict[str, PayerSettlement]:  # type: ignore[no-untyped-def]
    """Each payer pays its lines in the guide's deduction order from its own wallet: its own
    lines first, then its members' by member id, each consumer's in line order. A payer whose
    books cannot take the result holds back every consumer it pays for, and the others are
    paid again without them (a consumer's lines may have several payers: hours before and
    after it joined)."""
    while True:
        payers = _groups(settled, rows, accounts, coupons_of)
        broken = False
        for pid in sorted(payers):
            group = payers[pid]
            charges = [Charge(p.rated.amount_units, p.facts.service, str(BillingMode.PAY_PER_USE))
                       for p in group.lines]  # fmt: skip
            for priced, paid in zip(
                group.lines, deduct(group.wallet, charges, now=now), strict=True
            ):
                priced.payment = paid
            try:
                _check_wallet(group)
            except CloudbillError as exc:
                for cid in group.consumers:
                    failures[cid] = describe(exc)
                    settled.pop(cid, None)
                broken = True
        if not broken:
            return payers
        for coupons in coupons_of.values():  # as before this settlement: paid again from scratch
            for coupon in coupons:
                coupon.balance_units = coupon.initial_units


def _groups(settled, rows, accounts, coupons_of) -> dict[str, PayerSettlement]:  # type: ignore[no-untyped-def]
    payers: dict[str, PayerSettlement] = {}
    for cid in sorted(settled):
        for priced in settled[cid].lines:
            pid = priced.payer_id
            if pid not in payers:
                row, books = rows[pid], accounts[pid]
                payers[pid] = PayerSettlement(
                    customer=row,
                    accounts=books,
                    wallet=Wallet(
                        cash_units=books[AccountKind.CASH].balance_units,
                        unpaid_units=books[AccountKind.UNPAID].balance_units,
                        debt_units=books[AccountKind.DEBT].balance_units,
                        credit_limit_units=(
                            row.credit_limit_units if row.payment_mode == "postpaid" else 0
                        ),
                        coupons=coupons_of[pid],
                    ),
                )
            payers[pid].lines.append(priced)
            payers[pid].consumers.add(cid)
    for pid, group in payers.items():
        group.lines.sort(key=lambda p, pid=pid: (p.line.customer_id != pid, p.line.customer_id))
    return payers


def _check_lines(entry: CustomerSettlement) -> None:
    """Everything this customer's settlement writes fits the books' columns: found here, it
    holds this customer back; found by the database, it would fail the whole run."""
    for p in entry.lines:
        check_int64(p.line.usage_e10, "usage in an hour")
        for value in (p.rated.official_units, p.rated.discount_units, p.rated.amount_units):
            check_int64(value, "an hour's fee")
    total = sum(p.rated.amount_units for p in entry.lines)
    check_int64(total, "the hour's fees")


def _check_wallet(group: PayerSettlement) -> None:
    check_int64(sum(p.rated.amount_units for p in group.lines), "the hour's fees")
    wallet = group.wallet
    for value in (wallet.cash_units, wallet.unpaid_units, wallet.debt_units):
        check_book(value, "a balance after the hour's fees")


def _price_line(
    catalog, entry, line, facts, packages, tier_totals, discounts, pieces_of, payer
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
    dkey = (payer.id, fact.service)  # the payer's discounts (a unified member's: its master's)
    if dkey not in discounts:
        discounts[dkey] = best_discount(
            catalog.document.discounts, customer_id=payer.id, customer_level=payer.level,
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
