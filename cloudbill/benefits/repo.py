"""Benefit SQL: packages, their periods and usage; coupons and their usage."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, case, func, insert, select, tuple_, update

from ..kernel.limits import PAGE_SIZE_MAX
from ..kernel.resets import ResetKind
from ..store.schema import (
    cash_coupon,
    coupon_usage,
    package_period,
    package_usage,
    resource_package,
)
from .model import (
    CashCoupon,
    CouponStatus,
    CouponUsage,
    CouponUsageKind,
    PackageSource,
    PackageUsage,
    ResourcePackage,
)


def _page(conn: Connection, query: Select, order: Sequence[Any], limit: int, offset: int):  # type: ignore[no-untyped-def]
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(
        query.order_by(*order).limit(min(limit, PAGE_SIZE_MAX)).offset(offset)
    ).all()
    return rows, total


# -- packages -------------------------------------------------------------------------------


def _package(row) -> ResourcePackage:  # type: ignore[no-untyped-def]
    return ResourcePackage(
        id=row.id,
        customer_id=row.customer_id,
        name=row.name,
        usage_type=row.usage_type,
        pricing_unit=row.pricing_unit,
        quantity_e10=row.quantity_e10,
        service=row.service,
        resource_type=row.resource_type,
        spec=row.spec,
        region=row.region,
        reset_kind=ResetKind(row.reset_kind),
        reset_hour=row.reset_hour,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        source=PackageSource(row.source),
        reference=row.reference,
        created_at=row.created_at,
    )


def insert_package(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(resource_package).values(**values))


def get_package(conn: Connection, package_id: str) -> ResourcePackage | None:
    row = conn.execute(select(resource_package).where(resource_package.c.id == package_id)).first()
    return _package(row) if row else None


def package_by_reference(conn: Connection, reference: str) -> ResourcePackage | None:
    row = conn.execute(
        select(resource_package).where(resource_package.c.reference == reference)
    ).first()
    return _package(row) if row else None


def list_packages(
    conn: Connection,
    customer_id: str,
    *,
    valid_after: datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[ResourcePackage], int]:
    """A customer's packages, expiring first (the order usage consumes them in)."""
    query = select(resource_package).where(resource_package.c.customer_id == customer_id)
    if valid_after is not None:
        query = query.where(resource_package.c.valid_to > valid_after)
    order = (resource_package.c.valid_to, resource_package.c.created_at, resource_package.c.id)
    rows, total = _page(conn, query, order, limit, offset)
    return [_package(r) for r in rows], total


def used_in_periods(
    conn: Connection, keys: Sequence[tuple[str, datetime]]
) -> dict[tuple[str, datetime], int]:
    """Used quantity per (package id, period start); a period without a row used nothing."""
    if not keys:
        return {}
    c = package_period.c
    rows = conn.execute(
        select(c.package_id, c.period_start, c.used_e10).where(
            tuple_(c.package_id, c.period_start).in_(list(keys))
        )
    ).all()
    return {(r.package_id, r.period_start): r.used_e10 for r in rows}


def list_package_usage(
    conn: Connection, package_id: str, *, limit: int, offset: int
) -> tuple[list[PackageUsage], int]:
    c = package_usage.c
    query = select(package_usage).where(c.package_id == package_id)
    rows, total = _page(conn, query, (c.hour_start.desc(), c.id.desc()), limit, offset)
    return [
        PackageUsage(
            id=r.id,
            package_id=r.package_id,
            period_start=r.period_start,
            settlement_id=r.settlement_id,
            resource_id=r.resource_id,
            hour_start=r.hour_start,
            quantity_e10=r.quantity_e10,
        )
        for r in rows
    ], total


# -- coupons --------------------------------------------------------------------------------


