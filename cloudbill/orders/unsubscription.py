"""Unsubscribing yearly/monthly resources: the refund of the unused term less the handling
fee (period by period, source by source: period_refunds.py), the resources released or
changed to pay-per-use at once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection

from ..catalog.model import PeriodUnit
from ..customers import rules as customer_rules
from ..customers import service as customers
from ..expenditure import repo as expenditure_repo
from ..kernel.currency import currency_digits
from ..kernel.errors import CloudbillError, ErrorCode
from ..ledger.rules import payload_hash
from ..notify.outbox import Event, emit_many
from ..resources import repo as resource_repo
from ..resources.model import ResourceStatus, StatusChange
from ..subscriptions import repo as sub_repo
from ..subscriptions import rules as sub_rules
from . import period_refunds, records, repo, rules
from .drafting import (
    Terms,
    bad,
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
from .refunds import computed, give_back

# What becomes of an unsubscribed resource: released now, or billed by the hour from now on.
RELEASE, TO_PAY_PER_USE = "release", "to_pay_per_use"


def _fee_percent(terms: Terms, paid_lines: list, now: datetime) -> tuple[int, int]:  # type: ignore[type-arg]
    """The handling fee's percentage as a fraction: the operator's one rate, or Huawei's table
    for the term in use now (the latest period bought that has begun; a monthly term's 10%
    when there is none)."""
    if terms.fee_percent is not None:
        return terms.fee_percent.as_integer_ratio()
    begun = [
        row
        for row in paid_lines
        if row.period_start <= now
        and rules.term_months(row.period_unit, row.period_count) is not None
    ]
    if not begun:
        return rules.handling_fee_percent(1, 1), 1
    term = begun[-1]
    months = rules.term_months(term.period_unit, term.period_count) or 1
    year = rules.year_of_use(term.period_start, now, months)
    return rules.handling_fee_percent(months, year), 1


def _paid_lines(conn: Connection, resource_id: str, rows: list) -> list[period_refunds.PaidLine]:  # type: ignore[type-arg]
    """The resource's paid lines with the sources each was paid from (coupon by coupon)."""
    coupons = repo.line_coupon_parts(conn, resource_id)
    out = []
    for row in rows:
        sources = {"cash": row.cash_units, "credit": row.credit_units}
        for coupon_id, units in coupons.get((row.order_id, row.line_no), {}).items():
            sources[f"coupon:{coupon_id}"] = units
        out.append(
            period_refunds.PaidLine(
                key=row.id,
                period_start=row.period_start,
                period_end=row.period_end,
                period_unit=row.period_unit,
                period_count=row.period_count,
                amount_units=row.amount_units,
                sources=sources,
            )
        )
    return out


