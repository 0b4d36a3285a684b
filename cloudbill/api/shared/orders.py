"""Orders and subscriptions of one customer: bodies and handlers both APIs call."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ...bootstrap import Container
from ...kernel.errors import CloudbillError, ErrorCode
from ...kernel.limits import ORDERS_PAID_TOGETHER_MAX, REFERENCE_MAX_CHARS
from ...orders import service
from ...orders.model import OrderSource
from ...orders.service import NewItem, Terms
from ...orders.views import order_view, subscription_view
from ...subscriptions import service as subscriptions
from ..operator.schemas import _Body

Reference = Field(
    None, max_length=REFERENCE_MAX_CHARS, description="idempotency key (Huawei's trans_id)"
)


class OrderItem(_Body):
    resource_type: str = Field(max_length=128, examples=["hws.resource.type.vm"])
    spec: str = Field(max_length=128, examples=["s6.small.1"])
    region: str = Field(max_length=64, examples=["ap-southeast-1"])
    name: str = Field(max_length=128)
    period_unit: str = Field(examples=["month", "year"])
    period_count: int = Field(strict=True, description="1-9 months or 1-3 years")
    quantity: int = Field(1, strict=True, ge=1, le=100)


class NewOrder(_Body):
    items: list[OrderItem] = Field(min_length=1, max_length=100)
    auto_renew: bool = False
    expire_policy: str | None = Field(
        None, examples=["grace_then_release", "to_pay_per_use", "release"]
    )
    reference: str | None = Reference


class RenewalOrder(_Body):
    resource_ids: list[str] = Field(min_length=1, max_length=100)
    period_unit: str | None = None
    period_count: int | None = Field(None, strict=True)
    unified_day: int | None = Field(
        None, strict=True, description="renew each resource to its next such day of the month"
    )
    reference: str | None = Reference


class ChangeOrder(_Body):
    resource_id: str = Field(max_length=128)
    new_spec: str = Field(max_length=128)
    reference: str | None = Reference


class ConversionOrder(_Body):
    resource_id: str = Field(max_length=128)
    period_unit: str
    period_count: int = Field(strict=True)
    reference: str | None = Reference


class Unsubscription(_Body):
    resource_ids: list[str] = Field(min_length=1, max_length=100)
    then: Literal["release", "to_pay_per_use"] = Field(
        "release",
        description="release: the resources are released now; to_pay_per_use: they keep "
        "running, billed by the hour from now on (the change to pay-per-use at once)",
    )
    renewals_only: bool = Field(
        False,
        strict=True,
        description="give back only the renewal periods not begun (whole, coupons included, "
        "no fee); the resource keeps the periods it is in",
    )
    reference: str | None = Reference


class Payment(_Body):
    coupon_ids: list[str] = Field(default_factory=list, max_length=100)
    reference: str | None = Reference


class PaymentTogether(Payment):
    order_ids: list[str] = Field(min_length=1, max_length=ORDERS_PAID_TOGETHER_MAX)


class Cancel(_Body):
    reason: str | None = Field(None, max_length=256)


class AutoRenew(_Body):
    enabled: bool
    period_unit: str | None = None
    period_count: int | None = Field(None, strict=True)


class ExpirePolicy(_Body):
    policy: str = Field(examples=["grace_then_release", "to_pay_per_use", "release"])


def order_terms(c: Container) -> Terms:
    """The operator's order settings (payment window, refunds, rounding)."""
    return Terms.from_settings(c.settings)


def create_new(c: Container, customer_id: str, body: NewOrder, source: OrderSource) -> Any:
    items = [NewItem(**i.model_dump()) for i in body.items]
    order = c.write(
        lambda conn, now: service.create_new(
            conn,
            customer_id,
            items,
            auto_renew=body.auto_renew,
            expire_policy=body.expire_policy,
            reference=body.reference,
            source=source,
            terms=order_terms(c),
            now=now,
        )
    )
    return order_view(order)


def create_renewal(c: Container, customer_id: str, body: RenewalOrder, source: OrderSource) -> Any:
    order = c.write(
        lambda conn, now: service.create_renewal(
            conn,
            customer_id,
            body.resource_ids,
            period_unit=body.period_unit,
            period_count=body.period_count,
            unified_day=body.unified_day,
            reference=body.reference,
            source=source,
            terms=order_terms(c),
            now=now,
        )
    )
    return order_view(order)


