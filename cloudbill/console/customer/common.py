"""What every customer page shows besides its own figures: the account's name, currency and
time zone (for money and dates)."""

from __future__ import annotations

from typing import Any

from ...bootstrap import Container
from ...customers import service as customers
from ..web import SignedIn


def account_of(c: Container, who: SignedIn) -> dict[str, Any]:
    customer = c.read(lambda conn, _now: customers.get(conn, who.customer_id))
    return {
        "account_name": customer.name,
        "currency": customer.currency,
        "tz": customer.timezone,
        "payment_mode": str(customer.payment_mode),
    }