def unsubscribe(
    conn: Connection,
    customer_id: str,
    resource_ids: list[str],
    *,
    reference: object = None,
    source: OrderSource = OrderSource.CUSTOMER,
    then: object = RELEASE,
    terms: Terms,
    now: datetime,
) -> Order:
    """Unsubscribe yearly/monthly resources with their renewals: each is refunded by
    `period_refunds` (periods in use: cash and credit paid - used in whole hours - the handling
    fee, their coupons kept; periods not begun: everything, coupons included, no fee; within the
    full-refund window after its purchase, everything paid, without a fee), then released now,
    or (`then="to_pay_per_use"`) kept running, billed by the hour from now on: a change from
    yearly/monthly to pay-per-use that takes effect at once instead of at expiry."""
    if then not in (RELEASE, TO_PAY_PER_USE):
        raise bad(f"then: {RELEASE} or {TO_PAY_PER_USE}")
    reference = reference_of(reference)
    customer = customers.get(conn, customer_id, lock=True)
    request = {"type": "unsubscription", "resources": resource_ids}
    digest = payload_hash(request if then == RELEASE else {**request, "then": then})
    replay = replayed(conn, customer, reference, digest)
    if replay is not None:
        return replay
    customer_rules.check_not_frozen(customer)  # a refund is an operation like any other
    found = own_resources(conn, customer, resource_ids)
    if then == TO_PAY_PER_USE:
        # metered from now on: a fee-incurring operation, on a resource still in its term
        customer_rules.check_fee_incurring_allowed(customer, customers.overview(conn, customer))
        for r in found:
            subscription_of(conn, r)
            if r.status is not ResourceStatus.NORMAL or r.expire_at is None or r.expire_at <= now:
                raise CloudbillError(
                    ErrorCode.INVALID_STATE,
                    f"resource {r.id} is {r.status}, expiring {r.expire_at}: only a resource "
                    "in its term changes to pay-per-use at once (else: at expiry)",
                )
    digits = currency_digits(customer.currency)
    lines, refunds, settled = [], {}, []
    for r in found:
        sub = subscription_of(conn, r)
        everything = repo.paid_lines(conn, r.id)
        settled += [row.id for row in everything]
        rows = [row for row in everything if row.period_start and row.period_end]
        numerator, denominator = _fee_percent(terms, rows, now)
        window = timedelta(days=terms.full_refund_days)
        full = bool(window) and sub.first_paid_at is not None and now - sub.first_paid_at <= window
        refund = period_refunds.unsubscription_refund(
            _paid_lines(conn, r.id, rows),
            now=now,
            tz_name=customer.timezone,
            full_refund=full,
            fee_percent_numerator=numerator,
            fee_percent_denominator=denominator,
            digits=digits,
            rounding=terms.rounding,
        )
        line = line_values(
            len(lines) + 1,
            resource_line(r),
            computed(-refund.refund_units, -refund.refund_units, customer.currency),
            unit=None,
            count=None,
        )
        line |= {"used_units": refund.used_units, "fee_units": refund.fee_units}
        lines.append(line)
        refunds[r.id] = dict(refund.parts)
    order_id = store(
        conn,
        customer,
        OrderType.UNSUBSCRIPTION,
        lines,
        source=source,
        reference=reference,
        digest=digest,
        terms=terms,
        now=now,
        status=OrderStatus.REFUNDED,
    )
    repo.update_order(
        conn, order_id, fee_units=sum(x["fee_units"] for x in lines), paid_at=now, closed_at=now
    )
    moved = give_back(conn, customer, order_id, refunds, now=now)
    repo.settle_lines(conn, settled, order_id)
    refunded = {r.id: (now, r.expire_at) for r in found}
    expenditure_repo.insert_expenditures(
        conn, records.unsubscription_records(get(conn, order_id), refunded, credit_to_cash=moved)
    )
    if then == TO_PAY_PER_USE:
        emit_many(conn, [_converted(r, order_id, now) for r in found], now=now)
        for r in found:
            sub_repo.update_subscription(conn, r.id, auto_renew=False, updated_at=now)
            resource_repo.set_billing_mode(conn, r.id, "pay_per_use", at=now)
        return get(conn, order_id)
    events = []
    for r in found:
        sub_repo.update_subscription(conn, r.id, auto_renew=False, updated_at=now)
        resource_repo.set_status(
            conn,
            StatusChange(r.id, r.status, ResourceStatus.RELEASED, now, f"unsubscribed {order_id}"),
        )
        events.append(
            Event(
                "resource.released",
                r.id,
                {
                    "resource_id": r.id,
                    "from": str(r.status),
                    "to": "released",
                    "at": now.isoformat(),
                    "reason": "unsubscribed",
                    "order_id": order_id,
                    "cause": "unsubscription",
                },
                dedupe_key=f"resource.released:{r.id}:{now.isoformat()}",
            )
        )
    emit_many(conn, events, now=now)
    return get(conn, order_id)


def _converted(r, order_id: str, now: datetime) -> Event:  # type: ignore[no-untyped-def]
    return Event(
        "resource.converted",
        r.id,
        {
            "resource_id": r.id,
            "billing_mode": "pay_per_use",
            "at": now.isoformat(),
            "order_id": order_id,
            "cause": "unsubscription",
            "old_expire_at": r.expire_at.isoformat(),
        },
        dedupe_key=f"resource.converted:{r.id}:{now.isoformat()}",
    )


