"""Pure deduction: how one customer's fees of one settlement are paid.

The guide's order for a pay-per-use fee, after resource packages (settle/packages.py):
applicable cash coupons (soonest-expiring first) -> cash balance -> available credit
(post-paid) -> debt (arrears). Fees are paid one after another in a fixed order, so every fee
record knows exactly how it was paid and the parts add up to the customer's one transfer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class CouponState:
    id: str
    customer_id: str
    balance_units: int
    valid_from: datetime
    valid_to: datetime
    services: frozenset[str] | None  # None: every service
    billing_modes: frozenset[str] | None  # None: both
    min_spend_units: int
    initial_units: int = 0  # the balance before this settlement

    def covers(self, service: str, billing_mode: str, at: datetime) -> bool:
        return (
            self.valid_from <= at < self.valid_to
            and (self.services is None or service in self.services)
            and (self.billing_modes is None or billing_mode in self.billing_modes)
        )


@dataclass
class Wallet:
    """A customer's money at the start of the settlement (balances are locked meanwhile)."""

    cash_units: int
    unpaid_units: int
    debt_units: int
    credit_limit_units: int  # 0 for prepaid
    coupons: list[CouponState] = field(default_factory=list)

    @property
    def available_credit_units(self) -> int:
        return max(0, self.credit_limit_units - self.unpaid_units - self.debt_units)


@dataclass(frozen=True, slots=True)
class Charge:
    amount_units: int
    service: str
    billing_mode: str


@dataclass
class Payment:
    coupon_units: int = 0
    cash_units: int = 0
    credit_units: int = 0
    debt_units: int = 0
    coupon_uses: list[tuple[str, int]] = field(default_factory=list)


def deduct(wallet: Wallet, charges: list[Charge], *, now: datetime) -> list[Payment]:
    """Pay `charges` in order from `wallet` (mutated to the state after); one Payment each.

    A coupon with a minimum spend is usable when this settlement's fees in its scope reach it.
    """
    usable = _usable_coupons(wallet.coupons, charges, now)
    payments = []
    for charge in charges:
        payment = Payment()
        due = charge.amount_units
        for coupon in usable:
            if due == 0:
                break
            if coupon.balance_units and coupon.covers(charge.service, charge.billing_mode, now):
                used = min(due, coupon.balance_units)
                coupon.balance_units -= used
                payment.coupon_units += used
                payment.coupon_uses.append((coupon.id, used))
                due -= used
        payment.cash_units = min(due, wallet.cash_units)
        wallet.cash_units -= payment.cash_units
        due -= payment.cash_units
        payment.credit_units = min(due, wallet.available_credit_units)
        wallet.unpaid_units += payment.credit_units
        due -= payment.credit_units
        payment.debt_units = due
        wallet.debt_units += due
        payments.append(payment)
    return payments


def _usable_coupons(
    coupons: list[CouponState], charges: list[Charge], now: datetime
) -> list[CouponState]:
    usable = []
    for coupon in sorted(coupons, key=lambda c: (c.valid_to, c.id)):
        in_scope = sum(
            c.amount_units for c in charges if coupon.covers(c.service, c.billing_mode, now)
        )
        if coupon.balance_units > 0 and in_scope >= max(coupon.min_spend_units, 1):
            usable.append(coupon)
    return usable
