"""The customer's Billing Center pages."""

from . import account, bills, holdings, orders, overview, renewals, storage

ROUTERS = [
    overview.router,
    storage.router,
    orders.router,
    renewals.router,
    bills.router,
    holdings.router,
    account.router,
]
