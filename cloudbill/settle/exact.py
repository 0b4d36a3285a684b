"""Pricing line by line with rate/rules.rate(), as settlement always did: the reference the
column-wise path equals, and the path of the rare customer something unusual happens to (a
missing price, amounts past int64 or the books): its exceptions are the reasons it is held."""

from __future__ import annotations

from decimal import Decimal

from ..catalog.model import BillingMode
from ..catalog.pricing import best_discount
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.money import check_book, check_int64
from ..rate.rules import rate
from .deduction import Charge, deduct
from .gather import cover, tier_key
from .priced import (
    PAID_PARTS,
    AsRated,
    CustomerSettlement,
    ExactSettlement,
    PricedLine,
)


def rate_exactly(catalog, entry, lines, facts, packages, tier_totals, pieces_of):  # type: ignore[no-untyped-def]
    """Rate one entry (a consumer's lines one payer pays) as settlement always did, line by
    line; raises what stops it. `tier_totals`: the consumer's month-to-date quantities,
    updated. Paid afterwards with the payer's other entries (pay_exactly)."""
    row, books = entry.customer, entry.accounts
    exact = ExactSettlement(row, books, entry.wallet, payer=entry.payer_row)
    for line in lines:
        exact.lines.append(
            _price_line(catalog, exact, line, facts, packages, tier_totals, {}, pieces_of)
        )
    for p in exact.lines:
        check_int64(p.line.usage_e10, "usage in an hour")
        for value in (p.rated.official_units, p.rated.discount_units, p.rated.amount_units):
            check_int64(value, "an hour's fee")
    check_int64(sum(p.rated.amount_units for p in exact.lines), "the hour's fees")
    entry.exact = exact


def pay_exactly(group: list[CustomerSettlement], *, now) -> None:  # type: ignore[no-untyped-def]
    """Pay one payer's rated entries (in pay order) from its wallet as one charge list, as
    settlement always did; raises what the books cannot hold."""
    lines = [p for entry in group for p in entry.exact.lines]
    charges = [Charge(p.rated.amount_units, p.facts.service, str(BillingMode.PAY_PER_USE))
               for p in lines]  # fmt: skip
    wallet = group[0].wallet
    for priced, payment in zip(lines, deduct(wallet, charges, now=now), strict=True):
        priced.payment = payment
    check_int64(sum(p.rated.amount_units for p in lines), "the hour's fees")
    for value in (wallet.cash_units, wallet.unpaid_units, wallet.debt_units):
        check_book(value, "a balance after the hour's fees")
    for entry in group:
        exact = entry.exact
        entry.package_uses = []
        entry.paid = {part: sum(getattr(p.payment, part) for p in exact.lines)
                      for part in PAID_PARTS}  # fmt: skip
        entry.coupon_uses = {}
        for p in exact.lines:
            for coupon_id, used in p.payment.coupon_uses:
                entry.coupon_uses[coupon_id] = entry.coupon_uses.get(coupon_id, 0) + used


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
        covered, uses = cover(
            own_packages, line, (fact.service, fact.resource_type, fact.spec, fact.region),
            usage, Decimal(catalog.unit(price.unit).factor), pieces_of,
        )  # fmt: skip
    billed = usage - covered
    already = 0
    if price.tiers is not None:
        key = tier_key(row, fact, line)
        already = tier_totals.get(key, 0)
        tier_totals[key] = already + billed
    payer = entry.payer  # the payer's discounts (a unified member's: its master's)
    dkey = (payer.id, fact.service)
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
