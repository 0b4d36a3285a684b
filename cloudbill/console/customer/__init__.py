"""The customer's Billing Center pages."""

from . import (
    account,
    bills,
    costs,
    enterprise,
    holdings,
    invoices,
    orders,
    overview,
    renewals,
    storage,
)

ROUTERS = [
    overview.router,
    storage.router,
    orders.router,
    renewals.router,
    costs.router,  # before bills: /bills/overview/… is not a month's /bills/{month}/…
    bills.router,
    invoices.router,
    holdings.router,
    account.router,
    enterprise.router,
]
