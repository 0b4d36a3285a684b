"""The catalog document: what an operator edits in YAML and loads with `cloudbill catalog load`.

Prices are exact decimals. YAML numbers are read as exact decimals too (see loader.py), so
`price: 0.0781` is exactly 0.0781, never a float.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

MAX_UNIT_PRICE_PLACES = 10  # Huawei unit prices carry up to 10 decimals


def _exact(value: Any) -> Any:
    if isinstance(value, (float, bool)):
        raise ValueError("write decimals as text or exact numbers, never as floats")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        return Decimal(value.strip())
    return value


def _price(value: Any) -> Any:
    value = _exact(value)
    if isinstance(value, Decimal):
        if not value.is_finite() or value < 0:
            raise ValueError("a price is a finite number >= 0")
        exponent = value.normalize().as_tuple().exponent
        if isinstance(exponent, int) and -exponent > MAX_UNIT_PRICE_PLACES:
            raise ValueError(f"a price has at most {MAX_UNIT_PRICE_PLACES} decimals")
    return value


ExactDecimal = Annotated[Decimal, BeforeValidator(_exact)]
Price = Annotated[Decimal, BeforeValidator(_price)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Dimension(StrEnum):
    TIME = "time"  # base unit: second
    DATA = "data"  # base unit: byte
    DATA_TIME = "data_time"  # base unit: GB-second (capacity held over time)
    COUNT = "count"  # base unit: one


class BillingMode(StrEnum):
    PAY_PER_USE = "pay_per_use"
    YEARLY_MONTHLY = "yearly_monthly"


class PeriodUnit(StrEnum):
    MONTH = "month"
    YEAR = "year"


class MeasureUnit(_Strict):
    code: str = Field(min_length=1, max_length=32)
    name: str
    dimension: Dimension
    factor: ExactDecimal = Field(gt=0, description="how many base units one of this unit is")
    huawei_measure_id: int | None = None


class UsageType(_Strict):
    code: str = Field(min_length=1, max_length=64)
    name: str
    dimension: Dimension
    huawei_code: str | None = None


class Tier(_Strict):
    up_to: ExactDecimal | None = Field(
        default=None, description="upper bound of the tier in the pricing unit; none = no bound"
    )
    price: Price


class TierMode(StrEnum):
    # Each part of the month's quantity at the price of the tier it falls in.
    GRADUATED = "graduated"
    # The month's whole quantity at the price of the tier the total reached (pricing.py).
    VOLUME = "volume"


class UsagePrice(_Strict):
    """Price of one usage type of one spec: a flat unit price, or tiers."""

    unit: str
    price: Price | None = None
    tiers: tuple[Tier, ...] | None = None
    tier_mode: TierMode = TierMode.GRADUATED

    @model_validator(mode="after")
    def _one_of(self) -> UsagePrice:
        if (self.price is None) == (self.tiers is None):
            raise ValueError("give either price or tiers")
        if self.tiers is None and "tier_mode" in self.model_fields_set:
            raise ValueError("tier_mode applies to tiers only")
        if self.tiers is not None:
            bounds = [t.up_to for t in self.tiers]
            if not bounds or bounds[-1] is not None:
                raise ValueError("the last tier has no up_to")
            finite = [b for b in bounds[:-1]]
            if any(b is None for b in finite) or any(
                a >= b
                for a, b in itertools.pairwise(finite)  # type: ignore[operator]
            ):
                raise ValueError("tier bounds must increase, and only the last tier is open")
        return self

    @model_serializer(mode="wrap")
    def _without_default_mode(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A stored version's checksum is of its dump: catalogs written before tier modes
        # existed must dump as they did, or reloading one would read as changed content.
        data: dict[str, Any] = handler(self)
        if self.tier_mode == TierMode.GRADUATED:
            data.pop("tier_mode", None)
        return data


class SpecPrices(_Strict):
    pay_per_use: dict[str, UsagePrice] = Field(default_factory=dict)
    monthly: Price | None = None


class Spec(_Strict):
    code: str = Field(min_length=1, max_length=128)
    name: str
    prices: dict[str, SpecPrices] = Field(description="currency -> prices")


class ResourceType(_Strict):
    code: str = Field(min_length=1, max_length=128)
    name: str
    usage_types: tuple[str, ...]
    billing_modes: tuple[BillingMode, ...] = (BillingMode.PAY_PER_USE, BillingMode.YEARLY_MONTHLY)
    specs: tuple[Spec, ...]


class Service(_Strict):
    code: str = Field(min_length=1, max_length=64)
    name: str
    huawei_code: str | None = None
    resource_types: tuple[ResourceType, ...]


class Discount(_Strict):
    """A percentage off the official price. Only the best applicable discount applies."""

    id: str
    name: str
    percent: ExactDecimal = Field(gt=0, le=100)
    customer_id: str | None = None
    customer_level: int | None = None
    service: str | None = None
    billing_mode: BillingMode | None = None
    period_unit: PeriodUnit | None = Field(
        default=None, description="year: the yearly-purchase discount"
    )


class ArrearsPolicy(_Strict):
    """Grace and retention days for a service and/or a customer level (most specific wins)."""

    grace_days: int = Field(ge=0, le=365, strict=True)
    retention_days: int = Field(ge=0, le=365, strict=True)
    service: str | None = None
    customer_level: int | None = Field(default=None, ge=1, le=10, strict=True)


def _tax_rate(value: Any) -> Any:
    value = _exact(value)
    if isinstance(value, Decimal):
        exponent = value.normalize().as_tuple().exponent
        if (
            not value.is_finite()
            or not 0 <= value < 1
            or (isinstance(exponent, int) and -exponent > TAX_RATE_MAX_PLACES)
        ):
            raise ValueError(
                f"a tax rate is from 0 to below 1, at most {TAX_RATE_MAX_PLACES} decimals"
            )
    return value


TAX_RATE_MAX_PLACES = 4


class TaxRate(_Strict):
    """The tax rate invoices apply to a currency's money (0.06 = 6%), for a service and/or a
    region, or for the whole currency; the most specific applies (service and region, service,
    region, currency)."""

    currency: str = Field(pattern=r"^[A-Z]{3}$")
    rate: Annotated[Decimal, BeforeValidator(_tax_rate)]
    service: str | None = None
    region: str | None = None


class CatalogDocument(_Strict):
    version: str = Field(min_length=1, max_length=64)
    name: str = ""
    measure_units: tuple[MeasureUnit, ...]
    usage_types: tuple[UsageType, ...]
    services: tuple[Service, ...]
    discounts: tuple[Discount, ...] = ()
    # Unset: 15 days of grace and 15 of retention for everything (the seeds' figures).
    arrears_policies: tuple[ArrearsPolicy, ...] = ()
    # Invoices' tax rates (invoices/); unset: CLOUDBILL_INVOICE_TAX_RATES, else no tax.
    tax_rates: tuple[TaxRate, ...] = ()

    @model_serializer(mode="wrap")
    def _without_empty_taxes(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A stored version's checksum is of its dump: catalogs written before tax rates
        # existed must dump as they did.
        data: dict[str, Any] = handler(self)
        if not self.tax_rates:
            data.pop("tax_rates", None)
        return data
