"""Bill use cases: read-only views of what settlement wrote. Nothing here moves money.

Every use case takes a customer id first, and every query is scoped to that customer, so no
filter can reach another customer's records. Months are calendar months in the customer's zone.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from ..catalog.model import BillingMode
from ..customers import service as customers
from ..customers.model import Customer
from ..enterprise import accounting
from ..enterprise import repo as enterprise_repo
from ..expenditure.model import BillCategory, BillType, types_of
from ..kernel.clock import ensure_utc
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.limits import PAGE_SIZE_DEFAULT
from ..kernel.money import Money, Rounding
from ..kernel.periods import Period, month_period, parse_instant, parse_month
from . import repo, rules
from .model import (
    BREAKDOWN_LINES_MAX,
    DAY_RANGE_MAX_DAYS,
    FILTER_TEXT_MAX_CHARS,
    TREND_MONTHS_MAX,
    FeeGroup,
    FeeRecord,
    Granularity,
    MonthlySummary,
    PackageUse,
    TrendMonth,
)

BREAKDOWN_DIMENSIONS = ("service", "resource_type", "billing_mode", "bill_type")


def customer_of(conn: Connection, customer_id: str) -> Customer:
    """The customer, or CUSTOMER_NOT_FOUND."""
    return customers.get(conn, customer_id)


def viewed(
    conn: Connection, customer: Customer, member_id: object = None
) -> tuple[str, tuple[str, ...]]:
    """Whose records a customer's bill view holds, as (consumer, members it paid for).

    Without `member_id`: its own records and, for an enterprise master, what it paid for its
    active unified members (the consolidated bill; each record names its consumer). With one:
    that customer's own records only, when the viewer may see them (itself, or an active
    member of either accounting mode); after disassociation the old master sees nothing of
    it, and another customer's id is answered as an unknown one."""
    if member_id is None:
        return customer.id, tuple(sorted(accounting.unified_members(conn, [customer.id])))
    member = _filter_text("member_id", member_id)
    assert member is not None
    if not enterprise_repo.sees(conn, customer.id, member):
        raise CloudbillError(
            ErrorCode.CUSTOMER_NOT_FOUND, f"no member {member} of this account", field="member_id"
        )
    return member, ()


def month_bounds(customer: Customer, month: str) -> tuple[str, Period]:
    """`YYYY-MM` -> its canonical text and its UTC bounds in the customer's zone."""
    year, number = parse_month(month)
    return rules.month_text(year, number), month_period(year, number, customer.timezone)


def check_page(limit: int, offset: int) -> None:
    for value in (limit, offset):
        if not isinstance(value, int) or isinstance(value, bool):
            raise CloudbillError(ErrorCode.INVALID_ARGUMENT, "limit and offset must be integers")
    customers.check_page(limit, offset)


def _filter_text(name: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > FILTER_TEXT_MAX_CHARS:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, f"{name} must be 1-{FILTER_TEXT_MAX_CHARS} characters"
        )
    if "\x00" in value:  # PostgreSQL refuses NUL in text; answer as bad input, not a crash
        raise CloudbillError(ErrorCode.INVALID_ARGUMENT, f"{name} contains a NUL character")
    return value


def monthly_summary(
    conn: Connection,
    customer_id: str,
    month: str,
    *,
    rounding: Rounding,
    member_id: str | None = None,
) -> MonthlySummary:
    """The month's bill: every expenditure record of the month (hourly fees, order payments
    and refunds, adjustments), totals and lines by service, resource type, billing mode and
    bill type.

    Rounding is described in `rules.py`: each figure rounded once, lines rounded once, and an
    explicit `rounding_adjustment` per breakdown so printed lines add up to the printed total.
    An enterprise master's bill holds its unified members' records too, with a breakdown by
    member (`customer_id`); `member_id` narrows it to one member's own records (`viewed`).
    """
    customer = customer_of(conn, customer_id)
    rounding = Rounding(rounding)
    label, period = month_bounds(customer, month)
    consumer, members = viewed(conn, customer, member_id)
    where = repo.scope(consumer, period, members=members)
    exact, count, currencies = repo.totals(conn, where)
    # Settlement bills a customer in their one currency; anything else is a broken invariant.
    assert currencies <= {customer.currency}, (customer.id, currencies)
    total = rules.round_figures(exact, customer.currency, rounding)
    breakdowns = []
    for dimension in (*BREAKDOWN_DIMENSIONS, *(("customer_id",) if members else ())):
        rows = repo.breakdown_rows(conn, where, dimension, limit=BREAKDOWN_LINES_MAX + 1)
        if len(rows) > BREAKDOWN_LINES_MAX:
            # Printing only some lines would break "lines add up to the total": refuse instead.
            raise CloudbillError(
                ErrorCode.LIMIT_EXCEEDED,
                f"more than {BREAKDOWN_LINES_MAX} {dimension} lines in one bill",
            )
        breakdowns.append(rules.breakdown(dimension, rows, total, customer.currency, rounding))
    return MonthlySummary(
        customer_id=customer.id,
        currency=customer.currency,
        timezone=customer.timezone,
        month=label,
        period=period,
        rounding=rounding,
        fee_records=count,
        exact=exact,
        total=total,
        breakdowns=breakdowns,
    )


def _granularity(value: object) -> Granularity:
    try:
        return Granularity(value)
    except ValueError:
        choices = ", ".join(g.value for g in Granularity)
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, f"granularity must be one of {choices}, got {value!r}"
        ) from None


def _instant(value: datetime | str, name: str) -> datetime:
    if isinstance(value, datetime):
        return ensure_utc(value)
    if isinstance(value, str):
        return parse_instant(value)
    raise CloudbillError(ErrorCode.INVALID_ARGUMENT, f"{name} must be an ISO 8601 instant")


