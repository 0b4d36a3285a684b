"""Price a settlement's lines and decide how each is paid: packages, tiers, discounts, then the
deduction order. Loads what it needs in bulk (locking customers, then their accounts), decides
in memory, and hands the result to writer.py."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

import numpy as np
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from ..catalog.index import CatalogIndex
from ..enterprise import accounting
from ..kernel.errors import CloudbillError
from ..kernel.periods import HOUR
from ..kernel.resets import ResetKind
from ..ledger import repo as ledger_repo
from ..ledger.model import AccountKind
from . import repo
from .deduction import CouponState, Wallet
from .exact import pay_exactly, rate_exactly
from .gather import Gathered, month_of_hour
from .holds import Failure, describe
from .lines import Line
from .packages import PackageState
from .paying import by_payer, pay_by_payer, pay_order
from .priced import CustomerSettlement, PricedSettlement


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
    # Who pays each consumer's hour: itself, or its unified master (enterprise/accounting.py).
    # Payers are locked with the consumers, in the one id order: no deadlock between runs.
    masters = accounting.payers_of_lines(conn, lines)
    rows = repo.lock_customers(conn, customer_ids | set(masters.values()))
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
    lines_of: dict[tuple[str, str], list[Line]] = defaultdict(list)
    order = lambda x: (x.customer_id, x.hour, x.resource_id, x.usage_type, x.spec or "")  # noqa: E731
    for line in sorted(lines, key=order):
        payer = masters.get((line.customer_id, line.hour), line.customer_id)
        lines_of[(line.customer_id, payer)].append(line)
    pieces_of = lambda line: repo.line_pieces(conn, line, factors)  # noqa: E731
    found = Gathered(catalog, facts, by_customer_packages, tier_totals, pieces_of)
    for cid, pid in lines_of:
        try:  # a member's master must keep its currency: else the member is held, whole
            accounting.check_payable(rows[cid], rows[pid])
        except CloudbillError as exc:
            failures[cid] = describe(exc)
    wallets = {pid: _wallet(rows[pid], accounts[pid], coupons_of[pid])
               for pid in {pid for _, pid in lines_of}}  # fmt: skip
    # A consumer's entries (lines it paid itself, lines its master paid) in hour order: its
    # month-to-date tiers run across them as its hours came. Paid in pay order (paying.py).
    first_hour = {key: found_lines[0].hour for key, found_lines in lines_of.items()}
    gather_order = lambda key: (key[0], first_hour[key], key[1])  # noqa: E731
    order = lambda key: pay_order(key, first_hour[key])  # noqa: E731
    entries: dict[tuple[str, str], CustomerSettlement] = {}
    unusual: set[tuple[str, str]] = set()  # priced again by rate(), line by line
    for key in sorted(lines_of, key=gather_order):
        cid, pid = key
        if cid in failures:
            continue
        entry = CustomerSettlement(
            customer=rows[cid], accounts=accounts[pid], wallet=wallets[pid],
            payer=rows[pid] if pid != cid else None,
        )  # fmt: skip
        if not found.customer(entry, lines_of[key]):
            unusual.add(key)
        entries[key] = entry
    rated = found.rate()
    unusual |= {found.owner[row] for row in np.flatnonzero(rated.outside).tolist()}
    redo = _together(entries, unusual)
    broke, paid = pay_by_payer(entries, found, rated, now=now, skip=redo, order=order)
    redo |= _together(entries, broke)
    while redo:  # rare: priced line by line, as rate() gives it
        failed = _price_exactly(catalog, entries, redo, lines_of, facts, by_customer_packages,
                                found, rows, accounts, coupons_of, gather_order, order,
                                now=now)  # fmt: skip
        if not failed:
            break
        failures.update(failed)  # held: the others are priced again without them
        for key in [k for k in entries if k[0] in failed]:
            del entries[key]
        redo = {k for k in redo if k in entries}
    return PricedSettlement(entries, packages, coupons, failures,
                            found.columns(entries, rated, paid))  # fmt: skip


def _wallet(row, books, coupons) -> Wallet:  # type: ignore[no-untyped-def]
    """A payer's money at the start of the settlement (its books are locked meanwhile)."""
    return Wallet(
        cash_units=books[AccountKind.CASH].balance_units,
        unpaid_units=books[AccountKind.UNPAID].balance_units,
        debt_units=books[AccountKind.DEBT].balance_units,
        credit_limit_units=row.credit_limit_units if row.payment_mode == "postpaid" else 0,
        coupons=coupons,
    )


def _together(entries, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """`keys` with every entry that shares a consumer or a payer with one of them: those are
    paid one after another from one wallet (and a consumer's tiers and packages run across
    its entries), so they are priced line by line together."""
    group = set(keys)
    while True:
        consumers = {cid for cid, _ in group}
        payers = {pid for _, pid in group}
        more = {k for k in entries if k[0] in consumers or k[1] in payers} - group
        if not more:
            return group
        group |= more


def _price_exactly(
    catalog,
    entries,
    redo,
    lines_of,
    facts,
    packages,
    found,
    rows,
    accounts,
    coupons_of,
    gather_order,
    order,
    *,
    now,
) -> dict[str, Failure]:  # type: ignore[no-untyped-def]
    """Price the `redo` entries line by line, from their payers' books as they were: each
    payer's wallet and coupons fresh, each consumer's packages and tiers as before this run.
    Returns the consumers that could not be priced (nothing of theirs kept)."""
    for coupon in (c for _, pid in redo for c in coupons_of[pid]):
        coupon.balance_units = coupon.initial_units
    wallets = {pid: _wallet(rows[pid], accounts[pid], coupons_of[pid]) for _, pid in redo}
    for cid in {cid for cid, _ in redo}:
        found.restore_packages(cid)
    tiers: dict[str, dict] = {}  # type: ignore[type-arg]
    for key in sorted(redo, key=gather_order):  # rated: each consumer's hours in order
        cid, pid = key
        entry = entries[key]
        entry.wallet = wallets[pid]
        try:
            rate_exactly(catalog, entry, lines_of[key], facts, packages,
                         tiers.setdefault(cid, dict(found.tier_base)), found.pieces_of)  # fmt: skip
        except SQLAlchemyError:
            raise  # the database, not this customer's data: the whole run retries
        except Exception as exc:  # whatever this customer's data breaks
            return {cid: describe(exc)}  # the pass is void: priced again without it
    for keys in by_payer({k: entries[k] for k in redo}, order).values():  # paid per payer
        try:
            pay_exactly([entries[key] for key in keys], now=now)
        except SQLAlchemyError:
            raise
        except Exception as exc:  # the payer's books cannot take its hour: the last one it
            # pays for is held and the others are paid again without it, until the rest fits
            return {keys[-1][0]: describe(exc)}
    return {}


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
            month = month_of_hour(line.hour, row.timezone)
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
