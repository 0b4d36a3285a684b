"""Catalog use cases: load a version, activate it, read the active catalog, inquire prices."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection

from ..kernel.currency import currency_digits, normalize_currency
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.money import SCALE_DIGITS, Rounding, parse_decimal
from . import repo, safety
from .index import CatalogIndex
from .loader import canonical_json, checksum, parse_data
from .model import BillingMode, CatalogDocument, PeriodUnit
from .pricing import FEE_ROUNDING, Quote, best_discount, convert_quantity, quote, usage_cost

MAX_PERIOD_COUNT = {PeriodUnit.MONTH: 9, PeriodUnit.YEAR: 3}
MAX_SUBSCRIPTIONS = 1000

# Parsed catalogs by checksum: a document never changes once loaded, so caching is safe.
_INDEX_CACHE: dict[str, CatalogIndex] = {}


@dataclass(frozen=True, slots=True)
class LoadResult:
    version: str
    checksum: str
    created: bool


def load(
    conn: Connection,
    document: CatalogDocument,
    *,
    source: str,
    now: datetime,
    activate: bool = True,
    allow_breaking: bool = False,
) -> LoadResult:
    """Store `document` as a new version (idempotent for identical content) and activate it.

    Activating a version that drops or unprices what live resources, packages or waiting usage
    need is refused (`CATALOG_IN_USE`, with the list), unless `allow_breaking`: then those
    customers are held by settlement (settle/holds.py) until a later version mends it."""
    digest = checksum(document)
    if activate and not allow_breaking:
        refuse_if_breaking(conn, CatalogIndex(document), now=now)
    existing = repo.find_version(conn, document.version)
    if existing is not None:
        if existing.checksum != digest:
            raise CloudbillError(
                ErrorCode.ALREADY_EXISTS,
                f"catalog version {document.version!r} was already loaded with other content: "
                "give the edited catalog a new version",
            )
        if activate:
            repo.activate(conn, existing.id)
        return LoadResult(document.version, digest, created=False)
    version_id = repo.insert_version(
        conn,
        version=document.version,
        checksum=digest,
        document=canonical_json(document),
        source=source,
        now=now,
    )
    if activate:
        repo.activate(conn, version_id)
    return LoadResult(document.version, digest, created=True)


def activate_version(
    conn: Connection, version: str, *, now: datetime, allow_breaking: bool = False
) -> None:
    """Make an earlier version the active one (refused like `load` when it would break what
    is live)."""
    row = repo.find_version(conn, version)
    if row is None:
        raise CloudbillError(ErrorCode.NOT_FOUND, f"no catalog version {version!r}")
    if not allow_breaking:
        document = parse_data(json.loads(row.document), source=f"version {row.version}")
        refuse_if_breaking(conn, CatalogIndex(document), now=now)
    repo.activate(conn, row.id)


def refuse_if_breaking(conn: Connection, candidate: CatalogIndex, *, now: datetime) -> None:
    """Refuse (CATALOG_IN_USE, with the list) a version that, made active now, would drop or
    unprice what is in use; the active version itself, or a first catalog, passes."""
    current = active(conn) if has_catalog(conn) else None
    if current is None or current.document.version == candidate.document.version:
        return
    safety.refuse_if_breaking(conn, current, candidate, now=now)


def active(conn: Connection) -> CatalogIndex:
    row = repo.active_head(conn)
    if row is None:
        raise CloudbillError(
            ErrorCode.NO_CATALOG, "no catalog is loaded: run `cloudbill catalog load FILE`"
        )
    index = _INDEX_CACHE.get(row.checksum)
    if index is None:
        document = json.loads(repo.document(conn, row.id))
        index = CatalogIndex(parse_data(document, source=f"version {row.version}"))
        _INDEX_CACHE[row.checksum] = index
    return index


def has_catalog(conn: Connection) -> bool:
    return repo.active_row(conn) is not None


def _positive_int(value: int, what: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, f"{what} must be a whole number 1-{maximum}"
        )
    return value


def inquire_pay_per_use(
    catalog: CatalogIndex,
    *,
    resource_type: str,
    spec: str,
    usage_type: str,
    quantity: object,
    unit: str | None,
    currency: str,
    customer_id: str | None = None,
    customer_level: int | None = None,
    already_used: object = 0,
) -> tuple[Quote, Decimal, str]:
    """Price `quantity` of `usage_type` on `spec`: (quote, quantity in pricing unit, unit)."""
    ref = catalog.spec(resource_type, spec)
    currency = normalize_currency(currency)
    prices = ref.spec.prices.get(currency)
    usage_price = prices.pay_per_use.get(usage_type) if prices else None
    if usage_price is None:
        raise CloudbillError(
            ErrorCode.CATALOG_ITEM_NOT_FOUND,
            f"{spec} has no pay-per-use {usage_type!r} price in {currency}",
        )
    amount = parse_decimal(quantity, what="quantity")
    used = parse_decimal(already_used, what="already used quantity")
    if amount < 0 or used < 0:
        raise CloudbillError(ErrorCode.INVALID_ARGUMENT, "quantities cannot be negative")
    pricing_unit = catalog.unit(usage_price.unit)
    source_unit = catalog.unit(unit) if unit else pricing_unit
    in_pricing_unit = convert_quantity(amount, source_unit, pricing_unit)
    official = usage_cost(usage_price, in_pricing_unit, used)
    discount = best_discount(
        catalog.document.discounts,
        customer_id=customer_id,
        customer_level=customer_level,
        service=ref.service.code,
        billing_mode=BillingMode.PAY_PER_USE,
    )
    result = quote(official, currency, discount, rounding=FEE_ROUNDING, places=SCALE_DIGITS)
    return result, in_pricing_unit, pricing_unit.code


def inquire_period(
    catalog: CatalogIndex,
    *,
    resource_type: str,
    spec: str,
    period_unit: PeriodUnit,
    period_count: int,
    subscriptions: int = 1,
    currency: str,
    rounding: Rounding,
    customer_id: str | None = None,
    customer_level: int | None = None,
) -> Quote:
    """Price a yearly/monthly purchase: months x monthly price x subscriptions, then discount."""
    ref = catalog.spec(resource_type, spec)
    currency = normalize_currency(currency)
    period_unit = PeriodUnit(period_unit)
    _positive_int(period_count, f"number of {period_unit}s", MAX_PERIOD_COUNT[period_unit])
    _positive_int(subscriptions, "subscriptions", MAX_SUBSCRIPTIONS)
    prices = ref.spec.prices.get(currency)
    if prices is None or prices.monthly is None:
        raise CloudbillError(
            ErrorCode.CATALOG_ITEM_NOT_FOUND, f"{spec} has no yearly/monthly price in {currency}"
        )
    months = period_count * (12 if period_unit is PeriodUnit.YEAR else 1)
    official = prices.monthly * months * subscriptions
    discount = best_discount(
        catalog.document.discounts,
        customer_id=customer_id,
        customer_level=customer_level,
        service=ref.service.code,
        billing_mode=BillingMode.YEARLY_MONTHLY,
        period_unit=period_unit,
    )
    return quote(official, currency, discount, rounding=rounding, places=currency_digits(currency))
