"""Pure order rules: coupon allocation, payment split, pro rata, refunds.

Every figure is an integer count of 1e-8 units rounded once to the currency's digits, and every
split is exact (largest remainder), so an order's lines add up to its totals to the unit.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..kernel.clock import ensure_utc
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.money import SCALE_DIGITS, Rounding, round_ratio
from ..kernel.periods import hour_floor

HOUR = timedelta(hours=1)


def step_units(digits: int) -> int:
    """1e-8 units in the currency's smallest step (0.01 USD = 1_000_000 units)."""
    return 10 ** (SCALE_DIGITS - digits)


def scale(units: int, numerator: int, denominator: int, *, digits: int, rounding: Rounding) -> int:
    """units x numerator / denominator, rounded once to the currency's digits."""
    step = step_units(digits)
    return round_ratio(units * numerator, denominator * step, rounding) * step


def split_exact(total: int, weights: Mapping[Hashable, int], *, step: int) -> dict[Hashable, int]:
    """Split `total` (a multiple of `step`) over keys in proportion to non-negative weights, in
    whole steps, largest remainder first; the parts add up to `total` exactly."""
    positive = {k: w for k, w in weights.items() if w > 0}
    weight_sum = sum(positive.values())
    if total == 0 or weight_sum == 0:
        return {k: 0 for k in weights}
    steps = total // step
    parts, remainders = {}, []
    for key, weight in positive.items():
        whole, rest = divmod(steps * weight, weight_sum)
        parts[key] = whole
        remainders.append((-rest, str(key), key))
    for _, _, key in sorted(remainders)[: steps - sum(parts.values())]:
        parts[key] += 1
    return {k: parts.get(k, 0) * step for k in weights}


@dataclass(frozen=True, slots=True)
class CouponOffer:
    """A coupon the customer chose, as it stands (balance) and where it applies."""

    id: str
    balance_units: int
    min_spend_units: int
    services: frozenset[str] | None
    billing_modes: frozenset[str] | None
    valid_from: datetime
    valid_to: datetime

    def covers(self, service: str, at: datetime) -> bool:
        return (
            self.valid_from <= at < self.valid_to
            and (self.services is None or service in self.services)
            and (self.billing_modes is None or "yearly_monthly" in self.billing_modes)
        )


@dataclass(frozen=True, slots=True)
class PayableLine:
    line_no: int
    service: str
    amount_units: int


@dataclass
class PaymentPlan:
    coupon_by_line: dict[int, int] = field(default_factory=dict)
    uses: list[tuple[int, str, int]] = field(default_factory=list)  # (line, coupon, amount)
    cash_units: int = 0
    credit_units: int = 0

    @property
    def coupon_units(self) -> int:
        return sum(self.coupon_by_line.values())


