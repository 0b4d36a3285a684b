"""Property test: any sequence of money movements (with replays of idempotency keys) keeps every
invariant of the guide, and the books agree with an independent, simple model of the customer.

Invariants checked after every step: the customer's cash, debt and unpaid figures equal the
model's; cash and debt are never negative; a replay changes nothing and returns the first answer;
a reused key with another payload is refused and changes nothing; `verify` finds the journal
balanced and every cached balance equal to the fold of its entries.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudbill.customers import service as customers
from cloudbill.customers.model import CustomerInput
from cloudbill.kernel.errors import CloudbillError, ErrorCode
from cloudbill.kernel.money import SCALE

from ..helpers import assert_books_balance, snapshot

CENT = SCALE // 100
KINDS = ("topup", "withdraw", "charge", "credit")


@dataclass
class Model:
    """The reference: three numbers and the rules of the guide, written out by hand."""

    limit: int
    cash: int = 0
    debt: int = 0
    unpaid: int = 0

    def pay_in(self, amount: int) -> None:  # top-up or credit: debt, then unpaid, then cash
        to_debt = min(amount, self.debt)
        to_unpaid = min(amount - to_debt, self.unpaid)
        self.debt -= to_debt
        self.unpaid -= to_unpaid
        self.cash += amount - to_debt - to_unpaid

    def charge(self, amount: int) -> None:  # cash, then available credit, then debt
        from_cash = min(amount, self.cash)
        credit = max(0, self.limit - self.unpaid - self.debt)
        to_unpaid = min(amount - from_cash, credit)
        self.cash -= from_cash
        self.unpaid += to_unpaid
        self.debt += amount - from_cash - to_unpaid

    def withdraw(self, amount: int) -> ErrorCode | None:
        if self.debt > 0:
            return ErrorCode.CUSTOMER_IN_ARREARS
        if amount > self.cash:
            return ErrorCode.INSUFFICIENT_BALANCE
        self.cash -= amount
        return None


operation = st.tuples(
    st.sampled_from((*KINDS, "replay", "conflict")),
    st.integers(min_value=1, max_value=50_000),  # cents
    st.integers(min_value=0, max_value=1000),  # which earlier operation a replay reuses
)


def _apply(container, customer_id: str, kind: str, cents: int, reference: str):  # type: ignore[no-untyped-def]
    amount = f"{cents // 100}.{cents % 100:02d}"

    def work(conn, now):  # type: ignore[no-untyped-def]
        if kind == "topup":
            return customers.topup(conn, customer_id, amount, reference=reference, now=now)
        if kind == "withdraw":
            return customers.withdraw(conn, customer_id, amount, reference=reference, now=now)
        return customers.adjust(
            conn,
            customer_id,
            amount,
            direction=kind,
            reason="property test",
            reference=reference,
            now=now,
        )

    return container.write(work)


def _figures(container, customer_id: str):  # type: ignore[no-untyped-def]
    return container.read(
        lambda conn, _now: customers.overview(conn, customers.get(conn, customer_id))
    )


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    postpaid=st.booleans(),
    limit_cents=st.integers(min_value=0, max_value=100_000),
    steps=st.lists(operation, min_size=1, max_size=25),
)
def test_any_sequence_keeps_the_books(container, postpaid, limit_cents, steps) -> None:  # type: ignore[no-untyped-def]
    run = uuid.uuid4().hex[:10]
    limit = limit_cents * CENT if postpaid else 0
    customer = container.write(
        lambda conn, now: customers.create(
            conn,
            CustomerInput(
                name=f"prop-{run}", currency="USD",
                payment_mode="postpaid" if postpaid else "prepaid",
                credit_limit=f"{limit_cents // 100}.{limit_cents % 100:02d}" if postpaid else "0",
            ),
            now=now,
        )
    )  # fmt: skip
    model = Model(limit=limit)
    done: list[tuple[str, int, str, int]] = []  # (kind, cents, reference, transaction id)

    for index, (kind, cents, pick) in enumerate(steps):
        if kind in ("replay", "conflict") and done:
            first_kind, first_cents, reference, first_id = done[pick % len(done)]
            before = snapshot(container)
            if kind == "replay":
                again = _apply(container, customer.id, first_kind, first_cents, reference)
                assert again.replayed and again.id == first_id
            else:
                other = first_cents + 1
                try:
                    _apply(container, customer.id, first_kind, other, reference)
                    raise AssertionError("a reused key with another payload was accepted")
                except CloudbillError as exc:
                    assert exc.code == ErrorCode.IDEMPOTENCY_CONFLICT
            assert snapshot(container) == before
            continue
        if kind in ("replay", "conflict"):
            kind = "topup"
        reference = f"{run}-{index}"
        expected_error = None
        if kind == "withdraw":
            expected_error = model.withdraw(cents * CENT)
        elif kind == "charge":
            model.charge(cents * CENT)
        else:
            model.pay_in(cents * CENT)
        try:
            posted = _apply(container, customer.id, kind, cents, reference)
            assert expected_error is None, f"{kind} should have failed with {expected_error}"
            done.append((kind, cents, reference, posted.id))
        except CloudbillError as exc:
            assert exc.code == expected_error, exc

        figures = _figures(container, customer.id)
        assert (figures.cash_balance_units, figures.debt_units, figures.unpaid_units) == (
            model.cash, model.debt, model.unpaid,
        )  # fmt: skip
        assert figures.in_arrears == (model.debt > 0)
        assert (figures.arrears_since is not None) == (model.debt > 0)
    assert_books_balance(container)
