"""Order use cases: create (new purchase, renewal, spec change, conversion), pay, cancel, expire
at the payment deadline, unsubscribe; list and show.

An order's figures are fixed when it is made; paying it is one ledger transaction and applies
it (creates, extends, converts or changes the resource) in the same database transaction.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from ..benefits import coupons as coupon_service
from ..benefits.model import CouponStatus
from ..catalog import service as catalog_service
from ..catalog.model import BillingMode
from ..catalog.pricing import Quote
from ..config import Settings
from ..customers import rules as customer_rules
from ..customers import service as customers
from ..customers.model import Customer
from ..expenditure import repo as expenditure_repo
from ..kernel.currency import currency_digits
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.ids import is_valid_id, new_id
from ..kernel.limits import PAGE_SIZE_DEFAULT, REFERENCE_MAX_CHARS
from ..kernel.money import Money, Rounding
from ..ledger.rules import payload_hash
from ..notify.outbox import Event, emit_many
from ..resources import repo as resource_repo
from ..resources import rules as resource_rules
from ..resources import service as resources
from ..resources.model import Resource, ResourceInput, ResourceStatus, StatusChange
from ..subscriptions import repo as sub_repo
from ..subscriptions import rules as sub_rules
from ..subscriptions.repo import Subscription
from . import effects, payment, records, repo, rules
from .model import FEE_INCURRING, Order, OrderSource, OrderStatus, OrderType
from .pricing import DAY_UNIT, period_quote

MAX_LINES = 100  # resources in one order


@dataclass(frozen=True, slots=True)
class Terms:
    """The operator's order settings."""

    payment_window: timedelta
    full_refund_days: int
    fee_percent: Decimal
    rounding: Rounding

    @classmethod
    def from_settings(cls, settings: Settings) -> Terms:
        return cls(
            timedelta(hours=settings.order_payment_hours),
            settings.full_refund_days,
            settings.unsubscribe_fee_percent,
            settings.bill_rounding,
        )


@dataclass(frozen=True, slots=True)
class NewItem:
    resource_type: str
    spec: str
    region: str
    name: str
    period_unit: str
    period_count: int
    quantity: int = 1


# -- helpers -----------------------------------------------------------------------------------


def _bad(message: str, **details: object) -> CloudbillError:
    return CloudbillError(ErrorCode.INVALID_ARGUMENT, message, **details)


def _order_id(now: datetime) -> str:
    tail = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(6))
    return f"CS{now.strftime('%y%m%d%H%M')}{tail}"


def _reference(reference: object) -> str | None:
    if reference is None:
        return None
    if not isinstance(reference, str) or not reference or len(reference) > REFERENCE_MAX_CHARS:
        raise _bad(f"reference (trans_id) must be 1-{REFERENCE_MAX_CHARS} characters")
    return reference


def get(conn: Connection, order_id: str, *, customer_id: str | None = None) -> Order:
    """An order; with `customer_id`, only that customer's (others' look absent)."""
    found = repo.get(conn, order_id) if is_valid_id(order_id) else None
    if found is None or (customer_id is not None and found.customer_id != customer_id):
        raise CloudbillError(ErrorCode.ORDER_NOT_FOUND, f"no order {order_id!r}")
    return found


def list_orders(
    conn: Connection,
    customer_id: str,
    *,
    status: str | None = None,
    order_type: str | None = None,
    limit: int = PAGE_SIZE_DEFAULT,
    offset: int = 0,
) -> tuple[list[Order], int]:
    customer = customers.get(conn, customer_id)
    customers.check_page(limit, offset)
    try:
        status = str(OrderStatus(status)) if status is not None else None
        order_type = str(OrderType(order_type)) if order_type is not None else None
    except ValueError as exc:
        raise _bad(str(exc)) from None
    return repo.list_orders(
        conn,
        customer_id=customer.id,
        status=status,
        order_type=order_type,
        limit=limit,
        offset=offset,
    )


def _replayed(conn: Connection, customer: Customer, reference: str | None, digest: str):  # type: ignore[no-untyped-def]
    """The order an earlier request with the same reference made, or None."""
    if reference is None:
        return None
    row = repo.by_reference(conn, customer.id, reference)
    if row is None:
        return None
    if row.request_hash != digest:
        raise CloudbillError(
            ErrorCode.IDEMPOTENCY_CONFLICT,
            f"reference {reference!r} was used for another order request",
        )
    return get(conn, row.id)


