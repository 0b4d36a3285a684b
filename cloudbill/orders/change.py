"""Specification changes of yearly/monthly resources: an upgrade pays the difference for the
remaining term, a downgrade gives it back."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from ..catalog import service as catalog_service
from ..customers import rules as customer_rules
from ..customers import service as customers
from ..expenditure import repo as expenditure_repo
from ..kernel.currency import currency_digits
from ..kernel.errors import CloudbillError, ErrorCode
from ..ledger.rules import payload_hash
from ..resources.model import ResourceStatus
from . import effects, records, repo, rules
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
from .model import Order, OrderSource, OrderStatus, OrderType
from .pricing import discount_holder, period_quote
from .refunds import computed, give_back, split_by_sources
from .remaining import remaining_share


def create_change(
    conn: Connection,
    customer_id: str,
    resource_id: str,
    *,
    new_spec: object,
    reference: object = None,
    source: OrderSource = OrderSource.CUSTOMER,
    terms: Terms,
    now: datetime,
) -> Order:
    """Change the spec of a yearly/monthly resource for the rest of what was paid for.

    The difference is pro rata: for every paid period still to run, (new spec's price - current
    spec's price) for that period x the share of it remaining, by Huawei's calendar rule
    (`remaining.remaining_share`: calendar-month day fractions, or days over 365). An
    upgrade makes an order to pay; a downgrade is applied at once and refunds the difference
    the way the money came."""
    reference = reference_of(reference)
    customer = customers.get(conn, customer_id, lock=True)
    if not isinstance(new_spec, str) or not new_spec:
        raise bad("name the new spec")
    digest = payload_hash({"type": "change", "resource": resource_id, "spec": new_spec})
    replay = replayed(conn, customer, reference, digest)
    if replay is not None:
        return replay
    customer_rules.check_not_frozen(customer)  # a downgrade refunds: an operation too
    (r,) = own_resources(conn, customer, [resource_id])
    subscription_of(conn, r)
    if r.status is not ResourceStatus.NORMAL or r.expire_at is None or r.expire_at <= now:
        raise CloudbillError(
            ErrorCode.INVALID_STATE, f"resource {r.id} is {r.status}: renew it before a change"
        )
    catalog = catalog_service.active(conn)
    catalog.spec(r.resource_type, new_spec)
    if new_spec == r.spec:
        raise bad(f"resource {r.id} already has spec {new_spec}")
    official = amount = 0
    digits = currency_digits(customer.currency)
    for row in repo.paid_lines(conn, r.id):
        if row.period_unit is None or row.period_start is None:
            continue  # a change line: its period is covered by the lines it changed
        share = remaining_share(
            period_start=row.period_start,
            period_end=row.period_end,
            period_unit=row.period_unit,
            period_count=row.period_count or 1,
            now=now,
            tz_name=customer.timezone,
        )
        if share == 0:
            continue
        quotes = [
            period_quote(
                catalog,
                customer,
                resource_type=r.resource_type,
                spec=spec,
                period_unit=row.period_unit,
                period_count=row.period_count,
                rounding=terms.rounding,
                holder=discount_holder(conn, customer, now),
            )
            for spec in (new_spec, r.spec)
        ]
        new, cur = quotes
        official += rules.scale(
            new.official.units - cur.official.units,
            share.numerator,
            share.denominator,
            digits=digits,
            rounding=terms.rounding,
        )
        amount += rules.scale(
            new.amount.units - cur.amount.units,
            share.numerator,
            share.denominator,
            digits=digits,
            rounding=terms.rounding,
        )
    if amount > 0:
        check_fee_allowed(conn, customer, now)
    line = {
        **line_values(
            1,
            resource_line(r, spec=new_spec, old_spec=r.spec),
            computed(official, amount, customer.currency),
            unit=None,
            count=None,
        ),
    }
    if amount > 0:
        order_id = store(
            conn,
            customer,
            OrderType.CHANGE,
            [line],
            source=source,
            reference=reference,
            digest=digest,
            terms=terms,
            now=now,
        )
        return get(conn, order_id)
    # A downgrade (or no difference): applied now, the difference given back.
    order_id = store(
        conn,
        customer,
        OrderType.CHANGE,
        [line],
        source=source,
        reference=reference,
        digest=digest,
        terms=terms,
        now=now,
        status=OrderStatus.REFUNDED if amount < 0 else OrderStatus.PAID,
    )
    moved = give_back(
        conn, customer, order_id, split_by_sources(conn, customer, {r.id: -amount}), now=now
    )
    repo.update_order(conn, order_id, paid_at=now, closed_at=now)
    order = get(conn, order_id)
    effects.apply(conn, order, customer, now=now)
    order = get(conn, order_id)
    expenditure_repo.insert_expenditures(conn, records.payment_records(order, credit_to_cash=moved))
    return order
