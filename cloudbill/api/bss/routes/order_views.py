"""cloudbill orders in the shapes of Huawei's order models (CustomerOrderV2/V3,
OrderLineItemEntityV2, AmountInfomationV2, OrderRefundInfoV2) and their enums."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ....catalog.index import CatalogIndex
from ....customers.model import Customer
from ....orders.model import Order, OrderLine, OrderSource, OrderStatus, OrderType
from .common import (
    MONEY_MEASURE_ID,
    amount,
    resource_type_name,
    service_name,
    service_type_code,
    utc_text,
)

# Huawei order status: 1 pending approval, 2 pending refund, 3 processing, 4 cancelled,
# 5 completed, 6 pending payment, 9 to be confirmed, 10-13 logistics.
HUAWEI_STATUSES = frozenset({1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 13})
STATUS_CODE = {
    OrderStatus.PENDING_PAYMENT: 6,
    OrderStatus.PAID: 5,
    OrderStatus.REFUNDED: 5,  # an unsubscription or a downgrade, done and refunded
    OrderStatus.CANCELLED: 4,
    OrderStatus.EXPIRED: 4,  # not paid by its deadline: cancelled by itself
}
# Huawei order type: 1 new, 2 renewal, 3 change, 4 unsubscription, 10 yearly/monthly to
# pay-per-use, 11 pay-per-use to yearly/monthly, 13 trial, 14 trial to commercial, 15 fee
# adjustment. cloudbill switches to pay-per-use at expiry by policy, without an order.
HUAWEI_TYPES = frozenset({"1", "2", "3", "4", "10", "11", "13", "14", "15"})
TYPE_CODE = {
    OrderType.NEW: 1,
    OrderType.RENEWAL: 2,
    OrderType.CHANGE: 3,
    OrderType.UNSUBSCRIPTION: 4,
    OrderType.CONVERSION: 11,
}
# Huawei source type: 1 customer, 2 agent (placed on the customer's behalf), 8 created by the
# system. The operator orders on the customer's behalf; auto-renewal is the system's.
SOURCE_CODE = {OrderSource.CUSTOMER: 1, OrderSource.OPERATOR: 2, OrderSource.AUTO_RENEW: 8}
PERIOD_TYPE = {"day": 0, "month": 2, "year": 3}  # Huawei period types of an order line
# cloudbill's catalog discounts are the provider's price rules: Huawei's promotion discount,
# 700 among an order's fee items and 0 among the discounts a payment may choose.
PROMOTION_FEE_ITEM, PROMOTION_DISCOUNT = "700", 0


def statuses_of(code: int) -> frozenset[OrderStatus]:
    """cloudbill statuses shown as one Huawei status code (none for most codes)."""
    return frozenset(s for s, c in STATUS_CODE.items() if c == code)


def types_of(code: str) -> frozenset[OrderType]:
    return frozenset(t for t, c in TYPE_CODE.items() if str(c) == code)


def _amount_info(
    cur: str,
    *,
    discount: int,
    coupon: int,
    fee: int | None,
    used: int | None,
) -> dict[str, Any]:
    return {
        "discounts": (
            [{"discount_type": PROMOTION_FEE_ITEM, "discount_amount": amount(discount, cur)}]
            if discount
            else []
        ),
        "coupon_amount": amount(coupon, cur),
        "flexipurchase_coupon_amount": None,  # cloudbill has cash coupons only
        "stored_card_amount": None,
        "commission_amount": None if fee is None else amount(fee, cur),
        "consumed_amount": None if used is None else amount(used, cur),
    }


def _user_name(order: Order, customer: Customer) -> str:
    if order.source is OrderSource.CUSTOMER:
        return customer.name
    return "operator" if order.source is OrderSource.OPERATOR else "system"


def order_info(order: Order, customer: Customer, index: CatalogIndex) -> dict[str, Any]:
    """CustomerOrderV2, and with the V3 fields (user name, payment deadline) too."""
    cur = order.currency
    service = order.lines[0].service if order.lines else None
    unsubscription = order.order_type is OrderType.UNSUBSCRIPTION
    used = sum(line.used_units or 0 for line in order.lines)
    return {
        "order_id": order.id,
        "customer_id": order.customer_id,
        "service_type_code": service and service_type_code(index, service),
        "service_type_name": service and service_name(index, service),
        "source_type": SOURCE_CODE[order.source],
        "status": STATUS_CODE[order.status],
        "order_type": TYPE_CODE[order.order_type],
        "amount_after_discount": amount(order.amount_units, cur),
        "official_amount": amount(order.official_units, cur),
        "measure_id": MONEY_MEASURE_ID,
        "create_time": utc_text(order.created_at),
        "payment_time": utc_text(order.paid_at),
        "currency": cur,
        "contract_id": None,
        "amount_info": _amount_info(
            cur,
            discount=order.discount_units,
            coupon=order.coupon_units,
            fee=order.fee_units if unsubscription else None,
            used=used if unsubscription else None,
        ),
        "enterprise_projects": [],
        "sub_order_infos": [],  # cloudbill has no combined-transaction orders
        "agent_pay_info": None,
        "user_name": _user_name(order, customer),
        "pending_payment_end_time": utc_text(order.payment_deadline)
        if order.status is OrderStatus.PENDING_PAYMENT
        else None,
    }


def line_item_id(order: Order, line: OrderLine) -> str:
    return f"{order.id}-{line.line_no}"


def _product(line: OrderLine, index: CatalogIndex) -> dict[str, Any]:
    spec = index.specs.get((line.resource_type, line.spec))
    return {
        "product_id": f"{line.resource_type}:{line.spec}",
        "product_spec_desc": spec.spec.name if spec else None,
        "category_code": None,
        "product_owner_service": service_type_code(index, line.service),
        "commercial_resource": line.resource_type,
    }


def line_item(order: Order, line: OrderLine, index: CatalogIndex) -> dict[str, Any]:
    cur = order.currency
    product = _product(line, index)
    return {
        "order_line_item_id": line_item_id(order, line),
        "service_type_code": service_type_code(index, line.service),
        "service_type_name": service_name(index, line.service),
        **product,
        "period_type": PERIOD_TYPE.get(line.period_unit or ""),
        "period_num": line.period_count,
        "effective_time": utc_text(line.period_start),
        "expire_time": utc_text(line.period_end),
        "subscription_num": 1,  # one resource a line
        "amount_after_discount": amount(line.amount_units, cur),
        "official_amount": amount(line.official_units, cur),
        "amount_info": _amount_info(
            cur,
            discount=line.discount_units,
            coupon=line.coupon_units,
            fee=line.fee_units,
            used=line.used_units,
        ),
        "currency": cur,
        "base_product_info": product,
        "order_id": order.id,
    }


def refund_parts(
    order: Order, line: OrderLine, base_orders: list[str], index: CatalogIndex
) -> list[dict[str, Any]]:
    """OrderRefundInfoV2 rows of one refunded line: the refund (negative), and what was kept
    as used and as the handling fee (positive). cloudbill refunds a resource over all the
    orders that paid for it at once, so the base order is named only when there was one."""
    cur = order.currency
    parts = [("refund", line.amount_units), ("used", line.used_units), ("fee", line.fee_units)]
    common = {
        "measure_id": str(MONEY_MEASURE_ID),
        "customer_id": order.customer_id,
        "resource_type_code": line.resource_type,
        "service_type_code": service_type_code(index, line.service),
        "resource_type_name": resource_type_name(index, line.resource_type),
        "service_type_name": service_name(index, line.service),
        "region_code": line.region,
        "base_order_id": base_orders[0] if len(base_orders) == 1 else None,
    }
    return [
        {"id": f"{line_item_id(order, line)}-{kind}", "amount": amount(units, cur), **common}
        for kind, units in parts
        if units
    ]


def discount_ratio(percent: Decimal) -> Decimal:
    """Huawei's discount ratio is the share paid: 10% off is 0.9."""
    return (1 - percent / 100).normalize()
