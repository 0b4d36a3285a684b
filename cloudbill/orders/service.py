"""Order use cases: create (new purchase, renewal, spec change, conversion), pay, cancel, expire
at the payment deadline, unsubscribe; list and show. One module per use case; this one is the
stage's public surface, so callers name `orders.service` whichever module does the work.

An order's figures are fixed when it is made; paying it is one ledger transaction and applies
it (creates, extends, converts or changes the resource) in the same database transaction.
"""

from __future__ import annotations

from .change import create_change
from .checkout import cancel, expire_due, pay, pay_together
from .drafting import MAX_LINES, NewItem, Terms, get, list_orders
from .purchase import create_conversion, create_new
from .renewal import create_renewal
from .unsubscription import unsubscribe, unsubscribe_renewals

__all__ = [
    "MAX_LINES",
    "NewItem",
    "Terms",
    "cancel",
    "create_change",
    "create_conversion",
    "create_new",
    "create_renewal",
    "expire_due",
    "get",
    "list_orders",
    "pay",
    "pay_together",
    "unsubscribe",
    "unsubscribe_renewals",
]