def _check_fee_allowed(conn: Connection, customer: Customer, now: datetime) -> None:
    customer_rules.check_fee_incurring_allowed(customer, customers.overview(conn, customer, now))


def _own_resources(conn: Connection, customer: Customer, resource_ids: object) -> list[Resource]:
    if not isinstance(resource_ids, list | tuple) or not resource_ids:
        raise _bad("name at least one resource")
    if len(resource_ids) > MAX_LINES:
        raise _bad(f"at most {MAX_LINES} resources in one order")
    if len(set(resource_ids)) != len(resource_ids):
        raise _bad("a resource is named twice")
    found = [resources.get(conn, rid, customer_id=customer.id) for rid in resource_ids]
    pending = repo.pending_for_resources(conn, [r.id for r in found])
    if pending:
        rid, oid = sorted(pending.items())[0]
        raise CloudbillError(
            ErrorCode.INVALID_STATE,
            f"resource {rid} has order {oid} pending payment: pay or cancel it first",
        )
    for r in found:
        if r.status is ResourceStatus.RELEASED:
            raise CloudbillError(ErrorCode.RESOURCE_RELEASED, f"resource {r.id} is released")
    return found


def _line_values(
    line_no: int, r: dict[str, Any], quote: Quote, *, unit: str | None, count: int | None
) -> dict[str, Any]:
    return {
        "line_no": line_no,
        "resource_id": r["resource_id"],
        "service": r["service"],
        "resource_type": r["resource_type"],
        "spec": r["spec"],
        "old_spec": r.get("old_spec"),
        "region": r["region"],
        "name": r["name"],
        "period_unit": unit,
        "period_count": count,
        "official_units": quote.official.units,
        "discount_units": quote.discount.units,
        "amount_units": quote.amount.units,
        "coupon_units": 0,
        "cash_units": 0,
        "credit_units": 0,
        "discount_id": quote.discount_id,
    }


def _store(
    conn: Connection,
    customer: Customer,
    order_type: OrderType,
    lines: list[dict[str, Any]],
    *,
    source: OrderSource,
    reference: str | None,
    digest: str,
    terms: Terms,
    now: datetime,
    status: OrderStatus = OrderStatus.PENDING_PAYMENT,
    **extra: Any,
) -> str:
    order_id = _order_id(now)
    while repo.get(conn, order_id) is not None:  # 36^6 per minute: practically never
        order_id = _order_id(now)
    values = {
        "id": order_id,
        "customer_id": customer.id,
        "order_type": str(order_type),
        "status": str(status),
        "source": str(source),
        "currency": customer.currency,
        "official_units": sum(v["official_units"] for v in lines),
        "discount_units": sum(v["discount_units"] for v in lines),
        "amount_units": sum(v["amount_units"] for v in lines),
        "coupon_units": 0,
        "cash_units": 0,
        "credit_units": 0,
        "fee_units": 0,
        "reference": reference,
        "request_hash": digest,
        "created_at": now,
        "payment_deadline": now + terms.payment_window
        if status is OrderStatus.PENDING_PAYMENT
        else None,
        **extra,
    }
    repo.insert_order(conn, values, lines)
    return order_id


def _resource_line(r: Resource, **extra: Any) -> dict[str, Any]:
    return {
        "resource_id": r.id,
        "service": r.service,
        "resource_type": r.resource_type,
        "spec": r.spec,
        "region": r.region,
        "name": r.name,
        **extra,
    }


