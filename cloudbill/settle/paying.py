"""Pricing's last step: each payer's fees paid in the deduction order from the rated columns."""

from __future__ import annotations

import numpy as np

from ..kernel.limits import BOOK_UNITS_MAX, INT64_MAX, INT64_MIN
from .deduction import Charge, Wallet, deduct
from .priced import PAID_PARTS, PAY_PER_USE


def pay_order(key: tuple[str, str], first_hour) -> tuple:  # type: ignore[no-untyped-def, type-arg]
    """The order a payer's entries are paid in from its one wallet: the payer's own lines
    first, then its members' by member id, each consumer's hours in order."""
    consumer, payer = key
    return payer, consumer != payer, consumer, first_hour


def by_payer(entries, order) -> dict[str, list]:  # type: ignore[no-untyped-def, type-arg]
    """{payer: its entry keys in pay order}, payers in id order."""
    found: dict[str, list] = {}  # type: ignore[type-arg]
    for key in sorted(entries, key=order):
        found.setdefault(key[1], []).append(key)
    return found


def pay_by_payer(entries, found, rated, *, now, skip, order):  # type: ignore[no-untyped-def]
    """Step three: each payer's fees of the hour paid in the deduction order, from the rated
    columns, as one charge list (a coupon's minimum spend counts the whole hour the payer
    pays, its members' fees with its own). A payer with no coupons whose cash covers the hour
    pays every fee from cash, in bulk; the others (coupons, credit, running out of money) go
    through deduction.deduct. Returns the entries (consumer, payer) of the payers whose
    amounts the books could not hold."""
    amount = rated.amount_units
    paid = {part: np.zeros_like(amount) for part in PAID_PARTS}
    unusual = set()
    for keys in by_payer(entries, order).values():
        if any(key in skip for key in keys):
            continue  # skip holds whole payers (pricing._together)
        group = [entries[key] for key in keys]
        wallet = group[0].wallet
        fees = [amount[e.start : e.stop] for e in group]
        totals = [exact_sum(f) for f in fees]
        total = sum(totals)
        if not wallet.coupons and all(t >= 0 for t in totals) and total <= wallet.cash_units:
            for e, f, t in zip(group, fees, totals, strict=True):
                paid["cash_units"][e.start : e.stop] = f
                e.paid = {"coupon_units": 0, "cash_units": t, "credit_units": 0,
                          "debt_units": 0}  # fmt: skip
            wallet.cash_units -= total
        else:
            charges = [
                Charge(fee, f.service, PAY_PER_USE)
                for e, part in zip(group, fees, strict=True)
                for fee, f in zip(part.tolist(), found.line_facts[e.start : e.stop], strict=True)
            ]
            payments = iter(deduct(wallet, charges, now=now))
            for e in group:
                mine = [next(payments) for _ in range(e.stop - e.start)]
                for part in PAID_PARTS:
                    paid[part][e.start : e.stop] = [getattr(x, part) for x in mine]
                e.paid = {part: sum(getattr(x, part) for x in mine) for part in PAID_PARTS}
                for x in mine:
                    for coupon_id, used in x.coupon_uses:
                        e.coupon_uses[coupon_id] = e.coupon_uses.get(coupon_id, 0) + used
        if not _storable(total, wallet):  # the payer's one transfer must fit the books
            unusual.update(keys)
    return unusual, paid


def exact_sum(values: np.ndarray) -> int:
    """The sum as a Python int: numpy's int64 sum would wrap silently past int64, and a
    customer's hour past int64 must be held (rate() path), not posted."""
    if not len(values):
        return 0
    if values.dtype != object:
        largest = max(abs(int(values.max())), abs(int(values.min())))
        if largest * len(values) < 2**63:
            return int(values.sum())
    return sum(int(v) for v in values.tolist())


def _storable(total: int, wallet: Wallet) -> bool:
    """What _check_storable asks of the hour's sums (each line's were asked before)."""
    books = (wallet.cash_units, wallet.unpaid_units, wallet.debt_units)
    return INT64_MIN <= total <= INT64_MAX and all(-BOOK_UNITS_MAX <= v <= BOOK_UNITS_MAX
                                                   for v in books)  # fmt: skip
