"""Cost analysis use cases: a customer's original or amortized costs by local day or month,
grouped by up to two dimensions, filtered in or out; and the query read from text."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Connection

from ..customers import service as customers
from ..enterprise import accounting
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.limits import COSTS_FILTER_VALUES_MAX, NAME_MAX_CHARS
from ..kernel.periods import MONTH_YEAR_MAX, MONTH_YEAR_MIN, Period, parse_month, zone
from . import repo, rules
from .model import (
    AmountType,
    CostQuery,
    CostReport,
    CostRow,
    CostType,
    Dimension,
    Figure,
    Filter,
    Granularity,
)


def _midnight(day: date, tz_name: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone(tz_name)).astimezone(UTC)


def _normalized(query: CostQuery) -> CostQuery:
    rules.check(query)
    if query.granularity is Granularity.MONTH:
        first, last = rules.month_window(query.first, query.last)
        query = CostQuery(
            first, last, query.granularity, query.cost_type, query.amount_type,
            query.group_by, query.filters,
        )  # fmt: skip
    return query


def costs(conn: Connection, customer_id: str, query: CostQuery) -> CostReport:
    """The costs of the query's local days (months) in the customer's zone and currency."""
    customer = customers.get(conn, customer_id)
    query = _normalized(query)
    tz = customer.timezone
    labels = rules.labels(query)
    if query.granularity is Granularity.DAY:
        starts = [(label, _midnight(date.fromisoformat(label), tz)) for label in labels]
    else:
        starts = [(label, _midnight(date.fromisoformat(label + "-01"), tz)) for label in labels]
    window = Period(starts[0][1], _midnight(query.last + timedelta(days=1), tz))
    net = query.amount_type is AmountType.NET
    amortized = query.cost_type is CostType.AMORTIZED
    # an enterprise master's costs hold what it paid for its active unified members
    members = sorted(accounting.unified_members(conn, [customer.id]))
    rows: dict[tuple[str, ...], dict[str, Figure]] = {}

    def add(key: tuple[str, ...], label: str, figure: Figure) -> None:
        buckets = rows.setdefault(key, {})
        buckets[label] = buckets.get(label, Figure()) + figure

    for key, label, amount, official in repo.on_day_sums(
        conn, customer.id, window=window, starts=starts, group_by=query.group_by,
        filters=query.filters, net=net, without_spread=amortized, members=members,
    ):  # fmt: skip
        add(key, label, Figure(amount, official))
    if amortized:
        for record in repo.spreadable(
            conn, customer.id, window=window, group_by=query.group_by,
            filters=query.filters, net=net, members=members,
        ):  # fmt: skip
            first, days = rules.validity_days(record.period_start, record.period_end, tz)
            amounts = rules.spread(record.amount_units, first, days, query.first, query.last)
            officials = rules.spread(record.official_units, first, days, query.first, query.last)
            for (day, amount), (_, official) in zip(amounts, officials, strict=True):
                add(record.key, rules.label(day, query.granularity), Figure(amount, official))
    ordered = sorted(
        (CostRow(key, buckets) for key, buckets in rows.items()),
        key=lambda row: (-row.total.amount_units, row.key),
    )
    return CostReport(customer.currency, tz, query, tuple(labels), tuple(ordered))


# -- the query read from outside (API, CLI, console) ---------------------------------------------


# Each refusal names the field it is about (`field`), so a form shows it beside that field.


def _choice(enum: type, value: object, name: str, field: str = ""):  # type: ignore[no-untyped-def]
    try:
        return enum(value)
    except ValueError:
        choices = ", ".join(str(m) for m in enum)
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT,
            f"{name} must be one of {choices}, got {value!r}",
            field=field or name,
        ) from None


def _day(text: str, name: str) -> date:
    try:
        day = date.fromisoformat(text)
        if not MONTH_YEAR_MIN <= day.year <= MONTH_YEAR_MAX or len(text) != 10:
            raise ValueError
    except (ValueError, TypeError):
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, f"{name} must be YYYY-MM-DD", field=name
        ) from None
    return day


def _date_of(text: str, granularity: Granularity, name: str) -> date:
    if granularity is Granularity.DAY:
        return _day(text, name)
    try:
        year, month = parse_month(text)
    except CloudbillError as error:
        raise CloudbillError(error.code, f"{name}: {error.message}", field=name) from None
    return date(year, month, 1)


def filter_of(dimension: str, values: Iterable[str], exclude: bool = False) -> Filter:
    chosen = tuple(dict.fromkeys(str(v) for v in values))
    if not chosen or len(chosen) > COSTS_FILTER_VALUES_MAX:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT,
            f"a filter names 1-{COSTS_FILTER_VALUES_MAX} values",
            field="filter",
        )
    if any(len(v) > NAME_MAX_CHARS for v in chosen):
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, "a filter value is too long", field="filter"
        )
    return Filter(_choice(Dimension, dimension, "filter dimension", "filter"), chosen, exclude)


def query_of(
    *,
    first: str,
    last: str,
    granularity: str = "month",
    cost_type: str = "original",
    amount_type: str = "amount",
    group_by: Sequence[str] = (),
    filters: Sequence[Filter] = (),
) -> CostQuery:
    """A query from its text: `first`/`last` are YYYY-MM-DD by day, YYYY-MM by month."""
    unit = _choice(Granularity, granularity, "granularity")
    query = CostQuery(
        first=_date_of(first, unit, "first"),
        last=_date_of(last, unit, "last"),
        granularity=unit,
        cost_type=_choice(CostType, cost_type, "cost_type"),
        amount_type=_choice(AmountType, amount_type, "amount_type"),
        group_by=tuple(_choice(Dimension, d, "group_by") for d in group_by),
        filters=tuple(filters),
    )
    rules.check(query)
    return query


def filters_of_text(include: Sequence[str] = (), exclude: Sequence[str] = ()) -> list[Filter]:
    """`dimension=value[,value…]` texts (API query parameters, CLI options) as filters."""
    result = []
    for texts, excluded in ((include, False), (exclude, True)):
        for text in texts:
            dimension, sep, values = str(text).partition("=")
            if not sep or not values:
                raise CloudbillError(
                    ErrorCode.INVALID_ARGUMENT,
                    f"a filter is dimension=value[,value…], got {text!r}",
                    field="filter",
                )
            result.append(filter_of(dimension.strip(), values.split(","), excluded))
    return result