def unsubscribe_renewals(
    conn: Connection,
    customer_id: str,
    resource_ids: list[str],
    *,
    reference: object = None,
    source: OrderSource = OrderSource.CUSTOMER,
    terms: Terms,
    now: datetime,
) -> Order:
    """Give back only the renewal periods not begun (BSS `unsubscribe_type` 2): refunded whole,
    coupons included, no fee (Huawei: renewal periods are charged no handling fee and their
    cash coupons are returned); the resource keeps the periods it is in and expires at the end
    of the last of them. Refused where a spec change reached those periods (its money is spread
    over them and the period in use: unsubscribe the whole resource instead)."""
    reference = reference_of(reference)
    customer = customers.get(conn, customer_id, lock=True)
    digest = payload_hash({"type": "unsubscription", "resources": resource_ids, "renewals": 1})
    replay = replayed(conn, customer, reference, digest)
    if replay is not None:
        return replay
    customer_rules.check_not_frozen(customer)
    found = own_resources(conn, customer, resource_ids)
    digits = currency_digits(customer.currency)
    lines, refunds, settled, spans, anchors = [], {}, [], {}, {}
    for r in found:
        subscription_of(conn, r)
        rows = [
            row
            for row in repo.paid_lines(conn, r.id)
            if row.period_start is not None and row.period_end is not None
        ]
        periods = [row for row in rows if row.period_unit is not None]
        ahead = [row for row in periods if row.period_start > now]
        begun = [row for row in periods if row.period_start <= now]
        if not ahead or not begun:
            raise CloudbillError(
                ErrorCode.INVALID_STATE, f"resource {r.id} has no renewal period not yet begun"
            )
        first_ahead = min(row.period_start for row in ahead)
        if any(row.period_unit is None and row.period_end > first_ahead for row in rows):
            raise CloudbillError(
                ErrorCode.INVALID_STATE,
                f"a spec change of resource {r.id} reached its renewal periods: unsubscribe the "
                "whole resource",
            )
        refund = period_refunds.renewals_refund(
            _paid_lines(conn, r.id, rows), {row.id for row in ahead}, digits=digits
        )
        line = line_values(
            len(lines) + 1,
            resource_line(r),
            computed(-refund.refund_units, -refund.refund_units, customer.currency),
            unit=None,
            count=None,
        )
        lines.append(line | {"used_units": 0, "fee_units": 0})
        refunds[r.id] = dict(refund.parts)
        settled += [row.id for row in ahead]
        spans[r.id] = (max(row.period_end for row in begun), r.expire_at)
        anchors[r.id] = _anchor_without(conn, r.id, ahead, spans[r.id][0], customer.timezone)
    order_id = store(
        conn,
        customer,
        OrderType.UNSUBSCRIPTION,
        lines,
        source=source,
        reference=reference,
        digest=digest,
        terms=terms,
        now=now,
        status=OrderStatus.REFUNDED,
    )
    repo.update_order(conn, order_id, fee_units=0, paid_at=now, closed_at=now)
    moved = give_back(conn, customer, order_id, refunds, now=now)
    repo.settle_lines(conn, settled, order_id)
    expenditure_repo.insert_expenditures(
        conn, records.unsubscription_records(get(conn, order_id), spans, credit_to_cash=moved)
    )
    events = []
    for r in found:
        expiry, old = spans[r.id]
        anchor, months = anchors[r.id]
        sub_repo.update_subscription(  # auto-renew off: it would buy the periods back at once
            conn,
            r.id,
            anchor_date=anchor,
            months=months,
            auto_renew=False,
            reminded_expire_at=None,
            reminded_days=None,
            updated_at=now,
        )
        resource_repo.set_expiry(conn, r.id, expiry)
        told = {
            "resource_id": r.id,
            "order_id": order_id,
            "expire_at": expiry.isoformat(),
            "old_expire_at": old.isoformat() if old else None,
            "at": now.isoformat(),
        }
        key = f"resource.renewals_unsubscribed:{r.id}:{order_id}"
        events.append(Event("resource.renewals_unsubscribed", r.id, told, dedupe_key=key))
    emit_many(conn, events, now=now)
    return get(conn, order_id)


def _anchor_without(conn, resource_id, ahead, expiry, tz_name):  # type: ignore[no-untyped-def]
    """The subscription's (anchor day, months) without the periods given back: the same anchor
    less their months, so that later renewals keep the purchase day (bought Jan 31: Mar 31
    after Feb 28); anchored on the new expiry day itself where that does not land on it (a
    period renewed to a unified day among them)."""
    sub = sub_repo.get(conn, resource_id)
    assert sub is not None
    if all(row.period_unit in ("month", "year") for row in ahead):
        months = sub.months - sum(
            sub_rules.months_of(PeriodUnit(row.period_unit), row.period_count) for row in ahead
        )
        if months >= 0 and sub_rules.expiry(sub.anchor_date, months, tz_name) == expiry:
            return sub.anchor_date, months
    return sub_rules.local_date(expiry - timedelta(microseconds=1), tz_name), 0
