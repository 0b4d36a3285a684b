"""Pricing's last step: each payer's fees paid in the deduction order from the rated columns."""

from __future__ import annotations

import numpy as np

from ..kernel.limits import BOOK_UNITS_MAX, INT64_MAX, INT64_MIN
from .deduction import Charge, Wallet, deduct
from .priced import PAID_PARTS, PAY_PER_USE


def pay_by_payer(entries, found, rated, *, now, skip):  # type: ignore[no-untyped-def]
    """Step three: each payer's fees paid in the deduction order, from the rated columns.
    A payer with no coupons whose cash covers its whole hour pays every fee from cash, in
    bulk; the others (coupons, credit, running out of money) go through deduction.deduct
    fee by fee. Returns the entries (consumer, payer) whose amounts the books could not hold."""
    amount = rated.amount_units
    paid = {part: np.zeros_like(amount) for part in PAID_PARTS}
    unusual = set()
    for key, entry in entries.items():  # in key order: a payer's entries share its wallet
        if key in skip:
            continue
        a, b = entry.start, entry.stop
        fees = amount[a:b]
        total = exact_sum(fees)
        wallet = entry.wallet
        if not entry.wallet.coupons and 0 <= total <= wallet.cash_units:
            paid["cash_units"][a:b] = fees
            wallet.cash_units -= total
            entry.paid = {"coupon_units": 0, "cash_units": total, "credit_units": 0,
                          "debt_units": 0}  # fmt: skip
        else:
            services = [f.service for f in found.line_facts[a:b]]
            charges = [Charge(fee, service, PAY_PER_USE)
                       for fee, service in zip(fees.tolist(), services, strict=True)]  # fmt: skip
            payments = deduct(wallet, charges, now=now)
            for part in PAID_PARTS:
                paid[part][a:b] = [getattr(x, part) for x in payments]
            entry.paid = {part: sum(getattr(x, part) for x in payments) for part in PAID_PARTS}
            for x in payments:
                for coupon_id, used in x.coupon_uses:
                    entry.coupon_uses[coupon_id] = entry.coupon_uses.get(coupon_id, 0) + used
        if not _storable(total, wallet):
            unusual.add(key)
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
