"""The customer's Billing Center pages."""

from . import account, bills, holdings, invoices, orders, overview, renewals, storage

ROUTERS = [
    overview.router,
    storage.router,
    orders.router,
    renewals.router,
    bills.router,
    invoices.router,
    holdings.router,
    account.router,
]
