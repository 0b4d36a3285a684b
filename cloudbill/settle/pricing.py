"""Price a settlement's lines and decide how each is paid: packages, tiers, discounts, then the
deduction order. Loads what it needs in bulk (locking customers, then their accounts), decides
in memory, and hands the result to writer.py."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection

from ..catalog.index import CatalogIndex
from ..catalog.model import BillingMode, Discount
from ..catalog.pricing import best_discount
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.periods import HOUR, month_of, month_period
from ..ledger import repo as ledger_repo
from ..ledger.model import Account, AccountKind
from ..rate.rules import Rated, rate
from . import repo
from .deduction import Charge, CouponState, Payment, Wallet, deduct
from .lines import Line
from .packages import PackageState, PackageUse, consume


@dataclass
class PricedLine:
    line: Line
    facts: object  # resource row: service, resource_type, spec, region, billing_mode
    package_e10: int
    rated: Rated
    payment: Payment | None = None


@dataclass
class CustomerSettlement:
    customer: object  # the locked customer row
    accounts: dict[AccountKind, Account]
    wallet: Wallet
    lines: list[PricedLine] = field(default_factory=list)
    package_uses: list[tuple[PricedLine, PackageUse]] = field(default_factory=list)


@dataclass
class PricedSettlement:
    customers: dict[str, CustomerSettlement]
    packages: dict[str, PackageState]
    coupons: dict[str, CouponState]


def price_lines(
    conn: Connection, catalog: CatalogIndex, lines: list[Line], *, now: datetime
) -> PricedSettlement:
    customer_ids = {line.customer_id for line in lines}
    rows = repo.lock_customers(conn, customer_ids)
    accounts = ledger_repo.customer_accounts_bulk(conn, customer_ids)
    facts = repo.resources(conn, {line.resource_id for line in lines})
    packages = _packages(conn, catalog, rows, lines)
    coupons = _coupons(conn, customer_ids)
    tier_totals = _tier_totals(conn, catalog, rows, facts, lines)
    coupons_of: dict[str, list[CouponState]] = defaultdict(list)
    for coupon in coupons.values():
        coupons_of[coupon.customer_id].append(coupon)
    settled: dict[str, CustomerSettlement] = {}
    for cid in sorted(customer_ids):
        row = rows[cid]
        books = accounts[cid]
        settled[cid] = CustomerSettlement(
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
    by_customer_packages: dict[str, list[PackageState]] = defaultdict(list)
    for package in packages.values():
        by_customer_packages[package.customer_id].append(package)
    discounts: dict[tuple[str, str], Discount | None] = {}
    for line in sorted(lines, key=lambda x: (x.customer_id, x.hour, x.resource_id, x.usage_type)):
        entry = settled[line.customer_id]
        priced = _price_line(
            catalog, entry, line, facts, by_customer_packages, tier_totals, discounts
        )
        entry.lines.append(priced)
    for entry in settled.values():
        charges = [Charge(p.rated.amount_units, p.facts.service, str(BillingMode.PAY_PER_USE))
                   for p in entry.lines]  # fmt: skip
        for priced, payment in zip(
            entry.lines, deduct(entry.wallet, charges, now=now), strict=True
        ):
            priced.payment = payment
    return PricedSettlement(settled, packages, coupons)


def _price_line(catalog, entry, line, facts, packages, tier_totals, discounts) -> PricedLine:  # type: ignore[no-untyped-def]
    row = entry.customer
    fact = facts.get(line.resource_id)
    if fact is None:
        raise CloudbillError(
            ErrorCode.RESOURCE_NOT_FOUND, f"usage for unknown resource {line.resource_id}"
        )
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
        covered, uses = consume(
            own_packages,
            usage_type=line.usage_type,
            facts=(fact.service, fact.resource_type, fact.spec, fact.region),
            hour=line.hour,
            usage_e10=usage,
            pricing_factor=Decimal(catalog.unit(price.unit).factor),
        )
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
        item = (fact.resource_type, fact.spec, row.currency, line.usage_type)
        if item not in tiered:
            prices = catalog.spec(fact.resource_type, fact.spec).spec.prices.get(row.currency)
            price = prices.pay_per_use.get(line.usage_type) if prices else None
            tiered[item] = price is not None and price.tiers is not None
        if tiered[item]:
            month = month_period(*month_of(line.hour, row.timezone), row.timezone)
            keys.append(
                (row.id, fact.resource_type, fact.spec, line.usage_type, month.start, month.end)
            )
    return repo.billed_this_month(conn, keys)


def _packages(conn, catalog, rows, lines) -> dict[str, PackageState]:  # type: ignore[no-untyped-def]
    if not lines:
        return {}
    since = min(line.hour for line in lines)
    until = max(line.hour for line in lines) + HOUR
    found = repo.packages(conn, rows.keys(), since, until)
    used = repo.package_periods(conn, [p.id for p in found])
    states = {}
    for p in found:
        states[p.id] = PackageState(
            id=p.id, customer_id=p.customer_id, usage_type=p.usage_type,
            unit_factor=Decimal(catalog.unit(p.pricing_unit).factor), quantity_e10=p.quantity_e10,
            service=p.service, resource_type=p.resource_type, spec=p.spec, region=p.region,
            resets_monthly=p.resets_monthly, valid_from=p.valid_from, valid_to=p.valid_to,
            timezone=rows[p.customer_id].timezone,
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