def create_change(c: Container, customer_id: str, body: ChangeOrder, source: OrderSource) -> Any:
    order = c.write(
        lambda conn, now: service.create_change(
            conn,
            customer_id,
            body.resource_id,
            new_spec=body.new_spec,
            reference=body.reference,
            source=source,
            terms=order_terms(c),
            now=now,
        )
    )
    return order_view(order)


def create_conversion(
    c: Container, customer_id: str, body: ConversionOrder, source: OrderSource
) -> Any:
    order = c.write(
        lambda conn, now: service.create_conversion(
            conn,
            customer_id,
            body.resource_id,
            period_unit=body.period_unit,
            period_count=body.period_count,
            reference=body.reference,
            source=source,
            terms=order_terms(c),
            now=now,
        )
    )
    return order_view(order)


def unsubscribe(c: Container, customer_id: str, body: Unsubscription, source: OrderSource) -> Any:
    if body.renewals_only and body.then != "release":
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, "renewals_only keeps the resource: give no `then`"
        )
    if body.renewals_only:
        order = c.write(
            lambda conn, now: service.unsubscribe_renewals(
                conn, customer_id, body.resource_ids, reference=body.reference, source=source,
                terms=order_terms(c), now=now,
            )
        )  # fmt: skip
        return order_view(order)
    order = c.write(
        lambda conn, now: service.unsubscribe(
            conn,
            customer_id,
            body.resource_ids,
            reference=body.reference,
            source=source,
            then=body.then,
            terms=order_terms(c),
            now=now,
        )
    )
    return order_view(order)


def list_orders(
    c: Container,
    customer_id: str,
    *,
    status: str | None,
    order_type: str | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    rows, total = c.read(
        lambda conn, _now: service.list_orders(
            conn, customer_id, status=status, order_type=order_type, limit=limit, offset=offset
        )
    )
    return {"total": total, "items": [order_view(o) for o in rows]}


def show(c: Container, customer_id: str, order_id: str) -> Any:
    return order_view(
        c.read(lambda conn, _now: service.get(conn, order_id, customer_id=customer_id))
    )


def pay(c: Container, customer_id: str, order_id: str, body: Payment) -> Any:
    order = c.write(
        lambda conn, now: service.pay(
            conn,
            customer_id,
            order_id,
            coupon_ids=body.coupon_ids,
            reference=body.reference,
            coupons_max=c.settings.coupons_per_payment,
            now=now,
        )
    )
    return order_view(order)


def pay_together(c: Container, customer_id: str, body: PaymentTogether) -> Any:
    paid = c.write(
        lambda conn, now: service.pay_together(
            conn,
            customer_id,
            body.order_ids,
            coupon_ids=body.coupon_ids,
            reference=body.reference,
            coupons_max=c.settings.coupons_per_payment,
            now=now,
        )
    )
    return {"items": [order_view(o) for o in paid]}


def cancel(c: Container, customer_id: str, order_id: str, body: Cancel) -> Any:
    order = c.write(
        lambda conn, now: service.cancel(conn, customer_id, order_id, reason=body.reason, now=now)
    )
    return order_view(order)


def renewals(
    c: Container,
    customer_id: str,
    *,
    view: str,
    within_days: int,
    limit: int,
    offset: int,
    mode: str | None = None,
) -> dict[str, Any]:
    return c.read(
        lambda conn, now: subscriptions.renewals(
            conn,
            customer_id,
            view=view,
            within_days=within_days,
            limit=limit,
            offset=offset,
            mode=mode,
            now=now,
        )
    )


def show_subscription(c: Container, customer_id: str, resource_id: str) -> Any:
    sub = c.read(lambda conn, _now: subscriptions.get(conn, resource_id, customer_id=customer_id))
    return subscription_view(sub)


def set_auto_renew(c: Container, customer_id: str, resource_id: str, body: AutoRenew) -> Any:
    sub = c.write(
        lambda conn, now: subscriptions.set_auto_renew(
            conn,
            customer_id,
            resource_id,
            enabled=body.enabled,
            period_unit=body.period_unit,
            period_count=body.period_count,
            now=now,
        )
    )
    return subscription_view(sub)


def set_expire_policy(c: Container, customer_id: str, resource_id: str, body: ExpirePolicy) -> Any:
    sub = c.write(
        lambda conn, now: subscriptions.set_expire_policy(
            conn, customer_id, resource_id, policy=body.policy, now=now
        )
    )
    return subscription_view(sub)