# -- creating orders ---------------------------------------------------------------------------


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
    reference = _reference(reference)
    customer = customers.get(conn, customer_id, lock=True)
    if not isinstance(items, list | tuple) or not items:
        raise _bad("an order needs at least one item")
    policy = sub_rules.check_policy(expire_policy or sub_rules.ExpirePolicy.GRACE_THEN_RELEASE)
    if not isinstance(auto_renew, bool):
        raise _bad("auto_renew must be true or false")
    request = {"items": [asdict(i) for i in items], "auto_renew": auto_renew, "policy": policy}
    digest = payload_hash({"type": "new", **request})
    replay = _replayed(conn, customer, reference, digest)
    if replay is not None:
        return replay
    _check_fee_allowed(conn, customer, now)
    catalog = catalog_service.active(conn)
    lines: list[dict[str, Any]] = []
    for item in items:
        quantity = item.quantity
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise _bad("quantity must be a whole number of at least 1")
        if len(lines) + quantity > MAX_LINES:
            raise _bad(f"at most {MAX_LINES} resources in one order")
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
            lines.append(_line_values(len(lines) + 1, target, quote, unit=str(unit), count=count))
    order_id = _store(
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
    reference = _reference(reference)
    customer = customers.get(conn, customer_id, lock=True)
    unified = unified_day is not None
    if unified and (period_unit is not None or period_count is not None):
        raise _bad("renew for a period or to a unified expiry day, not both")
    if not unified:
        unit, count = sub_rules.check_period(period_unit, period_count)
    request = {
        "resources": resource_ids,
        "unit": period_unit,
        "count": period_count,
        "unified_day": unified_day,
    }
    digest = payload_hash({"type": "renewal", **request})
    replay = _replayed(conn, customer, reference, digest)
    if replay is not None:
        return replay
    _check_fee_allowed(conn, customer, now)
    found = _own_resources(conn, customer, resource_ids)
    catalog = catalog_service.active(conn)
    lines: list[dict[str, Any]] = []
    for r in found:
        sub = _subscription_of(conn, r)
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
        if new_expiry <= now:
            raise CloudbillError(
                ErrorCode.INVALID_STATE,
                f"renewing {r.id} from its old expiry for that period still ends in the past: "
                "choose a longer period",
            )
        quote = period_quote(
            catalog,
            customer,
            resource_type=r.resource_type,
            spec=r.spec,
            period_unit=line_unit,
            period_count=line_count,
            rounding=terms.rounding,
        )
        lines.append(
            _line_values(len(lines) + 1, _resource_line(r), quote, unit=line_unit, count=line_count)
        )
    if not lines:
        raise CloudbillError(
            ErrorCode.INVALID_STATE, "every resource already expires on that day of the month"
        )
    order_id = _store(
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


def _subscription_of(conn: Connection, r: Resource) -> Subscription:
    if r.billing_mode is not BillingMode.YEARLY_MONTHLY:
        raise CloudbillError(ErrorCode.INVALID_STATE, f"resource {r.id} is not yearly/monthly")
    sub = sub_repo.get(conn, r.id)
    if sub is None:
        raise CloudbillError(ErrorCode.INVALID_STATE, f"resource {r.id} has no subscription")
    return sub


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
    reference = _reference(reference)
    customer = customers.get(conn, customer_id, lock=True)
    unit, count = sub_rules.check_period(period_unit, period_count)
    request = {"resource": resource_id, "unit": str(unit), "count": count}
    digest = payload_hash({"type": "conversion", **request})
    replay = _replayed(conn, customer, reference, digest)
    if replay is not None:
        return replay
    _check_fee_allowed(conn, customer, now)
    (r,) = _own_resources(conn, customer, [resource_id])
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
    )
    lines = [_line_values(1, _resource_line(r), quote, unit=str(unit), count=count)]
    order_id = _store(
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
    spec's price) for that period x the share of it remaining (from the current hour). An
    upgrade makes an order to pay; a downgrade is applied at once and refunds the difference
    the way the money came."""
    reference = _reference(reference)
    customer = customers.get(conn, customer_id, lock=True)
    if not isinstance(new_spec, str) or not new_spec:
        raise _bad("name the new spec")
    digest = payload_hash({"type": "change", "resource": resource_id, "spec": new_spec})
    replay = _replayed(conn, customer, reference, digest)
    if replay is not None:
        return replay
    customer_rules.check_not_frozen(customer)  # a downgrade refunds: an operation too
    (r,) = _own_resources(conn, customer, [resource_id])
    _subscription_of(conn, r)
    if r.status is not ResourceStatus.NORMAL or r.expire_at is None or r.expire_at <= now:
        raise CloudbillError(
            ErrorCode.INVALID_STATE, f"resource {r.id} is {r.status}: renew it before a change"
        )
    catalog = catalog_service.active(conn)
    catalog.spec(r.resource_type, new_spec)
    if new_spec == r.spec:
        raise _bad(f"resource {r.id} already has spec {new_spec}")
    official = amount = 0
    digits = currency_digits(customer.currency)
    for row in repo.paid_lines(conn, r.id):
        if row.period_unit is None or row.period_start is None:
            continue  # a change line: its period is covered by the lines it changed
        left, total = rules.remaining_fraction(row.period_start, row.period_end, now)
        if left == 0:
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
            )
            for spec in (new_spec, r.spec)
        ]
        new, cur = quotes
        official += rules.scale(
            new.official.units - cur.official.units,
            left,
            total,
            digits=digits,
            rounding=terms.rounding,
        )
        amount += rules.scale(
            new.amount.units - cur.amount.units,
            left,
            total,
            digits=digits,
            rounding=terms.rounding,
        )
    if amount > 0:
        _check_fee_allowed(conn, customer, now)
    line = {
        **_line_values(
            1,
            _resource_line(r, spec=new_spec, old_spec=r.spec),
            _computed(official, amount, customer.currency),
            unit=None,
            count=None,
        ),
    }
    if amount > 0:
        order_id = _store(
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
    order_id = _store(
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
    moved = _give_back(conn, customer, order_id, {r.id: -amount}, now=now)
    repo.update_order(conn, order_id, paid_at=now, closed_at=now)
    order = get(conn, order_id)
    effects.apply(conn, order, customer, now=now)
    order = get(conn, order_id)
    expenditure_repo.insert_expenditures(conn, records.payment_records(order, credit_to_cash=moved))
    return order


def _computed(official: int, amount: int, currency: str) -> Quote:
    """A line's figures computed here (pro rata, refunds) in the shape of a catalog quote."""
    return Quote(
        Money(official, currency), Money(official - amount, currency), Money(amount, currency), None
    )


def _sources(conn: Connection, resource_id: str) -> dict[str, int]:
    """Where the money a resource's orders took came from, net of what was given back:
    'cash', 'credit' and 'coupon:<id>' -> units."""
    rows = repo.paid_lines(conn, resource_id)
    out = {"cash": sum(r.cash_units for r in rows), "credit": sum(r.credit_units for r in rows)}
    coupons = repo.coupon_parts(conn, sorted({r.order_id for r in rows}), resource_id)
    out |= {f"coupon:{cid}": units for cid, units in coupons.items()}
    return out


def _give_back(
    conn: Connection,
    customer: Customer,
    order_id: str,
    refunds: dict[str, int],
    *,
    now: datetime,
) -> int:
    """Refund each resource's amount in proportion to where its money came from; write the
    parts (negative) on the order's lines and the order, and post the refund. Returns how much
    of the credit part came back as cash (the customer had repaid it since)."""
    step = rules.step_units(currency_digits(customer.currency))
    cash = credit = 0
    coupon_back: dict[str, int] = {}
    uses: list[tuple[int, str, int]] = []
    lines = {line.resource_id: line.line_no for line in get(conn, order_id).lines}
    for resource_id, units in refunds.items():
        parts = rules.split_exact(units, _sources(conn, resource_id), step=step)
        c_cash, c_credit = parts.pop("cash", 0), parts.pop("credit", 0)
        line_no = lines[resource_id]
        line_coupons = 0
        for key, part in parts.items():
            if part:
                coupon_id = str(key).removeprefix("coupon:")
                coupon_back[coupon_id] = coupon_back.get(coupon_id, 0) + part
                uses.append((line_no, coupon_id, -part))
                line_coupons += part
        repo.update_line(
            conn,
            order_id,
            line_no,
            coupon_units=-line_coupons,
            cash_units=-c_cash,
            credit_units=-c_credit,
        )
        cash, credit = cash + c_cash, credit + c_credit
    repo.add_coupon_uses(conn, order_id, uses)
    if not (cash or credit or any(coupon_back.values())):
        return 0  # nothing to give back (e.g. unsubscribing an expired resource): no posting
    posted = payment.post_refund(
        conn,
        customer_id=customer.id,
        currency=customer.currency,
        order_id=order_id,
        cash_units=cash,
        credit_units=credit,
        coupon_parts=coupon_back,
        now=now,
    )
    repo.update_order(
        conn,
        order_id,
        coupon_units=-sum(coupon_back.values()),
        cash_units=-cash,
        credit_units=-credit,
        ledger_transaction_id=posted.id,
    )
    return credit - int(posted.result["unpaid_units"])


# -- paying, cancelling, expiring ----------------------------------------------------------------


def _chosen_coupons(conn: Connection, customer: Customer, coupon_ids: object, now: datetime):  # type: ignore[no-untyped-def]
    if coupon_ids is None:
        return []
    if not isinstance(coupon_ids, list | tuple) or len(coupon_ids) > MAX_LINES:
        raise _bad(f"coupon ids: a list of at most {MAX_LINES}")
    if len(set(coupon_ids)) != len(coupon_ids):
        raise _bad("a coupon is named twice")
    offers = []
    for coupon_id in coupon_ids:
        try:
            coupon = coupon_service.get_coupon(conn, coupon_id, lock=True, customer_id=customer.id)
        except CloudbillError:
            raise CloudbillError(ErrorCode.NOT_FOUND, f"no cash coupon {coupon_id!r}") from None
        if coupon.status is not CouponStatus.ACTIVE or coupon.balance_units <= 0:
            raise CloudbillError(
                ErrorCode.COUPON_NOT_APPLICABLE, f"coupon {coupon.id} is {coupon.status}"
            )
        if not coupon.valid_from <= now < coupon.valid_to:
            raise CloudbillError(
                ErrorCode.COUPON_NOT_APPLICABLE,
                f"coupon {coupon.id} is valid from {coupon.valid_from.isoformat()} to "
                f"{coupon.valid_to.isoformat()}, not now",
            )
        offers.append(
            rules.CouponOffer(
                coupon.id,
                coupon.balance_units,
                coupon.min_spend_units,
                frozenset(coupon.services) if coupon.services is not None else None,
                frozenset(coupon.billing_modes) if coupon.billing_modes is not None else None,
                coupon.valid_from,
                coupon.valid_to,
            )
        )
    return offers


def _still_valid(conn: Connection, order: Order, now: datetime) -> None:
    """A pending order's resources must still be as they were when it was made."""
    for line in order.lines:
        if order.order_type is OrderType.NEW:
            continue
        r = resource_repo.get(conn, line.resource_id, lock=True)
        problem = None
        if r is None or r.status is ResourceStatus.RELEASED:
            problem = "is released"
        elif order.order_type is OrderType.CONVERSION and r.billing_mode != "pay_per_use":
            problem = "is no longer pay-per-use"
        elif order.order_type is OrderType.CHANGE and r.spec != line.old_spec:
            problem = "has changed spec since"
        elif order.order_type is OrderType.CHANGE and (
            r.status is not ResourceStatus.NORMAL or r.expire_at is None or r.expire_at <= now
        ):
            problem = "has expired since (a change applies to time still paid for)"
        elif order.order_type is OrderType.RENEWAL and r.billing_mode != "yearly_monthly":
            problem = "is no longer yearly/monthly"
        if problem:
            raise CloudbillError(
                ErrorCode.INVALID_STATE,
                f"resource {line.resource_id} {problem}: cancel order {order.id}",
            )


def pay(
    conn: Connection,
    customer_id: str,
    order_id: str,
    *,
    coupon_ids: object = None,
    reference: object = None,
    now: datetime,
) -> Order:
    """Pay a pending order: chosen coupons, then cash, then available credit, in one ledger
    transaction, and apply it. Paying again with the same reference answers the paid order;
    paying a paid order otherwise is refused."""
    reference = _reference(reference)
    customer = customers.get(conn, customer_id, lock=True)
    order = get(conn, order_id, customer_id=customer.id)
    order = repo.get(conn, order.id, lock=True) or order
    if order.status is OrderStatus.PAID:
        if reference is not None and order.pay_reference == reference:
            return order
        raise CloudbillError(ErrorCode.ORDER_ALREADY_PAID, f"order {order.id} is already paid")
    if order.status is not OrderStatus.PENDING_PAYMENT:
        raise CloudbillError(ErrorCode.ORDER_CLOSED, f"order {order.id} is {order.status}")
    if order.payment_deadline is not None and now >= order.payment_deadline:
        raise CloudbillError(
            ErrorCode.ORDER_CLOSED, f"order {order.id} was not paid by its deadline"
        )
    if order.order_type in FEE_INCURRING:
        _check_fee_allowed(conn, customer, now)
    offers = _chosen_coupons(conn, customer, coupon_ids, now)
    _still_valid(conn, order, now)
    figures = customers.overview(conn, customer, now)
    payable = [rules.PayableLine(x.line_no, x.service, x.amount_units) for x in order.lines]
    plan = rules.plan_payment(
        payable,
        offers,
        cash_available=figures.cash_balance_units,
        credit_available=figures.available_credit_units,
        now=now,
    )
    posted = payment.post_payment(
        conn,
        customer_id=customer.id,
        currency=customer.currency,
        order_id=order.id,
        coupon_uses=plan.uses,
        cash_units=plan.cash_units,
        credit_units=plan.credit_units,
        now=now,
    )
    for line_no, (coupon, cash, credit) in rules.split_line_payment(plan, payable).items():
        repo.update_line(
            conn, order.id, line_no, coupon_units=coupon, cash_units=cash, credit_units=credit
        )
    repo.add_coupon_uses(conn, order.id, plan.uses)
    repo.update_order(
        conn,
        order.id,
        status=str(OrderStatus.PAID),
        coupon_units=plan.coupon_units,
        cash_units=plan.cash_units,
        credit_units=plan.credit_units,
        paid_at=now,
        pay_reference=reference,
        ledger_transaction_id=posted.id,
    )
    effects.apply(conn, get(conn, order.id), customer, now=now)
    paid = get(conn, order.id)  # with the spans the lines pay for, set by applying it
    expenditure_repo.insert_expenditures(conn, records.payment_records(paid))
    return paid


def cancel(
    conn: Connection, customer_id: str, order_id: str, *, reason: str | None = None, now: datetime
) -> Order:
    customer = customers.get(conn, customer_id, lock=True)
    order = get(conn, order_id, customer_id=customer.id)
    customer_rules.check_not_frozen(customer)
    if order.status is OrderStatus.CANCELLED:
        return order
    if order.status is not OrderStatus.PENDING_PAYMENT:
        raise CloudbillError(
            ErrorCode.ORDER_CLOSED, f"order {order.id} is {order.status}: only a pending order"
        )
    repo.update_order(
        conn,
        order.id,
        status=str(OrderStatus.CANCELLED),
        closed_at=now,
        close_reason=(reason or "cancelled")[:256],
    )
    return get(conn, order.id)


def expire_due(conn: Connection, *, now: datetime) -> list[str]:
    """Pending orders past their payment deadline are cancelled by themselves (`expired`),
    closed at their deadline: one statement, however many there are."""
    return repo.expire_pending(conn, now, reason="not paid by the payment deadline")


# -- unsubscription ------------------------------------------------------------------------------


def unsubscribe(
    conn: Connection,
    customer_id: str,
    resource_ids: list[str],
    *,
    reference: object = None,
    source: OrderSource = OrderSource.CUSTOMER,
    terms: Terms,
    now: datetime,
) -> Order:
    """Unsubscribe yearly/monthly resources: each is released now and refunded what was paid
    minus what was used (whole hours) minus the handling fee; within the full-refund window
    after its purchase, everything paid, without a fee."""
    reference = _reference(reference)
    customer = customers.get(conn, customer_id, lock=True)
    digest = payload_hash({"type": "unsubscription", "resources": resource_ids})
    replay = _replayed(conn, customer, reference, digest)
    if replay is not None:
        return replay
    customer_rules.check_not_frozen(customer)  # a refund is an operation like any other
    found = _own_resources(conn, customer, resource_ids)
    digits = currency_digits(customer.currency)
    numerator, denominator = terms.fee_percent.as_integer_ratio()
    lines, refunds = [], {}
    for r in found:
        sub = _subscription_of(conn, r)
        spans = [
            rules.PaidSpan(row.amount_units, row.period_start, row.period_end)
            for row in repo.paid_lines(conn, r.id)
            if row.period_start is not None and row.period_end is not None
        ]
        full = sub.first_paid_at is not None and now - sub.first_paid_at <= timedelta(
            days=terms.full_refund_days
        )
        refund = rules.unsubscription_refund(
            spans,
            now=now,
            full_refund=full,
            fee_percent_numerator=numerator,
            fee_percent_denominator=denominator,
            digits=digits,
            rounding=terms.rounding,
        )
        line = _line_values(
            len(lines) + 1,
            _resource_line(r),
            _computed(-refund.refund_units, -refund.refund_units, customer.currency),
            unit=None,
            count=None,
        )
        line |= {"used_units": refund.used_units, "fee_units": refund.fee_units}
        lines.append(line)
        refunds[r.id] = refund.refund_units
    order_id = _store(
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
    moved = _give_back(conn, customer, order_id, refunds, now=now)
    refunded = {r.id: (now, r.expire_at) for r in found}
    expenditure_repo.insert_expenditures(
        conn, records.unsubscription_records(get(conn, order_id), refunded, credit_to_cash=moved)
    )
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
