"""ISO 4217 currencies cloudbill accepts, with their minor-unit digits."""

from __future__ import annotations

from .errors import CloudbillError, ErrorCode

# code -> digits after the decimal point (ISO 4217 minor unit)
CURRENCY_DIGITS: dict[str, int] = {
    "AED": 2, "ARS": 2, "AUD": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2, "CLP": 0,
    "CNY": 2, "COP": 2, "CZK": 2, "DKK": 2, "EGP": 2, "EUR": 2, "GBP": 2, "HKD": 2,
    "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "ISK": 0, "JOD": 3, "JPY": 0, "KRW": 0,
    "KWD": 3, "MAD": 2, "MXN": 2, "MYR": 2, "NGN": 2, "NOK": 2, "NZD": 2, "OMR": 3,
    "PEN": 2, "PHP": 2, "PKR": 2, "PLN": 2, "QAR": 2, "RON": 2, "RUB": 2, "SAR": 2,
    "SEK": 2, "SGD": 2, "THB": 2, "TND": 3, "TRY": 2, "TWD": 2, "UAH": 2, "USD": 2,
    "VND": 0, "ZAR": 2,
}  # fmt: skip


def currency_digits(code: str) -> int:
    try:
        return CURRENCY_DIGITS[code]
    except (KeyError, TypeError):
        raise CloudbillError(
            ErrorCode.UNKNOWN_CURRENCY,
            f"unknown currency {code!r}: use an ISO 4217 code such as USD, EUR, CNY, JPY",
            currency=str(code),
        ) from None


def normalize_currency(code: object) -> str:
    """Validate a currency code from outside and return it upper-cased."""
    if not isinstance(code, str):
        raise CloudbillError(ErrorCode.UNKNOWN_CURRENCY, "currency must be a 3-letter ISO code")
    upper = code.strip().upper()
    currency_digits(upper)
    return upper