def pro_rata_last(total: int, weights: Sequence[int], *, step: int) -> list[int]:
    """Split `total` (at most the weights' sum) over the weights in proportion: each share but
    the last rounded down to whole steps, the last takes the remainder (Huawei's FAQ on paying
    several orders together: 69.31 over three orders, 23.10 each and the extra 0.01 on one).
    No share exceeds its weight: what would, goes to the shares before it, last first."""
    weight_sum = sum(weights)
    assert 0 <= total <= weight_sum and all(w >= 0 for w in weights)
    if total == 0:
        return [0] * len(weights)
    shares = [total * w // weight_sum // step * step for w in weights]
    shares[-1] = 0
    rest = total - sum(shares)
    for i in reversed(range(len(weights))):
        extra = min(rest, weights[i] - shares[i])
        shares[i] += extra
        rest -= extra
    assert rest == 0
    return shares


def _coupon_refusal(coupon: CouponOffer, why: str) -> CloudbillError:
    return CloudbillError(
        ErrorCode.COUPON_NOT_APPLICABLE, f"coupon {coupon.id} {why}", coupon_id=coupon.id
    )


def plan_payments(
    orders: Sequence[Sequence[PayableLine]],
    coupons: Sequence[CouponOffer],
    *,
    cash_available: int,
    credit_available: int,
    step: int,
    now: datetime,
) -> list[PaymentPlan]:
    """Pay several orders together, one plan per order. Each chosen coupon in turn deducts
    what it can from the lines it covers across all the orders, shared out over the orders pro
    rata by what each still owes in its scope (`pro_rata_last`), and within an order line by
    line; then cash, then the available credit of a post-paid customer, order by order. Refuses
    a coupon that cannot apply (its minimum spend counts all the orders together) and a payment
    the balance cannot cover (nothing is taken then)."""
    plans = [PaymentPlan(coupon_by_line={x.line_no: 0 for x in lines}) for lines in orders]
    left = [{x.line_no: x.amount_units for x in lines} for lines in orders]
    for coupon in coupons:
        scopes = [[x for x in lines if coupon.covers(x.service, now)] for lines in orders]
        if not any(scopes):
            raise _coupon_refusal(
                coupon, "does not apply to this order (validity, service or billing mode)"
            )
        if sum(x.amount_units for scope in scopes for x in scope) < coupon.min_spend_units:
            raise _coupon_refusal(
                coupon, "needs a spend of at least its minimum on the services it covers"
            )
        owed = [sum(left[i][x.line_no] for x in scope) for i, scope in enumerate(scopes)]
        deduction = min(coupon.balance_units, sum(owed))
        if deduction == 0:
            raise _coupon_refusal(coupon, "is not needed: the lines it covers are already paid")
        for i, share in enumerate(pro_rata_last(deduction, owed, step=step)):
            for line in scopes[i]:
                used = min(share, left[i][line.line_no])
                if used:
                    share -= used
                    left[i][line.line_no] -= used
                    plans[i].coupon_by_line[line.line_no] += used
                    plans[i].uses.append((line.line_no, coupon.id, used))
    due = [sum(rest.values()) for rest in left]
    cash = max(0, cash_available)
    for plan, owed_units in zip(plans, due, strict=True):
        plan.cash_units = min(owed_units, cash)
        plan.credit_units = owed_units - plan.cash_units
        cash -= plan.cash_units
    if sum(plan.credit_units for plan in plans) > max(0, credit_available):
        raise CloudbillError(
            ErrorCode.INSUFFICIENT_BALANCE,
            "the balance cannot pay this order: top up or choose coupons",
            due_units=sum(due),
        )
    return plans


def plan_payment(
    lines: Sequence[PayableLine],
    coupons: Sequence[CouponOffer],
    *,
    cash_available: int,
    credit_available: int,
    now: datetime,
) -> PaymentPlan:
    """One order: chosen coupons first (in the order chosen, each on the lines it covers), then
    cash, then available credit (`plan_payments`)."""
    return plan_payments(
        [lines],
        coupons,
        cash_available=cash_available,
        credit_available=credit_available,
        step=1,
        now=now,
    )[0]


def auto_coupons(
    lines: Sequence[PayableLine],
    coupons: Sequence[CouponOffer],
    *,
    coupons_max: int,
    now: datetime,
) -> list[CouponOffer]:
    """The coupons an automatic payment (auto-renewal) uses before cash: of the customer's,
    soonest-expiring first, those that apply and still have something to pay, at most
    `coupons_max` (Huawei's auto-payment order: "Discount (only one at a time) -> Cash coupon
    (only one at a time) -> Account balance")."""
    chosen: list[CouponOffer] = []
    left = {line.line_no: line.amount_units for line in lines}
    for coupon in coupons:
        if len(chosen) >= coupons_max:
            break
        scope = [line for line in lines if coupon.covers(line.service, now)]
        if coupon.balance_units <= 0 or not scope:
            continue
        if sum(line.amount_units for line in scope) < coupon.min_spend_units:
            continue
        balance = coupon.balance_units
        for line in scope:
            used = min(balance, left[line.line_no])
            balance -= used
            left[line.line_no] -= used
        if balance < coupon.balance_units:
            chosen.append(coupon)
    return chosen


def split_line_payment(
    plan: PaymentPlan, lines: Sequence[PayableLine]
) -> dict[int, tuple[int, int, int]]:
    """Per line: (coupon, cash, credit). Cash and credit are split over the lines by what each
    still owed after coupons, so every line says exactly how it was paid."""
    rest = {line.line_no: line.amount_units - plan.coupon_by_line[line.line_no] for line in lines}
    cash = split_exact(plan.cash_units, rest, step=1)
    out: dict[int, tuple[int, int, int]] = {}
    for line in lines:
        n = line.line_no
        out[n] = (plan.coupon_by_line[n], cash[n], rest[n] - cash[n])
    return out


@dataclass(frozen=True, slots=True)
class PaidSpan:
    """A paid order line of a resource: what it paid for which span."""

    amount_units: int  # net of the line, coupons included (negative: a downgrade refund)
    period_start: datetime
    period_end: datetime


def used_fraction(span: PaidSpan, now: datetime) -> tuple[int, int]:
    """(used, total) seconds of the span, whole hours used: the span counts from the hour it
    took effect and use ends at the hour now is in (Huawei's unsubscription rule)."""
    start = hour_floor(span.period_start)
    total = int((span.period_end - start).total_seconds())
    used = int((min(max(hour_floor(now), start), span.period_end) - start).total_seconds())
    return used, max(total, 1)


def consumed(span: PaidSpan, now: datetime, *, digits: int, rounding: Rounding) -> int:
    used, total = used_fraction(span, now)
    return scale(span.amount_units, used, total, digits=digits, rounding=rounding)


def term_months(period_unit: str | None, period_count: int | None) -> int | None:
    """An order line's subscription term in months (None: a line that bought no term, e.g. a
    spec change; the days of a unified-expiry renewal count as part of a month)."""
    if period_unit == "year":
        return 12 * (period_count or 1)
    if period_unit == "month":
        return period_count or 1
    if period_unit == "day":
        return 1
    return None


def handling_fee_percent(term_months: int, year_of_use: int) -> int:
    """Huawei's unsubscription handling fee, a percentage of what was paid, by the
    subscription term and the year of use the customer unsubscribes in ("Unsubscription
    Rules", Billing Center user guide): a 2- or 3-year term 15% in its first year, 10% in its
    second, 5% in its third; a monthly or 1-year term 10%."""
    if term_months >= 24:
        return {1: 15, 2: 10}.get(year_of_use, 5)
    return 10


def year_of_use(start: datetime, now: datetime, term_months: int) -> int:
    """Which year of a term `now` falls in, counted from its start's anniversaries in UTC (1:
    the first year), never past the term's last year (a term ends at the end of a local day,
    so it may run a few hours past its last anniversary)."""
    start, now = ensure_utc(start), ensure_utc(now)
    years = now.year - start.year
    if (now.month, now.day, now.time()) < (start.month, start.day, start.time()):
        years -= 1
    return min(max(years, 0) + 1, max(term_months // 12, 1))
