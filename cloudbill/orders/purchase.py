"""New purchases: yearly/monthly resources bought new, and a pay-per-use resource converted
to yearly/monthly."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from ..catalog import service as catalog_service
from ..catalog.model import BillingMode
from ..customers import service as customers
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.ids import new_id
from ..ledger.rules import payload_hash
from ..resources import rules as resource_rules
from ..resources.model import ResourceInput, ResourceStatus
from ..subscriptions import rules as sub_rules
from .drafting import (
    MAX_LINES,
    NewItem,
    Terms,
    bad,
    check_fee_allowed,
    get,
    line_values,
    own_resources,
    reference_of,
    replayed,
    resource_line,
    store,
)
from .model import Order, OrderSource, OrderType
from .pricing import discount_holder, period_quote


def create_new(
    conn: Connection,
    customer_id: str,
    items: list[NewItem],
    *,
    auto_renew: bool = False,
    expire_policy: str | None = None,
    reference: object = None,
    source: OrderSource = OrderSource.CUSTOMER,
    terms: Terms,
    now: datetime,
) -> Order:
    """A new purchase: one line per resource to be created when the order is paid."""
    reference = reference_of(reference)
    customer = customers.get(conn, customer_id, lock=True)
    if not isinstance(items, list | tuple) or not items:
        raise bad("an order needs at least one item")
    policy = sub_rules.check_policy(expire_policy or sub_rules.ExpirePolicy.GRACE_THEN_RELEASE)
    if not isinstance(auto_renew, bool):
        raise bad("auto_renew must be true or false")
    request = {"items": [asdict(i) for i in items], "auto_renew": auto_renew, "policy": policy}
    digest = payload_hash({"type": "new", **request})
    replay = replayed(conn, customer, reference, digest)
    if replay is not None:
        return replay
    check_fee_allowed(conn, customer, now)
    catalog = catalog_service.active(conn)
    lines: list[dict[str, Any]] = []
    for item in items:
        quantity = item.quantity
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise bad("quantity must be a whole number of at least 1")
        if len(lines) + quantity > MAX_LINES:
            raise bad(f"at most {MAX_LINES} resources in one order")
        unit, count = sub_rules.check_period(item.period_unit, item.period_count)
        probe = ResourceInput(
            customer.id,
            item.resource_type,
            item.spec,
            str(BillingMode.YEARLY_MONTHLY),
            item.region,
            item.name,
            expire_at=now + timedelta(days=1),  # checked here; the real expiry comes when paid
        )
        ref, _mode, data = resource_rules.check_input(probe, catalog, customer.currency, now=now)
        quote = period_quote(
            catalog,
            customer,
            resource_type=ref.resource_type.code,
            spec=ref.spec.code,
            period_unit=str(unit),
            period_count=count,
            rounding=terms.rounding,
            holder=discount_holder(conn, customer, now),
        )
        for _ in range(quantity):
            target = {
                "resource_id": new_id(),
                "service": ref.service.code,
                "resource_type": ref.resource_type.code,
                "spec": ref.spec.code,
                "region": data.region,
                "name": data.name.strip(),
            }
            lines.append(line_values(len(lines) + 1, target, quote, unit=str(unit), count=count))
    order_id = store(
        conn,
        customer,
        OrderType.NEW,
        lines,
        source=source,
        reference=reference,
        digest=digest,
        terms=terms,
        now=now,
        auto_renew=auto_renew,
        expire_policy=str(policy),
    )
    return get(conn, order_id)


def create_conversion(
    conn: Connection,
    customer_id: str,
    resource_id: str,
    *,
    period_unit: object,
    period_count: object,
    reference: object = None,
    source: OrderSource = OrderSource.CUSTOMER,
    terms: Terms,
    now: datetime,
) -> Order:
    """Change a pay-per-use resource to yearly/monthly from the moment the order is paid."""
    reference = reference_of(reference)
    customer = customers.get(conn, customer_id, lock=True)
    unit, count = sub_rules.check_period(period_unit, period_count)
    request = {"resource": resource_id, "unit": str(unit), "count": count}
    digest = payload_hash({"type": "conversion", **request})
    replay = replayed(conn, customer, reference, digest)
    if replay is not None:
        return replay
    check_fee_allowed(conn, customer, now)
    (r,) = own_resources(conn, customer, [resource_id])
    if r.billing_mode is not BillingMode.PAY_PER_USE:
        raise CloudbillError(ErrorCode.INVALID_STATE, f"resource {r.id} is already yearly/monthly")
    if r.status is not ResourceStatus.NORMAL:
        raise CloudbillError(ErrorCode.INVALID_STATE, f"resource {r.id} is {r.status}")
    catalog = catalog_service.active(conn)
    ref = catalog.spec(r.resource_type, r.spec)
    if BillingMode.YEARLY_MONTHLY not in ref.resource_type.billing_modes:
        raise CloudbillError(
            ErrorCode.INVALID_STATE, f"{r.resource_type} is not sold yearly/monthly"
        )
    quote = period_quote(
        catalog,
        customer,
        resource_type=r.resource_type,
        spec=r.spec,
        period_unit=str(unit),
        period_count=count,
        rounding=terms.rounding,
        holder=discount_holder(conn, customer, now),
    )
    lines = [line_values(1, resource_line(r), quote, unit=str(unit), count=count)]
    order_id = store(
        conn,
        customer,
        OrderType.CONVERSION,
        lines,
        source=source,
        reference=reference,
        digest=digest,
        terms=terms,
        now=now,
    )
    return get(conn, order_id)
