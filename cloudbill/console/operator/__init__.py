"""The operator console's pages."""

from . import catalog, clock_audit, customers, deliveries, invoices, running

ROUTERS = [
    customers.router,
    running.router,
    deliveries.router,
    invoices.router,
    catalog.router,
    clock_audit.router,
]