def _codes(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(json.loads(text))


def _coupon(row) -> CashCoupon:  # type: ignore[no-untyped-def]
    return CashCoupon(
        id=row.id,
        customer_id=row.customer_id,
        name=row.name,
        currency=row.currency,
        face_value_units=row.face_value_units,
        balance_units=row.balance_units,
        min_spend_units=row.min_spend_units,
        services=_codes(row.services),
        billing_modes=_codes(row.billing_modes),
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        status=CouponStatus(row.status),
        reference=row.reference,
        issued_at=row.issued_at,
    )


def codes_text(codes: tuple[str, ...] | None) -> str | None:
    return None if codes is None else json.dumps(list(codes))


def insert_coupon(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(cash_coupon).values(**values))


def get_coupon(
    conn: Connection, coupon_id: str, *, lock: bool = False, customer_id: str | None = None
) -> CashCoupon | None:
    """With `customer_id`, only that customer's row is read (and locked): another customer's
    coupon is never locked on their behalf."""
    query = select(cash_coupon).where(cash_coupon.c.id == coupon_id)
    if customer_id is not None:
        query = query.where(cash_coupon.c.customer_id == customer_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update(key_share=True)
    row = conn.execute(query).first()
    return _coupon(row) if row else None


def coupon_by_reference(conn: Connection, reference: str) -> CashCoupon | None:
    row = conn.execute(select(cash_coupon).where(cash_coupon.c.reference == reference)).first()
    return _coupon(row) if row else None


def list_coupons(
    conn: Connection, customer_id: str, *, status: str | None, limit: int, offset: int
) -> tuple[list[CashCoupon], int]:
    """A customer's coupons, soonest-expiring first (the order fees use them in)."""
    query = select(cash_coupon).where(cash_coupon.c.customer_id == customer_id)
    if status is not None:
        query = query.where(cash_coupon.c.status == status)
    order = (cash_coupon.c.valid_to, cash_coupon.c.issued_at, cash_coupon.c.id)
    rows, total = _page(conn, query, order, limit, offset)
    return [_coupon(r) for r in rows], total


def due_for_expiry(conn: Connection, now: datetime, *, limit: int) -> list[CashCoupon]:
    """Active coupons whose validity has ended, oldest first, row-locked on PostgreSQL."""
    query = (
        select(cash_coupon)
        .where(cash_coupon.c.status == str(CouponStatus.ACTIVE), cash_coupon.c.valid_to <= now)
        .order_by(cash_coupon.c.valid_to, cash_coupon.c.id)
        .limit(min(limit, PAGE_SIZE_MAX))
    )
    if conn.dialect.name == "postgresql":
        # A coupon being revoked right now is skipped; the next run picks it up if still due.
        query = query.with_for_update(skip_locked=True, key_share=True)
    return [_coupon(r) for r in conn.execute(query)]


def close_coupon(conn: Connection, coupon_id: str, status: CouponStatus) -> None:
    """End a coupon: its remaining balance has gone back to the provider."""
    conn.execute(
        update(cash_coupon)
        .where(cash_coupon.c.id == coupon_id)
        .values(status=str(status), balance_units=0)
    )


def add_coupon_usage(
    conn: Connection,
    coupon: CashCoupon,
    kind: CouponUsageKind,
    amount_units: int,
    *,
    ledger_transaction_id: int | None,
    at: datetime,
) -> None:
    conn.execute(
        insert(coupon_usage).values(
            coupon_id=coupon.id,
            customer_id=coupon.customer_id,
            kind=str(kind),
            amount_units=amount_units,
            settlement_id=None,
            ledger_transaction_id=ledger_transaction_id,
            at=at,
        )
    )


def list_coupon_usage(
    conn: Connection, coupon_id: str, *, limit: int, offset: int
) -> tuple[list[CouponUsage], int]:
    c = coupon_usage.c
    query = select(coupon_usage).where(c.coupon_id == coupon_id)
    rows, total = _page(conn, query, (c.id.desc(),), limit, offset)
    return [
        CouponUsage(
            id=r.id,
            coupon_id=r.coupon_id,
            kind=CouponUsageKind(r.kind),
            amount_units=r.amount_units,
            settlement_id=r.settlement_id,
            ledger_transaction_id=r.ledger_transaction_id,
            at=r.at,
        )
        for r in rows
    ], total


def coupon_balance_total(conn: Connection, customer_id: str) -> int:
    """Sum of a customer's coupon balances: what the COUPON ledger account must hold."""
    return conn.execute(
        select(func.coalesce(func.sum(cash_coupon.c.balance_units), 0)).where(
            cash_coupon.c.customer_id == customer_id
        )
    ).scalar_one()


def take_coupon_balance(conn: Connection, coupon_id: str, units: int) -> bool:
    """Take `units` off an active coupon's balance (used up at zero); False, and nothing
    changed, if the coupon is no longer active or holds less (a concurrent use won)."""
    c = cash_coupon.c
    result = conn.execute(
        update(cash_coupon)
        .where(c.id == coupon_id, c.status == str(CouponStatus.ACTIVE), c.balance_units >= units)
        .values(
            balance_units=c.balance_units - units,
            status=case(
                (c.balance_units == units, str(CouponStatus.USED_UP)),
                else_=str(CouponStatus.ACTIVE),
            ),
        )
    )
    return result.rowcount == 1
