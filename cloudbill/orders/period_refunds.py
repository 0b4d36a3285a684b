"""Pure: what unsubscribing a yearly/monthly resource gives back, period by period and source by
source (Huawei, "Unsubscription Rules" and its FAQ "When Will I Be Charged Handling Fees? How Is
the Refund Calculated?").

A resource's paid lines are its periods (the purchase, each renewal) and its spec changes. A
change paid (an upgrade) or gave back (a downgrade) a difference for every period still to run
when it was made, so its money belongs to those periods: it is folded into them, each source
apart, by the weights it was priced on (the period's remaining share at the change x the
period's amount). Then:
- the periods in use (begun) give back paid - consumed - handling fee, where paid is what cash
  and credit paid (the cash coupons spent on them are not returned), consumed is that paid x
  the whole hours used over the hours of each piece, and the fee a percentage of that paid;
- the periods not begun give back everything they were paid with, coupon by coupon, no fee;
- within the operator's full-refund window everything paid comes back, coupons included.
Every source's refund is capped by what that source paid net of what was given back since, and
rounded down to the currency's step: nothing comes back that did not go in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from math import lcm

from ..kernel.money import Rounding
from . import rules
from .remaining import remaining_share

CASH, CREDIT = "cash", "credit"
MONEY = (CASH, CREDIT)


@dataclass(frozen=True, slots=True)
class PaidLine:
    """One paid (or refunded) order line of the resource, in the order it was made (`key`)."""

    key: int
    period_start: datetime
    period_end: datetime
    period_unit: str | None  # None: a spec change
    period_count: int | None
    amount_units: int
    sources: Mapping[str, int]  # 'cash', 'credit', 'coupon:<id>' -> units (< 0: given back)


@dataclass(frozen=True, slots=True)
class Piece:
    """Money that paid for one stretch of one period."""

    begun: bool
    start: datetime
    end: datetime
    sources: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class PeriodRefund:
    paid_units: int  # cash and credit on the periods in use, everything on those not begun
    used_units: int
    fee_units: int
    parts: Mapping[str, int]  # source -> units given back (>= 0)

    @property
    def refund_units(self) -> int:
        return sum(self.parts.values())


def _split_signed(total: int, weights: Mapping[int, int]) -> dict[int, int]:
    sign = -1 if total < 0 else 1
    split = rules.split_exact(abs(total), weights, step=1)
    return {k: sign * int(v) for k, v in split.items()}


def _weights(change: PaidLine, periods: Sequence[PaidLine], tz_name: str) -> dict[int, int]:
    """The periods a change changed (made before it, still running when it was made), weighted
    by the share of each it was priced on, as integers."""
    shares: dict[int, Fraction] = {}
    for p in periods:
        if p.key < change.key and p.period_end > change.period_start:
            share = remaining_share(
                period_start=p.period_start,
                period_end=p.period_end,
                period_unit=p.period_unit or "month",
                period_count=p.period_count or 1,
                now=change.period_start,
                tz_name=tz_name,
            )
            shares[p.key] = share * max(p.amount_units, 0)
    if not any(shares.values()):  # periods that cost nothing: all to the first one it changed
        shares = {k: Fraction(1) for k in list(shares)[:1]}
    common = lcm(*(s.denominator for s in shares.values())) if shares else 1
    return {k: s.numerator * (common // s.denominator) for k, s in shares.items()}


def pieces(lines: Sequence[PaidLine], *, now: datetime, tz_name: str) -> list[Piece]:
    """The resource's money as pieces of its periods, the changes folded in."""
    periods = [line for line in lines if line.period_unit is not None]
    by_key = {p.key: p for p in periods}
    out = [Piece(p.period_start <= now, p.period_start, p.period_end, p.sources) for p in periods]
    for change in (line for line in lines if line.period_unit is None):
        weights = _weights(change, periods, tz_name)
        if not weights:  # changed nothing that is still on record: a piece of its own
            begun = change.period_start <= now
            out.append(Piece(begun, change.period_start, change.period_end, change.sources))
            continue
        split = {src: _split_signed(units, weights) for src, units in change.sources.items()}
        for key in weights:
            p = by_key[key]
            sources = {src: parts[key] for src, parts in split.items()}
            start = max(change.period_start, p.period_start)
            out.append(Piece(p.period_start <= now, start, p.period_end, sources))
    return out


def _add(into: dict[str, int], sources: Mapping[str, int]) -> None:
    for src, units in sources.items():
        into[src] = into.get(src, 0) + units


def unsubscription_refund(
    lines: Sequence[PaidLine],
    *,
    now: datetime,
    tz_name: str,
    full_refund: bool,
    fee_percent_numerator: int,
    fee_percent_denominator: int,
    digits: int,
    rounding: Rounding,
) -> PeriodRefund:
    """What unsubscribing the whole resource (all its periods) gives back, by source."""
    net: dict[str, int] = {}
    for line in lines:
        _add(net, line.sources)
    step = rules.step_units(digits)
    if full_refund:
        parts = {src: max(units, 0) // step * step for src, units in net.items()}
        return PeriodRefund(sum(parts.values()), 0, 0, {k: v for k, v in parts.items() if v})
    in_use: dict[str, int] = {}
    ahead: dict[str, int] = {}
    used = ended = 0
    for piece in pieces(lines, now=now, tz_name=tz_name):
        if not piece.begun:
            _add(ahead, piece.sources)
            continue
        money = {src: piece.sources.get(src, 0) for src in MONEY}
        if piece.end <= now:  # a period that has ended: used up, and no handling fee on it
            ended += sum(money.values())
            continue
        _add(in_use, money)
        span = rules.PaidSpan(sum(money.values()), piece.start, piece.end)
        used += rules.consumed(span, now, digits=digits, rounding=rounding)
    paid = sum(in_use.values())
    fee = rules.scale(
        paid, fee_percent_numerator, fee_percent_denominator * 100, digits=digits, rounding=rounding
    )
    # Never more than what is left of the payment, in whole currency steps: a line's share of
    # cash (split over an order's lines at 1e-8) need not be a whole cent.
    fee = max(0, min(fee, (paid - used) // step * step))
    back = max(0, paid - used - fee)
    parts = _split_signed(back, {i: max(in_use.get(src, 0), 0) for i, src in enumerate(MONEY)})
    refund = {src: parts.get(i, 0) for i, src in enumerate(MONEY)}
    _add(refund, {src: max(units, 0) for src, units in ahead.items()})
    capped = {
        src: min(units, max(net.get(src, 0), 0)) // step * step for src, units in refund.items()
    }
    paid_all = paid + sum(max(units, 0) for units in ahead.values())
    return PeriodRefund(paid_all, used + max(ended, 0), fee, {k: v for k, v in capped.items() if v})


def renewals_refund(lines: Sequence[PaidLine], ahead: set[int], *, digits: int) -> PeriodRefund:
    """What giving back the renewal periods `ahead` (their keys; none begun, and no spec
    change reaching them) returns: everything they were paid with, coupon by coupon, no fee,
    each source capped by what it paid net of what was given back since."""
    net: dict[str, int] = {}
    back: dict[str, int] = {}
    for line in lines:
        _add(net, line.sources)
        if line.key in ahead:
            _add(back, {src: max(units, 0) for src, units in line.sources.items()})
    step = rules.step_units(digits)
    capped = {
        src: min(units, max(net.get(src, 0), 0)) // step * step for src, units in back.items()
    }
    paid = sum(max(line.amount_units, 0) for line in lines if line.key in ahead)
    return PeriodRefund(paid, 0, 0, {k: v for k, v in capped.items() if v})
