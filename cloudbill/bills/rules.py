"""Pure bill rules: rounding a document so its lines add up, local days and months as buckets.

Rounding design (a bill is a document, so it is rounded once, where it is made):

* Every figure of the total (official, discount, amount, coupon, cash, credit, debt, net) is the
  exact 8-decimal sum of the month's fee records rounded ONCE to the currency's digits by the
  operator's rule (`Money.round_to_currency`). A printed total is therefore always the correctly
  rounded true figure, whatever breakdown it is printed with, and equals what an auditor gets by
  summing the CSV export and rounding.
* Every breakdown line is rounded once the same way, on its own exact figures.
* Rounded lines need not add up to the rounded total (three lines of 0.33333333 print 0.33
  each, the total 0.99999999 prints 1.00). The difference is printed as an explicit
  `rounding_adjustment` per figure and breakdown, so lines + adjustment == total exactly. We
  chose this over largest-remainder allocation because it never prints a line at a value it
  does not round to (allocation would show one of those lines as 0.34) and it is what Huawei
  does with its explicit truncated amount.
* The summary also carries `truncated` = exact - rounded per figure (Huawei's truncated amount).
  Relations between figures (net = amount - coupon, amount = official - discount) hold exactly
  on the exact values; on rounded values they may differ by one minor unit, and `truncated`
  shows by how much.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from ..kernel.currency import currency_digits
from ..kernel.money import SCALE_DIGITS, Money, Rounding
from ..kernel.periods import Period, add_months, month_of, month_period, zone
from .model import FIGURES, BillLine, Breakdown, Figures


def round_figures(figures: Figures, currency: str, rounding: Rounding) -> dict[str, int]:
    """Each figure rounded once to the currency's digits, still in units of 10**-8."""
    return {
        name: Money(units, currency).round_to_currency(rounding).units
        for name, units in figures.units().items()
    }


def add_figures(parts: Sequence[Figures]) -> Figures:
    return Figures(
        official_units=sum(p.official_units for p in parts),
        discount_units=sum(p.discount_units for p in parts),
        amount_units=sum(p.amount_units for p in parts),
        coupon_units=sum(p.coupon_units for p in parts),
        cash_units=sum(p.cash_units for p in parts),
        credit_units=sum(p.credit_units for p in parts),
        debt_units=sum(p.debt_units for p in parts),
    )


def breakdown(
    dimension: str,
    rows: Sequence[tuple[str, Figures]],
    total: dict[str, int],
    currency: str,
    rounding: Rounding,
) -> Breakdown:
    """Round each line once and carry what the rounded lines miss of the rounded total."""
    lines = [BillLine(key, exact, round_figures(exact, currency, rounding)) for key, exact in rows]
    adjustment = {name: total[name] - sum(line.rounded[name] for line in lines) for name in FIGURES}
    return Breakdown(dimension=dimension, lines=lines, rounding_adjustment=adjustment)


def local_days(period: Period, tz_name: str) -> list[tuple[date, datetime]]:
    """The customer's local days that `period` touches, each with its first UTC instant.

    The first day starts at `period.start` (it may begin mid-day); each later one at local
    midnight, found through zoneinfo so DST days of 23 or 25 hours come out right.
    """
    tz = zone(tz_name)
    day = period.start.astimezone(tz).date()
    days = [(day, period.start)]
    while True:
        day = day + timedelta(days=1)
        midnight = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
        if midnight >= period.end:
            return days
        days.append((day, midnight))


def day_count(period: Period, tz_name: str) -> int:
    """How many local days `period` touches, without building them (for the bound check)."""
    tz = zone(tz_name)
    first = period.start.astimezone(tz).date()
    last = (period.end - timedelta(microseconds=1)).astimezone(tz).date()
    return max(1, (last - first).days + 1)


def month_text(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def recent_months(now: datetime, tz_name: str, count: int) -> list[tuple[str, Period]]:
    """The last `count` calendar months in the customer's zone, oldest first, ending with now's."""
    year, month = month_of(now, tz_name)
    months = []
    for back in range(count - 1, -1, -1):
        first = add_months(date(year, month, 1), -back)
        months.append(
            (month_text(first.year, first.month), month_period(first.year, first.month, tz_name))
        )
    return months


def allocate_rounded(
    lines: Sequence[Figures], total: dict[str, int], currency: str, rounding: Rounding
) -> list[dict[str, int]]:
    """Each line's figures at the currency's digits, so that per figure the lines add up to
    the rounded `total` exactly (for documents, such as Huawei's monthly sum, that carry no
    rounding line). Every line starts from its own rounding; the steps the rounded lines miss
    of the total go one each to the lines nearest to rounding the other way (largest
    remainder, then the earlier line), so no line moves by more than it has to."""
    step = 10 ** (SCALE_DIGITS - currency_digits(currency))  # one minor unit, in units
    out = [round_figures(line, currency, rounding) for line in lines]
    for name in FIGURES:
        missing = (total[name] - sum(line[name] for line in out)) // step
        if not missing or not out:
            continue
        exact = [line.units()[name] for line in lines]
        # Lines rounded down the most come first when steps are missing, up the most when over.
        order = sorted(
            range(len(out)),
            key=lambda i: (-(exact[i] - out[i][name]) * (1 if missing > 0 else -1), i),
        )
        sign = 1 if missing > 0 else -1
        for k in range(abs(missing)):
            out[order[k % len(order)]][name] += sign * step
    return out
