"""Pure invoicing rules: tax rates, what is invoiceable and outstanding, the state machine."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from ..kernel.currency import currency_digits
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.money import SCALE
from .model import (
    TRANSITIONS,
    Figures,
    Outstanding,
    Piece,
    SourceFigures,
    SourceKey,
    Status,
    TitleType,
)

_RATE_KEY = re.compile(r"^(?:([a-z0-9][a-z0-9._-]*):)?([A-Z]{3})(?:/([a-z0-9][a-z0-9._-]*))?$")
RATE_MAX_PLACES = 4
TEXT_MAX_CHARS = {"title": 200, "tax_id": 64, "email": 254, "address": 512}


def parse_tax_rates(text: str) -> dict[tuple[str, str, str], Decimal]:
    """'CNY=0.06,ecs:CNY=0.13,USD/eu-west-1=0.2' -> {(service, currency, region): rate}."""
    rates: dict[tuple[str, str, str], Decimal] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, sep, value = part.partition("=")
        match = _RATE_KEY.match(name.strip())
        if not sep or match is None:
            raise ValueError(f"tax rate {part!r}: expected [service:]CURRENCY[/region]=rate")
        rates[(match[1] or "", match[2], match[3] or "")] = check_rate(value.strip())
    return rates


def check_rate(value: str) -> Decimal:
    try:
        rate = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"tax rate {value!r} is not a number") from None
    exponent = rate.as_tuple().exponent
    if not rate.is_finite() or not 0 <= rate < 1 or (-int(exponent) > RATE_MAX_PLACES):
        raise ValueError(f"tax rate {value!r}: between 0 and 1, at most 4 decimals")
    return rate.normalize() if rate else Decimal("0")


def tax_rate(
    rates: Mapping[tuple[str, str, str], Decimal], service: str, currency: str, region: str
) -> Decimal:
    """The most specific rate: service and region, service, region, currency; else 0."""
    for key in ((service, currency, region), (service, currency, ""), ("", currency, region)):
        if key in rates:
            return rates[key]
    return rates.get(("", currency, ""), Decimal("0"))


def rate_text(rate: Decimal) -> str:
    return format(rate.normalize(), "f") if rate else "0"


def split_tax(amount_units: int, rate: Decimal, currency: str) -> tuple[int, int, int]:
    """An amount including tax -> (total, net, tax), each rounded half up to the currency's
    digits (the one rounding of a document); net = total - tax, so the lines add up."""
    quantum = Decimal(1).scaleb(-currency_digits(currency))
    total = (Decimal(amount_units) / SCALE).quantize(quantum, ROUND_HALF_UP)
    tax = (total * rate / (1 + rate)).quantize(quantum, ROUND_HALF_UP)
    to_units = lambda d: int(d * SCALE)  # noqa: E731 - exact: d has at most 8 places
    return to_units(total), to_units(total - tax), to_units(tax)


def _take_refunds(
    pieces: list[Piece], uninvoiced: dict[SourceKey, int], refunded: dict[SourceKey, int]
) -> dict[SourceKey, int]:
    """Give back each refund from the pieces of the same key and rate paid before it, newest
    first: from money not yet invoiced first, then from invoiced money (which becomes
    outstanding on that source). Returns the invoiced money given back, per source."""
    paid_by: dict[tuple[str, Decimal], list[Piece]] = defaultdict(list)
    for piece in sorted((p for p in pieces if p.units > 0), key=lambda p: (p.at, p.source_id)):
        paid_by[(piece.key, piece.tax_rate)].append(piece)
    room = {id(p): p.units for ps in paid_by.values() for p in ps}
    outstanding: dict[SourceKey, int] = defaultdict(int)
    for refund in sorted((p for p in pieces if p.units < 0), key=lambda p: (p.at, p.source_id)):
        left = -refund.units
        earlier = [p for p in paid_by[(refund.key, refund.tax_rate)] if p.at <= refund.at]
        for invoiced_too in (False, True):
            for paid in reversed(earlier):
                if not left:
                    break
                limit = room[id(paid)]
                if not invoiced_too:
                    limit = min(limit, max(uninvoiced[paid.source], 0))
                take = min(left, limit)
                room[id(paid)] -= take
                left -= take
                refunded[paid.source] += take
                if invoiced_too:
                    outstanding[paid.source] += take
                else:
                    uninvoiced[paid.source] -= take
        if left:  # nothing paid to give it back from (data from before invoices): on itself
            outstanding[refund.source] += left
    return outstanding


def invoice_figures(
    currency: str, pieces: Iterable[Piece], invoiced: Mapping[SourceKey, int], *, offset: bool
) -> Figures:
    """What is invoiceable per source, and the outstanding invoice amount.

    `offset`: request mode: outstanding money is offset by the oldest money not yet invoiced
    (which is then not invoiceable); automatic mode makes a credit memo instead."""
    pieces = list(pieces)
    paid: dict[SourceKey, int] = defaultdict(int)
    refunded: dict[SourceKey, int] = defaultdict(int)
    first_at = {}
    for piece in pieces:
        if piece.units > 0:
            paid[piece.source] += piece.units
        first_at.setdefault(piece.source, piece.at)
        first_at[piece.source] = min(first_at[piece.source], piece.at)
    keys = sorted(set(paid) | set(invoiced), key=lambda k: (first_at.get(k), k[1], k[2]))
    uninvoiced = {k: paid.get(k, 0) - invoiced.get(k, 0) for k in keys}
    over = _take_refunds(pieces, uninvoiced, refunded)
    for key, units in uninvoiced.items():
        if units < 0:  # invoiced more than was paid: outstanding too
            over[key] += -units
            uninvoiced[key] = 0
    total_over = sum(over.values())
    to_offset = total_over if offset else 0
    sources = []
    for key in keys:
        taken = min(to_offset, uninvoiced[key])
        to_offset -= taken
        sources.append(
            SourceFigures(
                kind=key[0],
                source_id=key[1],
                tax_rate=key[2],
                at=first_at.get(key),  # type: ignore[arg-type]
                paid_units=paid.get(key, 0),
                refunded_units=refunded.get(key, 0),
                invoiced_units=invoiced.get(key, 0),
                offset_units=taken,
                invoiceable_units=uninvoiced[key] - taken,
            )
        )
    net = sum(p.units for p in pieces)
    return Figures(
        currency=currency,
        sources=tuple(s for s in sources if s.paid_units or s.invoiced_units),
        outstanding=tuple(
            Outstanding(k[0], k[1], k[2], v) for k, v in sorted(over.items(), key=str) if v
        ),
        net_paid_units=net,
        invoiced_units=sum(invoiced.values()),
        outstanding_units=(to_offset if offset else total_over),
        invoiceable_units=sum(s.invoiceable_units for s in sources),
    )


def next_status(action: str, status: Status) -> Status:
    allowed, to = TRANSITIONS[action]
    if status not in allowed:
        raise CloudbillError(
            ErrorCode.INVALID_STATE,
            f"{action.replace('_', ' ')}: not possible for an invoice that is {status}",
            status=str(status),
        )
    return to


def check_profile(title_type: object, title: object, tax_id: object, **texts: object) -> None:
    if title_type not in tuple(TitleType):
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, "title_type must be personal or enterprise"
        )
    for name, value in {"title": title, "tax_id": tax_id, **texts}.items():
        if value is not None and (not isinstance(value, str) or len(value) > TEXT_MAX_CHARS[name]):
            raise CloudbillError(
                ErrorCode.INVALID_ARGUMENT,
                f"{name} must be text of at most {TEXT_MAX_CHARS[name]} characters",
            )
    if not isinstance(title, str) or not title.strip():
        raise CloudbillError(ErrorCode.INVALID_ARGUMENT, "the invoice title is required")
    if title_type == TitleType.ENTERPRISE and not (isinstance(tax_id, str) and tax_id.strip()):
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, "an enterprise invoice title needs its tax id"
        )


def round_lines(amounts_units: list[int], total_units: int, currency: str) -> list[int]:
    """Each line at the currency's digits (half up), adjusted by largest remainder so that the
    lines add up to the document's rounded total exactly."""
    step = 10 ** (8 - currency_digits(currency))
    rounded = [
        (a + step // 2) // step * step if a >= 0 else -((-a + step // 2) // step * step)
        for a in amounts_units
    ]
    missing = (total_units - sum(rounded)) // step
    order = sorted(range(len(rounded)), key=lambda i: (-(amounts_units[i] - rounded[i]), i))
    if missing < 0:
        order.reverse()
    for k in range(abs(missing)):
        rounded[order[k % len(order)]] += step if missing > 0 else -step
    return rounded
