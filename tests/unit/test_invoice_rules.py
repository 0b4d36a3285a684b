"""The invoicing rules on their own: tax rates, what is invoiceable, the outstanding invoice
amount (refunds of invoiced money), its offset by later consumption, and the state machine."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudbill.invoices.model import Piece, SourceKind, Status
from cloudbill.invoices.rules import (
    invoice_figures,
    next_status,
    parse_tax_rates,
    round_lines,
    split_tax,
    tax_rate,
)
from cloudbill.kernel.errors import CloudbillError, ErrorCode

U = 10**8
ZERO = Decimal("0")
ORDER, CYCLE = SourceKind.ORDER, SourceKind.CYCLE


def at(day: int) -> datetime:
    return datetime(2026, 3, day, tzinfo=UTC)


def paid(source: str, units: int, day: int, key: str = "vm-1", kind=ORDER, rate=ZERO) -> Piece:  # type: ignore[no-untyped-def]
    return Piece(kind, source, rate, key, at(day), units)


def test_tax_rates_most_specific_first() -> None:
    rates = parse_tax_rates("CNY=0.06, ecs:CNY=0.13, CNY/cn-north-4=0.09, ecs:CNY/cn-north-4=0.1")
    assert tax_rate(rates, "ecs", "CNY", "cn-north-4") == Decimal("0.1")
    assert tax_rate(rates, "ecs", "CNY", "cn-east-3") == Decimal("0.13")
    assert tax_rate(rates, "obs", "CNY", "cn-north-4") == Decimal("0.09")
    assert tax_rate(rates, "obs", "CNY", "cn-east-3") == Decimal("0.06")
    assert tax_rate(rates, "obs", "USD", "x") == ZERO
    for bad in ("CNY", "CNY=1", "CNY=-0.1", "cny=0.1", "CNY=0.12345", "CNY=abc"):
        with pytest.raises(ValueError):
            parse_tax_rates(bad)


def test_tax_is_taken_out_of_the_amount_once_and_adds_up() -> None:
    total, net, tax = split_tax(106 * U, Decimal("0.06"), "CNY")
    assert (total, net, tax) == (106 * U, 100 * U, 6 * U)
    total, net, tax = split_tax(1_234_567_891, Decimal("0.13"), "USD")  # 12.34567891
    assert total == 1235 * 10**6 and tax == 142 * 10**6 and net + tax == total
    assert split_tax(1050 * U, Decimal("0.1"), "JPY") == (1050 * U, 955 * U, 95 * U)


def test_lines_add_up_to_the_rounded_total() -> None:
    lines = round_lines([333_333_333, 333_333_333, 333_333_334], 10 * U, "USD")
    assert sum(lines) == 10 * U and lines == [333 * 10**6, 333 * 10**6, 334 * 10**6]


def test_orders_and_cycles_are_invoiceable_once() -> None:
    pieces = [
        paid("o1", 660_000_000, 1),
        paid("o2", 1160 * 10**6, 2, key="vm-2"),
        paid("2026-03", 5 * U, 31, key="", kind=CYCLE),
    ]
    figs = invoice_figures("USD", pieces, {(ORDER, "o1", ZERO): 660_000_000}, offset=True)
    by = {s.source_id: s.invoiceable_units for s in figs.sources}
    assert by == {"o1": 0, "o2": 1160 * 10**6, "2026-03": 5 * U}
    assert figs.invoiceable_units == 1660 * 10**6 and figs.outstanding_units == 0


def test_refund_of_money_not_invoiced_only_lowers_the_invoiceable_amount() -> None:
    pieces = [paid("o1", 10 * U, 1), paid("u1", -4 * U, 5)]  # u1: the unsubscription order
    figs = invoice_figures("USD", pieces, {}, offset=True)
    assert figs.invoiceable_units == 6 * U and figs.outstanding_units == 0
    assert figs.sources[0].refunded_units == 4 * U


def test_refund_of_invoiced_money_is_outstanding_until_later_consumption_offsets_it() -> None:
    o1 = (ORDER, "o1", ZERO)
    pieces = [paid("o1", 10 * U, 1), paid("u1", -4 * U, 5)]
    figs = invoice_figures("USD", pieces, {o1: 10 * U}, offset=True)
    assert (figs.invoiceable_units, figs.outstanding_units) == (0, 4 * U)
    # a later month of 3 offsets 3 of it; then one of 7 offsets the rest and 6 is invoiceable
    pieces.append(paid("2026-04", 3 * U, 30, key="", kind=CYCLE))
    figs = invoice_figures("USD", pieces, {o1: 10 * U}, offset=True)
    assert (figs.invoiceable_units, figs.outstanding_units) == (0, 1 * U)
    pieces.append(paid("o3", 7 * U, 31, key="vm-3"))
    figs = invoice_figures("USD", pieces, {o1: 10 * U}, offset=True)
    assert (figs.invoiceable_units, figs.outstanding_units) == (6 * U, 0)
    assert {s.source_id: s.offset_units for s in figs.sources}["o3"] == 1 * U
    # invoicing what is invoiceable leaves nothing, and the offset holds
    invoiced = {o1: 10 * U, (ORDER, "o3", ZERO): 6 * U}
    figs = invoice_figures("USD", pieces, invoiced, offset=True)
    assert (figs.invoiceable_units, figs.outstanding_units) == (0, 0)
    # returning the first invoice: nothing outstanding, its rest is invoiceable again
    figs = invoice_figures("USD", pieces, {(ORDER, "o3", ZERO): 6 * U}, offset=True)
    assert (figs.invoiceable_units, figs.outstanding_units) == (10 * U, 0)


def test_automatic_mode_does_not_offset_it_makes_a_credit_memo() -> None:
    pieces = [paid("o1", 10 * U, 1), paid("u1", -4 * U, 5), paid("o2", 3 * U, 6, key="vm-2")]
    figs = invoice_figures("USD", pieces, {(ORDER, "o1", ZERO): 10 * U}, offset=False)
    assert figs.invoiceable_units == 3 * U and figs.outstanding_units == 4 * U
    assert [(o.source_id, o.units) for o in figs.outstanding] == [("o1", 4 * U)]
    after = {(ORDER, "o1", ZERO): 6 * U, (ORDER, "o2", ZERO): 3 * U}  # memo -4, invoice 3
    figs = invoice_figures("USD", pieces, after, offset=False)
    assert (figs.invoiceable_units, figs.outstanding_units) == (0, 0)


def test_a_refund_takes_money_not_invoiced_first_and_only_of_its_own_resource() -> None:
    pieces = [
        paid("o1", 10 * U, 1),
        paid("o2", 10 * U, 2),
        paid("o9", 50 * U, 3, key="vm-9"),
        paid("u1", -15 * U, 5),
    ]
    figs = invoice_figures("USD", pieces, {(ORDER, "o1", ZERO): 10 * U}, offset=False)
    by = {s.source_id: s.invoiceable_units for s in figs.sources}
    assert by == {"o1": 0, "o2": 0, "o9": 50 * U}
    assert [(o.source_id, o.units) for o in figs.outstanding] == [("o1", 5 * U)]


amounts = st.integers(min_value=1, max_value=10**12)


@given(
    st.lists(amounts, min_size=1, max_size=6),
    st.lists(amounts, max_size=4),
    st.lists(st.booleans(), min_size=6, max_size=6),
    st.booleans(),
)
def test_invoiceable_minus_outstanding_is_net_paid_minus_invoiced(
    pays: list[int], refunds: list[int], invoiced_flags: list[bool], offset: bool
) -> None:
    pieces = [paid(f"o{i}", u, 1 + i) for i, u in enumerate(pays)]
    total = sum(pays)
    refunds = [min(r, total // max(len(refunds), 1)) for r in refunds]
    pieces += [paid(f"u{i}", -r, 20 + i) for i, r in enumerate(refunds) if r]
    invoiced = {(ORDER, f"o{i}", ZERO): u for i, u in enumerate(pays) if invoiced_flags[i]}
    figs = invoice_figures("USD", pieces, invoiced, offset=offset)
    assert figs.invoiceable_units >= 0 and figs.outstanding_units >= 0
    assert all(s.invoiceable_units >= 0 for s in figs.sources)
    if offset:
        assert figs.invoiceable_units - figs.outstanding_units == (
            figs.net_paid_units - figs.invoiced_units
        )
        assert figs.invoiceable_units == 0 or figs.outstanding_units == 0
    else:
        over = sum(o.units for o in figs.outstanding)
        assert figs.invoiceable_units - over == figs.net_paid_units - figs.invoiced_units


def test_the_state_machine() -> None:
    assert next_status("start", Status.PENDING_REVIEW) is Status.ISSUING
    assert next_status("issue", Status.ISSUING) is Status.ISSUED
    assert next_status("request_return", Status.ISSUED) is Status.RETURN_PENDING
    assert next_status("confirm_return", Status.RETURN_PENDING) is Status.RETURNED
    for action, status in (
        ("cancel", Status.ISSUING),
        ("issue", Status.ISSUED),
        ("reject", Status.ISSUED),
        ("confirm_return", Status.ISSUED),
    ):
        with pytest.raises(CloudbillError) as err:
            next_status(action, status)
        assert err.value.code is ErrorCode.INVALID_STATE