def _period(
    customer: Customer, month: str | None, start: datetime | str | None, end: datetime | str | None
) -> Period | None:
    """A month, or a [start, end) range, or (None) every record of the customer."""
    if month is not None:
        if start is not None or end is not None:
            raise CloudbillError(ErrorCode.INVALID_ARGUMENT, "give a month or start/end, not both")
        return month_bounds(customer, month)[1]
    if (start is None) != (end is None):
        raise CloudbillError(ErrorCode.INVALID_ARGUMENT, "start and end go together")
    if start is None or end is None:
        return None
    return Period(_instant(start, "start"), _instant(end, "end"))


def fee_records(
    conn: Connection,
    customer_id: str,
    *,
    month: str | None = None,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    resource_id: str | None = None,
    service: str | None = None,
    usage_type: str | None = None,
    billing_mode: str | None = None,
    bill_type: str | None = None,
    granularity: str = Granularity.HOUR,
    limit: int = PAGE_SIZE_DEFAULT,
    offset: int = 0,
    member_id: str | None = None,
) -> tuple[list[FeeRecord] | list[FeeGroup], int]:
    """A page of fee records (hour: each record as written), or of their sums per item and
    local day (day) or per item over the period (resource), with the total number of rows at
    that granularity. `bill_type` is a bill type or a category (consumption, refund,
    adjustment). An enterprise master's list holds its unified members' records too (each
    names its consumer); `member_id` narrows it to one member's own records (`viewed`)."""
    customer = customer_of(conn, customer_id)
    grain = _granularity(granularity)
    check_page(limit, offset)
    period = _period(customer, month, start, end)
    consumer, members = viewed(conn, customer, member_id)
    where = repo.scope(
        consumer,
        period,
        members=members,
        resource_id=_filter_text("resource_id", resource_id),
        service=_filter_text("service", service),
        usage_type=_filter_text("usage_type", usage_type),
        billing_mode=_billing_mode(billing_mode),
        bill_types=bill_types_named(bill_type),
    )
    if grain is Granularity.HOUR:
        return repo.fee_records_page(conn, where, limit=limit, offset=offset)
    days = None
    if grain is Granularity.DAY:
        days = day_buckets(customer, period)
    return repo.fee_groups_page(conn, where, days, limit=limit, offset=offset)


def _billing_mode(value: object) -> str | None:
    if value is None:
        return None
    try:
        return str(BillingMode(value))
    except ValueError:
        choices = ", ".join(m.value for m in BillingMode)
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, f"billing_mode must be one of {choices}, got {value!r}"
        ) from None


def bill_types_named(value: object) -> list[str] | None:
    """The bill types a filter names: one bill type, or every type of a category."""
    if value is None:
        return None
    if value in BillType.__members__.values():
        return [str(value)]
    if value in BillCategory.__members__.values():
        return types_of(BillCategory(value))
    choices = ", ".join([*(c.value for c in BillCategory), *(t.value for t in BillType)])
    raise CloudbillError(
        ErrorCode.INVALID_ARGUMENT, f"bill_type must be one of {choices}, got {value!r}"
    )


def day_buckets(customer: Customer, period: Period | None) -> list[tuple[str, datetime]]:
    """Local days of the customer's zone as (YYYY-MM-DD, first UTC instant) buckets.

    A fee belongs to the local day its hour starts in (in half-hour zones an hour can straddle
    midnight). Days are bounded so the bucketing CASE stays small.
    """
    if period is None:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, "day granularity needs a month or a start/end range"
        )
    if rules.day_count(period, customer.timezone) > DAY_RANGE_MAX_DAYS:
        raise CloudbillError(
            ErrorCode.LIMIT_EXCEEDED, f"day granularity covers at most {DAY_RANGE_MAX_DAYS} days"
        )
    return [(day.isoformat(), first) for day, first in rules.local_days(period, customer.timezone)]


def package_usage_records(
    conn: Connection,
    customer_id: str,
    *,
    package_id: str | None = None,
    month: str | None = None,
    limit: int = PAGE_SIZE_DEFAULT,
    offset: int = 0,
) -> tuple[list[PackageUse], int]:
    """What the customer's resource packages covered, hour by hour."""
    customer = customer_of(conn, customer_id)
    check_page(limit, offset)
    period = month_bounds(customer, month)[1] if month is not None else None
    return repo.package_usage_page(
        conn,
        customer.id,
        package_id=_filter_text("package_id", package_id),
        period=period,
        limit=limit,
        offset=offset,
    )


def expenditure_trend(
    conn: Connection,
    customer_id: str,
    *,
    months: int = 6,
    now: datetime,
    rounding: Rounding = Rounding.HALF_UP,
    member_id: str | None = None,
) -> list[TrendMonth]:
    """Amount and net amount of the last `months` calendar months (the current one last),
    months without fees included as zeros: the overview page's expenditure trend."""
    customer = customer_of(conn, customer_id)
    if isinstance(months, bool) or not isinstance(months, int):
        raise CloudbillError(ErrorCode.INVALID_ARGUMENT, "months must be an integer")
    if not 1 <= months <= TREND_MONTHS_MAX:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, f"months must be 1-{TREND_MONTHS_MAX}, got {months!r}"
        )
    rule = Rounding(rounding)
    window = rules.recent_months(now, customer.timezone, months)
    consumer, members = viewed(conn, customer, member_id)
    sums = repo.month_sums(conn, consumer, window, members)

    def rounded(units: int) -> int:
        return Money(units, customer.currency).round_to_currency(rule).units

    result = []
    for label, period in window:
        amount, coupon = sums.get(label, (0, 0))
        net = amount - coupon
        result.append(
            TrendMonth(customer.currency, label, period, amount, net, rounded(amount), rounded(net))
        )
    return result
