"""Renewing yearly/monthly resources for a period, or to a unified expiry day."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ..catalog import service as catalog_service
from ..customers import service as customers
from ..kernel.errors import CloudbillError, ErrorCode
from ..ledger.rules import payload_hash
from ..subscriptions import repo as sub_repo
from ..subscriptions import rules as sub_rules
from .drafting import (
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
    subscription_of,
)
from .model import Order, OrderSource, OrderType
from .pricing import DAY_UNIT, discount_holder, period_quote


def create_renewal(
    conn: Connection,
    customer_id: str,
    resource_ids: list[str],
    *,
    period_unit: object = None,
    period_count: object = None,
    unified_day: object = None,
    reference: object = None,
    source: OrderSource = OrderSource.CUSTOMER,
    terms: Terms,
    now: datetime,
) -> Order:
    """Renew yearly/monthly resources for a period, or up to a unified expiry day of the month
    (each resource renewed by the days to its next such date). Resources in grace or retention
    renew from their old expiry: those days are not given back."""
    reference = reference_of(reference)
    customer = customers.get(conn, customer_id, lock=True)
    unified = unified_day is not None
    if unified and (period_unit is not None or period_count is not None):
        raise bad("renew for a period or to a unified expiry day, not both")
    if not unified:
        unit, count = sub_rules.check_period(period_unit, period_count)
    request = {
        "resources": resource_ids,
        "unit": period_unit,
        "count": period_count,
        "unified_day": unified_day,
    }
    digest = payload_hash({"type": "renewal", **request})
    replay = replayed(conn, customer, reference, digest)
    if replay is not None:
        return replay
    check_fee_allowed(conn, customer, now)
    found = own_resources(conn, customer, resource_ids)
    catalog = catalog_service.active(conn)
    # A period renewal runs on to the customer's unified expiry day (SetResourcesRenewConfig
    # EXPIRE_DATE), the extra days a line of their own at the daily price.
    extend_to = None if unified else sub_repo.unified_expiry_day(conn, customer.id)
    lines: list[dict[str, Any]] = []

    def add_line(r, unit: str, count: int) -> None:  # type: ignore[no-untyped-def]
        quote = period_quote(
            catalog,
            customer,
            resource_type=r.resource_type,
            spec=r.spec,
            period_unit=unit,
            period_count=count,
            rounding=terms.rounding,
            holder=discount_holder(conn, customer, now),
        )
        lines.append(line_values(len(lines) + 1, resource_line(r), quote, unit=unit, count=count))

    for r in found:
        sub, extra_days = subscription_of(conn, r), 0
        if unified:
            current = sub_rules.expiry_day(sub.anchor_date, sub.months)
            target = sub_rules.unified_day(current, unified_day)  # type: ignore[arg-type]
            days = (target - current).days
            if days == 0:
                continue  # already expires on that day
            line_unit, line_count = DAY_UNIT, days
            new_expiry = sub_rules.end_of_day(target, customer.timezone)
        else:
            line_unit, line_count = str(unit), count
            months = sub.months + sub_rules.months_of(unit, count)
            new_expiry = sub_rules.expiry(sub.anchor_date, months, customer.timezone)
            if extend_to is not None:
                period_end = sub_rules.expiry_day(sub.anchor_date, months)
                target = sub_rules.unified_day(period_end, extend_to)
                extra_days = (target - period_end).days
                new_expiry = sub_rules.end_of_day(target, customer.timezone)
        if new_expiry <= now:
            raise CloudbillError(
                ErrorCode.INVALID_STATE,
                f"renewing {r.id} from its old expiry for that period still ends in the past: "
                "choose a longer period",
            )
        add_line(r, line_unit, line_count)
        if extra_days:
            add_line(r, DAY_UNIT, extra_days)
    if not lines:
        raise CloudbillError(
            ErrorCode.INVALID_STATE, "every resource already expires on that day of the month"
        )
    order_id = store(
        conn,
        customer,
        OrderType.RENEWAL,
        lines,
        source=source,
        reference=reference,
        digest=digest,
        terms=terms,
        now=now,
    )
    return get(conn, order_id)
