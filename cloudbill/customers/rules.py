"""Pure customer rules: input validation, the overview figures, who may do what."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..kernel.currency import normalize_currency
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.limits import EMAIL_MAX_CHARS, MOBILE_MAX_CHARS, NAME_MAX_CHARS
from ..kernel.money import Money
from ..kernel.periods import is_known_zone
from ..ledger.model import AccountKind
from .model import Customer, CustomerStatus, Overview, PaymentMode

MAX_LEVEL = 10
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MOBILE_RE = re.compile(r"^\+?[0-9][0-9 \-]{4,30}$")


def _bad(message: str, **details: object) -> CloudbillError:
    return CloudbillError(ErrorCode.INVALID_ARGUMENT, message, **details)


def check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise _bad("name is required")
    name = name.strip()
    if len(name) > NAME_MAX_CHARS or any(ord(ch) < 32 for ch in name):
        raise _bad(f"name must be 1-{NAME_MAX_CHARS} printable characters")
    return name


def check_email(email: object) -> str | None:
    if email in (None, ""):
        return None
    if not isinstance(email, str) or len(email) > EMAIL_MAX_CHARS or not _EMAIL_RE.match(email):
        raise _bad(f"not an email address: {email!r}")
    return email.strip()


def check_mobile(mobile: object) -> str | None:
    if mobile in (None, ""):
        return None
    if (
        not isinstance(mobile, str)
        or len(mobile) > MOBILE_MAX_CHARS
        or not _MOBILE_RE.match(mobile)
    ):
        raise _bad(f"not a mobile number: {mobile!r} (digits, optional leading +)")
    return mobile.strip()


def check_payment_mode(mode: object) -> PaymentMode:
    try:
        return PaymentMode(str(mode))
    except ValueError:
        raise _bad("payment mode must be prepaid or postpaid") from None


def check_level(level: object) -> int:
    if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= MAX_LEVEL:
        raise _bad(f"customer level must be a whole number 1-{MAX_LEVEL}")
    return level


def check_timezone(tz: object) -> str:
    if not isinstance(tz, str) or not is_known_zone(tz):
        raise _bad(f"unknown time zone {tz!r}: use an IANA name such as Asia/Shanghai or UTC")
    return tz


def check_credit_limit(value: object, currency: str, mode: PaymentMode) -> int:
    limit = Money.parse(value if value is not None else "0", currency)
    if limit.units < 0:
        raise CloudbillError(ErrorCode.INVALID_AMOUNT, "credit limit cannot be negative")
    if mode is PaymentMode.PREPAID and limit.units:
        raise _bad("a prepaid customer has no credit limit; make it postpaid first")
    return limit.units


def check_currency(currency: object) -> str:
    return normalize_currency(currency)


def positive_amount(value: object, currency: str, what: str) -> Money:
    amount = Money.parse(value, currency)
    if not amount.is_positive():
        raise CloudbillError(ErrorCode.INVALID_AMOUNT, f"{what} must be greater than zero")
    return amount


def overview(
    customer: Customer,
    balances: dict[str, int],
    *,
    billed_outstanding_units: int = 0,
    overdue_units: int = 0,
) -> Overview:
    cash = balances.get(AccountKind.CASH, 0)
    debt = balances.get(AccountKind.DEBT, 0)
    unpaid = balances.get(AccountKind.UNPAID, 0)
    coupons = balances.get(AccountKind.COUPON, 0)
    limit = customer.credit_limit_units if customer.payment_mode is PaymentMode.POSTPAID else 0
    available_credit = max(0, limit - unpaid - debt)
    return Overview(
        customer_id=customer.id,
        currency=customer.currency,
        payment_mode=customer.payment_mode,
        status=customer.status,
        cash_balance_units=cash,
        debt_units=debt,
        unpaid_units=unpaid,
        credit_limit_units=limit,
        available_credit_units=available_credit,
        coupon_units=coupons,
        expenditure_quota_units=cash + available_credit + coupons,
        in_arrears=debt > 0 or overdue_units > 0,
        arrears_since=customer.arrears_since,
        billed_outstanding_units=billed_outstanding_units,
        overdue_units=overdue_units,
    )


def check_not_frozen(customer: Customer) -> None:
    if customer.status is CustomerStatus.FROZEN:
        raise CloudbillError(
            ErrorCode.CUSTOMER_FROZEN,
            f"customer {customer.id} is frozen by the operator: no operations are allowed",
            customer_id=customer.id,
        )


def check_fee_incurring_allowed(customer: Customer, figures: Overview) -> None:
    """Buying, upgrading, renewing, new pay-per-use resources: refused if frozen or in arrears."""
    check_not_frozen(customer)
    if figures.in_arrears:
        owed = Money(figures.debt_units + figures.overdue_units, customer.currency)
        what = "debt" if figures.overdue_units == 0 else "overdue post-paid bills"
        raise CloudbillError(
            ErrorCode.CUSTOMER_IN_ARREARS,
            f"customer {customer.id} is in arrears ({owed} owed): top up to clear the {what} "
            "before any fee-incurring operation",
            customer_id=customer.id,
            debt=Money(figures.debt_units, customer.currency).to_text(),
            overdue=Money(figures.overdue_units, customer.currency).to_text(),
        )


@dataclass(frozen=True, slots=True)
class TopUpSplit:
    """Where a top-up goes: debt first (arrears written off), then unpaid post-paid fees, cash."""

    debt_written_off_units: int
    unpaid_repaid_units: int
    cash_credited_units: int


def split_topup(amount_units: int, debt_units: int, unpaid_units: int) -> TopUpSplit:
    to_debt = min(amount_units, debt_units)
    to_unpaid = min(amount_units - to_debt, unpaid_units)
    return TopUpSplit(to_debt, to_unpaid, amount_units - to_debt - to_unpaid)


def check_withdrawal(customer: Customer, figures: Overview, amount: Money) -> None:
    check_not_frozen(customer)
    if figures.in_arrears:
        raise CloudbillError(
            ErrorCode.CUSTOMER_IN_ARREARS,
            "a customer in arrears cannot withdraw money: the debt must be paid first",
            customer_id=customer.id,
        )
    if amount.units > figures.withdrawable_units:
        raise CloudbillError(
            ErrorCode.INSUFFICIENT_BALANCE,
            f"withdrawable balance is {Money(figures.withdrawable_units, customer.currency)}, "
            f"asked for {amount}",
            customer_id=customer.id,
        )


@dataclass(frozen=True, slots=True)
class ChargeSplit:
    """How a charge is paid: cash, then available credit (post-paid), then debt (arrears)."""

    from_cash_units: int
    to_unpaid_units: int
    to_debt_units: int


def split_charge(amount_units: int, figures: Overview) -> ChargeSplit:
    from_cash = min(amount_units, figures.cash_balance_units)
    to_unpaid = min(amount_units - from_cash, figures.available_credit_units)
    return ChargeSplit(from_cash, to_unpaid, amount_units - from_cash - to_unpaid)
