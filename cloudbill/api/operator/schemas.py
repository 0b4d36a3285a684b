"""Request bodies of the operator API. Amounts: decimal strings (integers accepted, floats not)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

Amount = Annotated[
    Any,
    Field(
        description='exact decimal amount as a string, e.g. "100.00" (floats are refused)',
        json_schema_extra={"type": "string", "pattern": r"^[+-]?\d+(\.\d+)?$"},
    ),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CustomerCreate(_Body):
    name: str = Field(max_length=128)
    currency: str = Field(max_length=3, examples=["USD"])
    email: str | None = Field(None, max_length=254)
    mobile: str | None = Field(None, max_length=32)
    payment_mode: str = Field("prepaid", examples=["prepaid", "postpaid"])
    credit_limit: Amount = "0"
    level: int = Field(1, ge=1, le=10, strict=True)
    timezone: str = Field("UTC", max_length=64, examples=["Asia/Shanghai"])


class CustomerUpdate(_Body):
    name: str | None = Field(None, max_length=128)
    email: str | None = Field(None, max_length=254)
    mobile: str | None = Field(None, max_length=32)
    payment_mode: str | None = None
    credit_limit: Amount = None
    level: int | None = Field(None, ge=1, le=10, strict=True)
    timezone: str | None = Field(None, max_length=64)


class MoneyMovement(_Body):
    amount: Amount
    reference: str = Field(
        min_length=1, max_length=128, description="the payment's external id: the idempotency key"
    )
    description: str | None = Field(None, max_length=512)


class Reason(_Body):
    reason: str = Field("operator action", min_length=1, max_length=256)


class SpecChange(_Body):
    spec: str = Field(min_length=1, max_length=128, examples=["s6.large.2"])


class ResourceCreate(_Body):
    customer_id: str = Field(max_length=32)
    resource_type: str = Field(max_length=128)
    spec: str = Field(max_length=128)
    billing_mode: str = Field("pay_per_use", examples=["pay_per_use", "yearly_monthly"])
    region: str = Field(max_length=64, examples=["ap-southeast-1"])
    name: str = Field(max_length=128)
    id: str | None = Field(None, max_length=128, description="the provider's own resource id")
    parent_id: str | None = Field(None, max_length=128)
    expire_at: datetime | None = Field(None, description="yearly/monthly resources only")
    created_at: datetime | None = Field(
        None,
        description="pay-per-use: when the resource was created, if before now (at most the "
        "usage horizon ago); usage dated earlier is refused. Default: now",
    )


class PayPerUseQuery(_Body):
    """What a price inquiry asks; a customer asks on their own terms (currency, discounts)."""

    resource_type: str
    spec: str
    usage_type: str = "duration"
    quantity: Amount = "1"
    unit: str | None = None


class PayPerUseInquiry(PayPerUseQuery):
    currency: str = "USD"
    customer_id: str | None = None


class PeriodQuery(_Body):
    resource_type: str
    spec: str
    period_unit: str = Field("month", examples=["month", "year"])
    period_count: int = Field(1, strict=True)
    subscriptions: int = Field(1, strict=True)


class PeriodInquiry(PeriodQuery):
    currency: str = "USD"
    customer_id: str | None = None


class ClockAdvance(_Body):
    days: int = Field(0, ge=0, le=3660, strict=True)
    hours: int = Field(0, ge=0, le=87840, strict=True)
    minutes: int = Field(0, ge=0, le=5_270_400, strict=True)
    seconds: int = Field(0, ge=0, le=316_224_000, strict=True)


class ClockSimulate(_Body):
    at: datetime | None = None


class Adjustment(_Body):
    amount: Amount
    direction: str = Field(examples=["charge", "credit"])
    reason: str = Field(min_length=1, max_length=512)
    reference: str = Field(min_length=1, max_length=128, description="idempotency key")
    resource_id: str | None = Field(
        None, min_length=1, max_length=128, description="the resource it is for (bills show it)"
    )
    service: str | None = Field(
        None, min_length=1, max_length=64, description="the service it is for, if no resource"
    )
    billing_mode: str | None = Field(None, examples=["pay_per_use", "yearly_monthly"])
