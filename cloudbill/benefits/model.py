"""Benefit data: resource packages (prepaid quantity) and cash coupons (prepaid money).

Package quantities are integer counts of 10**-10 of the package's unit (`*_e10`), the same
scale as usage converted to a pricing unit; coupon amounts are 10**-8 currency units.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ..catalog.model import BillingMode
from ..kernel.periods import Period
from ..kernel.resets import ResetKind

QUANTITY_PLACES = 10
QUANTITY_SCALE = 10**QUANTITY_PLACES


class PackageSource(StrEnum):
    GRANTED = "granted"  # given by the operator
    PURCHASED = "purchased"  # bought through an order


class PackageState(StrEnum):
    """Derived from the validity window at an instant; never stored."""

    PENDING = "pending"  # not valid yet
    ACTIVE = "active"
    EXPIRED = "expired"


class CouponStatus(StrEnum):
    ACTIVE = "active"
    USED_UP = "used_up"
    EXPIRED = "expired"
    REVOKED = "revoked"


class CouponUsageKind(StrEnum):
    ISSUED = "issued"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"
    REFUNDED = "refunded"
    ALLOCATED = "allocated"  # moved to another account (an enterprise allocation or recall)


# The billing modes a coupon may be limited to.
COUPON_BILLING_MODES = tuple(str(mode) for mode in BillingMode)


@dataclass(frozen=True, slots=True)
class ResourcePackage:
    id: str
    customer_id: str
    name: str
    usage_type: str
    pricing_unit: str  # the unit the quantity was granted in
    quantity_e10: int  # per period: per reset period when it resets
    service: str | None  # scope; None = any
    resource_type: str | None
    spec: str | None
    region: str | None
    reset_kind: ResetKind
    reset_hour: int | None  # the customer's local hour of a daily reset
    valid_from: datetime
    valid_to: datetime
    source: PackageSource
    reference: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PackageGrant:
    """A grant request after validation: what is compared when a reference is reused."""

    customer_id: str
    name: str
    usage_type: str
    unit: str
    quantity_e10: int
    service: str | None
    resource_type: str | None
    spec: str | None
    region: str | None
    reset_kind: ResetKind
    reset_hour: int | None
    valid_from: datetime
    valid_to: datetime


@dataclass(frozen=True, slots=True)
class PackageBalance:
    """A package seen at an instant: the period that instant falls in and what is left of it."""

    package: ResourcePackage
    state: PackageState
    period_key: datetime  # package_period.period_start
    period: Period  # the usable window: the period clipped to the validity
    used_e10: int
    remaining_e10: int


@dataclass(frozen=True, slots=True)
class PackageUsage:
    id: int
    package_id: str
    period_start: datetime
    settlement_id: int
    resource_id: str
    hour_start: datetime
    quantity_e10: int


@dataclass(frozen=True, slots=True)
class CashCoupon:
    id: str
    customer_id: str
    name: str
    currency: str
    face_value_units: int
    balance_units: int
    min_spend_units: int
    services: tuple[str, ...] | None  # None = every service
    billing_modes: tuple[str, ...] | None  # None = both
    valid_from: datetime
    valid_to: datetime
    status: CouponStatus
    reference: str
    issued_at: datetime


@dataclass(frozen=True, slots=True)
class CouponUsage:
    id: int
    coupon_id: str
    kind: CouponUsageKind
    amount_units: int
    settlement_id: int | None
    ledger_transaction_id: int | None
    at: datetime
